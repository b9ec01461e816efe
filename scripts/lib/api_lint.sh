# openapi.yaml as client tools read it: redocly's recommended rules and
# spectral's OpenAPI ruleset, each warning a failure (rulesets in scripts/lint/).
# Their pinned versions are installed with npm into a cache directory on first
# use (Debian's nodejs and npm when missing).

API_LINT_TOOLS="@redocly/cli@2.77.0 @stoplight/spectral-cli@6.16.3"

npm_ready() {
  command -v npm >/dev/null && return 0
  echo "==> installing Debian's nodejs and npm (first run only)"
  if ! { apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq nodejs npm; } >/dev/null; then
    echo "the API document lint needs Node.js and npm, and they could not be installed" >&2
    echo "(run as root with the Debian package archive reachable: apt-get install nodejs npm)" >&2
    return 1
  fi
}

api_lint() {
  local root=$1 dir
  dir="${XDG_CACHE_HOME:-$HOME/.cache}/event-collector/npm-$(echo "$API_LINT_TOOLS" | sha256sum | cut -c1-12)"
  if [ ! -x "$dir/node_modules/.bin/redocly" ] || [ ! -x "$dir/node_modules/.bin/spectral" ]; then
    npm_ready
    echo "==> installing $API_LINT_TOOLS (first run only)"
    mkdir -p "$dir"
    # shellcheck disable=SC2086 # one word a package
    npm install --prefix "$dir" --no-audit --no-fund --silent $API_LINT_TOOLS
  fi
  # No telemetry or update checks: the lint reads only the files it is given.
  REDOCLY_TELEMETRY=off REDOCLY_SUPPRESS_UPDATE_NOTICE=true \
    "$dir/node_modules/.bin/redocly" lint --config "$root/scripts/lint/redocly.yaml" "$root/openapi.yaml"
  "$dir/node_modules/.bin/spectral" lint --quiet --ruleset "$root/scripts/lint/spectral.yaml" \
    --fail-severity warn "$root/openapi.yaml"
}
