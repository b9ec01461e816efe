# The console in a real browser: headless Chromium (Debian's chromium and
# chromium-driver, installed here when missing) drives the local run's console
# (scripts/lib/console_test.py). Screenshots of every page at 1280 and 390 px
# go to $CONSOLE_SCREENSHOTS (default: the target dir's console-screenshots).

chromium_ready() {
  if [ -x /usr/bin/chromium ] && [ -x /usr/bin/chromedriver ]; then
    return 0
  fi
  echo "==> installing Debian's chromium and chromium-driver (first run only)"
  if ! { apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium chromium-driver; } >/dev/null; then
    echo "the console test needs Debian's chromium and chromium-driver, and they could not be installed" >&2
    echo "(run as root with the Debian package archive reachable: apt-get install chromium chromium-driver)" >&2
    return 1
  fi
}

console_test() {
  local root=$1 target=$2
  local port log token status=0 shots
  chromium_ready
  shots=${CONSOLE_SCREENSHOTS:-$target/console-screenshots}
  port=$(free_port)
  log=$(mktemp -t dev-server.XXXXXX.log)
  local_run_start "$target/debug/dev-server" "$port" "$log" AUTH=jwt STACK_NAME="console-$port" || return 1
  token=$(AUTH=jwt "$target/debug/dev-server" token acme)
  "$VENV/bin/python" "$root/scripts/lib/console_test.py" "http://127.0.0.1:$port" "$token" acme "$shots" || status=$?
  local_run_stop
  if [ "$status" -ne 0 ]; then
    echo "the console test failed; the local run's log is $log" >&2
  fi
  return "$status"
}
