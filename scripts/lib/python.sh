# Sourced by scripts/*: a virtualenv with scripts/requirements.txt, made on first
# use and reused while the requirements stay the same.
# shellcheck shell=bash

venv_ready() {
  local root=$1
  local hash
  hash=$(sha256sum "$root/scripts/requirements.txt" | cut -c1-12)
  VENV=${EVENT_COLLECTOR_VENV:-${XDG_CACHE_HOME:-$HOME/.cache}/event-collector/venv-$hash}
  if [ ! -x "$VENV/bin/moto_server" ] || [ ! -x "$VENV/bin/cfn-lint" ] || [ ! -x "$VENV/bin/schemathesis" ]; then
    echo "==> installing Python tools into $VENV (first run only)"
    python3 -m venv "$VENV"
    "$VENV/bin/pip" install --quiet --disable-pip-version-check -r "$root/scripts/requirements.txt"
  fi
  export PATH="$VENV/bin:$PATH"
}

# Starts moto's server on 127.0.0.1:$1 and waits until it answers.
# Sets MOTO_PID; the caller's trap stops it (moto_stop).
moto_start() {
  local port=$1 log=$2
  # PurgeQueue without AWS's once-a-minute limit: tests and benchmarks empty
  # queues between rounds (moto's SQS slows down as a queue grows). moto_server.py
  # isolates DynamoDB transactions as DynamoDB does (see there).
  MOTO_SQS_ENFORCE_STRICT_QUEUE_PURGE_BEHAVIOUR=false "$VENV/bin/python" "$(dirname "${BASH_SOURCE[0]}")/moto_server.py" \
    -H 127.0.0.1 -p "$port" >"$log" 2>&1 &
  MOTO_PID=$!
  for _ in $(seq 1 100); do
    # Our process must be alive too: another server may already hold the port.
    if ! kill -0 "$MOTO_PID" 2>/dev/null; then
      echo "moto_server exited at start (is port $port taken?); its log ($log):" >&2
      cat "$log" >&2
      return 1
    fi
    if python3 -c 'import sys, urllib.request; urllib.request.urlopen(sys.argv[1], timeout=1)' \
        "http://127.0.0.1:$port/moto-api/" >/dev/null 2>&1; then
      return 0
    fi
    sleep 0.1
  done
  echo "moto_server did not answer on 127.0.0.1:$port within 10 s" >&2
  return 1
}

moto_stop() {
  if [ -n "${MOTO_PID:-}" ]; then
    kill "$MOTO_PID" 2>/dev/null || true
    wait "$MOTO_PID" 2>/dev/null || true
  fi
}

# The cargo target directory (honours CARGO_TARGET_DIR and config).
target_dir() {
  cargo metadata --format-version 1 --no-deps --manifest-path "$1/Cargo.toml" |
    python3 -c 'import json, sys; print(json.load(sys.stdin)["target_directory"])'
}

# Environment that points the AWS SDK (ours and moto's clients) at moto.
moto_env() {
  export AWS_ENDPOINT_URL="http://127.0.0.1:$1"
  export AWS_ACCESS_KEY_ID=test AWS_SECRET_ACCESS_KEY=test AWS_REGION=us-east-1 AWS_DEFAULT_REGION=us-east-1
  # Keep the SDK from probing the EC2 metadata endpoint.
  export AWS_EC2_METADATA_DISABLED=true
}

# Whether something accepts connections on 127.0.0.1:$1.
port_open() {
  python3 -c 'import socket, sys; socket.create_connection(("127.0.0.1", int(sys.argv[1])), 1)' "$1" 2>/dev/null
}

# Starts the local run ($1, the dev-server binary) on 127.0.0.1:$2, its log in
# $3, with the environment assignments that follow (e.g. AUTH=jwt); its pid is
# LOCAL_RUN_PID. Fails, showing the log, unless it listens within 30 s.
local_run_start() {
  local binary=$1 port=$2 log=$3
  shift 3
  env "$@" PORT="$port" "$binary" >"$log" 2>&1 &
  LOCAL_RUN_PID=$!
  for _ in $(seq 1 150); do
    port_open "$port" && return 0
    kill -0 "$LOCAL_RUN_PID" 2>/dev/null || break
    sleep 0.2
  done
  echo "the local run did not start listening on 127.0.0.1:$port; its log ($log):" >&2
  cat "$log" >&2
  local_run_stop
  return 1
}

# Fails, listing them, if the local run's log ($1) holds calls AWS would refuse:
# its stream and queue consumers run in the background, so a call IAM or a
# limit refuses there reaches no HTTP response, only the log.
local_run_refusals() {
  grep -q "AWS would refuse this call" "$1" || return 0
  echo "the local run made calls AWS would refuse:" >&2
  grep "AWS would refuse this call" "$1" | head -20 >&2
  return 1
}

local_run_stop() {
  kill "$LOCAL_RUN_PID" 2>/dev/null || true
  wait "$LOCAL_RUN_PID" 2>/dev/null || true
}

free_port() {
  python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1]); s.close()'
}
