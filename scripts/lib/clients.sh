# Sourced by scripts/test: openapi.yaml as a retailer's client generators read
# it. A TypeScript client (openapi-typescript's types for openapi-fetch,
# compiled by tsc --strict) and a Python one (openapi-python-client, pinned in
# requirements.txt) are generated; a generator's warning (a schema it dropped, a
# response it left out) fails the test. Each then runs its example program in
# docs/clients/ (the README's flow) against a local run.
# shellcheck shell=bash

CLIENT_TS_TOOLS="openapi-typescript@7.13.0 openapi-fetch@0.17.0 typescript@5.9.3 @types/node@20.19.25"

# Runs a generator ($1 names it; the command follows): its failure or any
# warning it prints fails.
generate_client() {
  local name=$1 out
  shift
  # Paths are left out of what is searched: a directory named "errors" is no warning.
  if ! out=$("$@" 2>&1) ||
    grep -v -e "^Generating " -e " → " <<<"$out" | grep -qiE "warn|unable|error|skipp|cannot|not supported"; then
    echo "$name did not generate the whole client from openapi.yaml:" >&2
    echo "$out" >&2
    return 1
  fi
}

clients_test() {
  local root=$1 target=$2
  local tools work port log queue status=0
  tools=$(npm_tools "$CLIENT_TS_TOOLS" openapi-typescript tsc) || return 1
  work=$(mktemp -d -t clients.XXXXXX)
  mkdir -p "$work/typescript" "$work/python"

  cp "$root"/docs/clients/typescript/{flow.ts,tsconfig.json,package.json} "$work/typescript/"
  ln -s "$tools/node_modules" "$work/typescript/node_modules"
  generate_client openapi-typescript "$tools/node_modules/.bin/openapi-typescript" \
    "$root/openapi.yaml" --default-non-nullable false --output "$work/typescript/schema.d.ts" || return 1
  if ! "$tools/node_modules/.bin/tsc" -p "$work/typescript"; then
    echo "tsc --strict refused the example against the generated TypeScript client" >&2
    return 1
  fi
  generate_client openapi-python-client openapi-python-client generate --path "$root/openapi.yaml" \
    --config "$root/docs/clients/python/generator.yaml" --meta none \
    --output-path "$work/python/event_collector_client" || return 1

  port=$(free_port)
  log=$(mktemp -t dev-server.XXXXXX.log)
  local_run_start "$target/debug/dev-server" "$port" "$log" STACK_NAME="clients-$port" || return 1
  queue=$("$target/debug/dev-server" queue "clients-$port" acme) || status=$?
  export EVENT_COLLECTOR_URL="http://127.0.0.1:$port" EVENT_COLLECTOR_TENANT=acme QUEUE_URL="$queue"
  if [ "$status" -eq 0 ]; then
    node "$work/typescript/flow.js" || status=$?
    PYTHONPATH="$work/python" "$VENV/bin/python" "$root/docs/clients/python/flow.py" || status=$?
  fi
  unset EVENT_COLLECTOR_URL EVENT_COLLECTOR_TENANT QUEUE_URL
  local_run_stop
  if [ "$status" -ne 0 ]; then
    echo "a generated client's flow failed; the local run's log is $log" >&2
  fi
  local_run_refusals "$log" || status=1
  rm -rf "$work"
  return "$status"
}
