# Node tools the test command runs (the API document's linters, the client
# generators): pinned versions installed with npm into a cache directory named
# for the package list, on first use (Debian's nodejs and npm when missing).
# shellcheck shell=bash

npm_ready() {
  command -v npm >/dev/null && return 0
  echo "==> installing Debian's nodejs and npm (first run only)" >&2
  if ! { apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq nodejs npm; } >/dev/null; then
    echo "the test command needs Node.js and npm, and they could not be installed" >&2
    echo "(run as root with the Debian package archive reachable: apt-get install nodejs npm)" >&2
    return 1
  fi
}

# Prints the directory holding the packages named in $1 (space-separated,
# each with its version), installing them there unless the programs named
# after it are in its node_modules/.bin already.
npm_tools() {
  local packages=$1 dir program missing=""
  shift
  dir="${XDG_CACHE_HOME:-$HOME/.cache}/event-collector/npm-$(echo "$packages" | sha256sum | cut -c1-12)"
  for program in "$@"; do
    [ -x "$dir/node_modules/.bin/$program" ] || missing=yes
  done
  if [ -n "$missing" ]; then
    npm_ready || return 1
    echo "==> installing $packages (first run only)" >&2
    mkdir -p "$dir"
    # shellcheck disable=SC2086 # one word a package
    npm install --prefix "$dir" --no-audit --no-fund --silent $packages >&2 || return 1
  fi
  echo "$dir"
}
