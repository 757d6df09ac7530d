#!/usr/bin/env bash
# Print slack-app-manifest.yml with its placeholders replaced and its comments left out,
# ready to paste into Slack.
#
# Environment:
#   FUNCTION_APP_HOST        the function app's host name, e.g. <app>.azurewebsites.net
#   SLASH_START_KEY          a function key of the slash_start function
#   ORCHESTRATOR_CLIENT_KEY  a function key of the orchestrator_client function
#   SLACK_EVENTS_KEY         a function key of the slack_events function
# The keys are URL-encoded on the way (a key may hold "+", "/" or "=").
# The output holds the keys: paste it into Slack, do not commit it.
set -euo pipefail

missing=()
for name in FUNCTION_APP_HOST SLASH_START_KEY ORCHESTRATOR_CLIENT_KEY SLACK_EVENTS_KEY; do
  if [[ -z ${!name-} ]]; then
    missing+=("$name")
  fi
done
if ((${#missing[@]} > 0)); then
  echo "Not set: ${missing[*]}." >&2
  exit 1
fi
host="${FUNCTION_APP_HOST#https://}"
host="${host%/}"
if [[ ! $host =~ ^[A-Za-z0-9]([A-Za-z0-9.-]*[A-Za-z0-9])?(:[0-9]+)?$ ]]; then
  echo "FUNCTION_APP_HOST must be a host name such as <app>.azurewebsites.net, not '${FUNCTION_APP_HOST}'." >&2
  exit 1
fi

# jq reads the keys from the environment: they appear on no command line.
slash_start_key="$(jq -rn 'env.SLASH_START_KEY | @uri')"
orchestrator_client_key="$(jq -rn 'env.ORCHESTRATOR_CLIENT_KEY | @uri')"
slack_events_key="$(jq -rn 'env.SLACK_EVENTS_KEY | @uri')"

# Comment lines go: they describe the placeholders, which the output no longer has.
manifest="$(grep -v '^[[:space:]]*#' "$(dirname "${BASH_SOURCE[0]}")/../slack-app-manifest.yml")"
# Quoted replacements: no character of a value is special to the substitution.
manifest="${manifest//__FUNCTION_APP_HOST__/"$host"}"
manifest="${manifest//__SLASH_START_KEY__/"$slash_start_key"}"
manifest="${manifest//__ORCHESTRATOR_CLIENT_KEY__/"$orchestrator_client_key"}"
manifest="${manifest//__SLACK_EVENTS_KEY__/"$slack_events_key"}"
printf '%s\n' "$manifest"
