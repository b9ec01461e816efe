# Sourced by scripts/test: runs the README's "Try it" block exactly as written,
# each command right after the one before, on a fresh local run (ports 3000 and
# 5000, as the README uses them), and expects the subscribed queue's message:
# the order its content filter matches, not the other.
# shellcheck shell=bash

readme_test() {
  local root=$1
  local snippet out status=0
  snippet=$(mktemp -t try-it.XXXXXX.sh)
  out=$(mktemp -t try-it.XXXXXX.out)
  # The first ```sh block after "## Try it".
  awk '/^## Try it/{on=1} on&&/^```sh/{copy=1; next} copy&&/^```/{exit} copy' "$root/README.md" >"$snippet"
  if [ ! -s "$snippet" ]; then
    echo "README.md has no \`\`\`sh block under \"## Try it\"" >&2
    return 1
  fi
  for port in 3000 5000; do
    if port_open "$port"; then
      echo "port $port is taken; the README's example needs it" >&2
      return 1
    fi
  done
  # In a session of its own, so whatever it leaves running is stopped with it,
  # also when scripts/test itself is stopped. (A background job of a shell without
  # job control is no group leader, so setsid needs no fork: $! is the session.)
  (cd "$root" && exec setsid timeout 900 bash -e "$snippet") >"$out" 2>&1 &
  README_SESSION=$!
  trap 'pkill -s "$README_SESSION" 2>/dev/null || true; moto_stop' EXIT
  wait "$README_SESSION" || status=$?
  # The block ends with `kill %1`: give the local run a moment to stop by itself.
  for _ in $(seq 1 50); do
    pgrep -s "$README_SESSION" >/dev/null || break
    sleep 0.2
  done
  pkill -s "$README_SESSION" 2>/dev/null || true
  # The subscription's content filter lets ORD-1002 (129.9) through, not ORD-1003 (9).
  if [ "$status" -ne 0 ] || ! grep -q '"eventName":"ORDER.CREATE".*"subscriptionId":"sub_' "$out" ||
    ! grep -q '"entityId":"ORD-1002"' "$out" || grep -q '"entityId":"ORD-1003"' "$out"; then
    echo "the README's Try it did not end with the subscribed queue's message, ORD-1002's only (exit $status); its output:" >&2
    cat "$out" >&2
    return 1
  fi
  echo "README Try it: the message arrived"
}
