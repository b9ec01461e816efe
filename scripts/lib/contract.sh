# Sourced by scripts/test: the OpenAPI contract test. schemathesis (pinned in
# requirements.txt) runs every check against the local run with bearer tokens on,
# with a fixed seed and a bounded number of examples (about a minute on 2 cores).
# shellcheck shell=bash

contract_test() {
  local root=$1 target=$2
  local port log work token status=0
  port=$(free_port)
  log=$(mktemp -t dev-server.XXXXXX.log)
  work=$(mktemp -d -t schemathesis.XXXXXX)
  # A request rate schemathesis never reaches: its positive-data check expects valid
  # requests served (the rate itself is tested in local/tests/request_rate.rs).
  local_run_start "$target/debug/dev-server" "$port" "$log" \
    AUTH=jwt TENANT_API_RATE=100000 STACK_NAME="contract-$port" || return 1
  trap 'local_run_stop; moto_stop' EXIT
  token=$(AUTH=jwt "$target/debug/dev-server" token acme)
  # From an empty directory: schemathesis and Hypothesis keep caches where they run,
  # and a stale one can replay examples the current spec no longer allows.
  (
    cd "$work" &&
      schemathesis --config-file "$root/scripts/schemathesis.toml" run "$root/openapi.yaml" \
        --url "http://127.0.0.1:$port" \
        --header "Authorization: Bearer $token" --header "X-TWC-Tenant: acme" \
        --seed 1 --max-examples 60 --workers 1 --generation-database none --no-color
  ) || status=$?
  local_run_stop
  if [ "$status" -ne 0 ]; then
    echo "schemathesis failed; the local run's log is $log" >&2
  fi
  local_run_refusals "$log" || status=1
  rm -rf "$work"
  return "$status"
}
