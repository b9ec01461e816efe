# openapi.yaml as client tools read it: redocly's recommended rules and
# spectral's OpenAPI ruleset, each warning a failure (rulesets in scripts/lint/).
# Their pinned versions are installed by npm_tools (scripts/lib/npm.sh).
# shellcheck shell=bash

API_LINT_TOOLS="@redocly/cli@2.77.0 @stoplight/spectral-cli@6.16.3"

api_lint() {
  local root=$1 dir
  dir=$(npm_tools "$API_LINT_TOOLS" redocly spectral) || return 1
  # No telemetry or update checks: the lint reads only the files it is given.
  REDOCLY_TELEMETRY=off REDOCLY_SUPPRESS_UPDATE_NOTICE=true \
    "$dir/node_modules/.bin/redocly" lint --config "$root/scripts/lint/redocly.yaml" "$root/openapi.yaml"
  "$dir/node_modules/.bin/spectral" lint --quiet --ruleset "$root/scripts/lint/spectral.yaml" \
    --fail-severity warn "$root/openapi.yaml"
}
