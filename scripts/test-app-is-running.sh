#!/usr/bin/env bash
# Smoke test after a deployment: everything test-app-is-deployed.sh checks, then that the
# app's own code runs with its configuration. It never causes a side effect: no modal is
# opened, no message sent, nothing flushed.
#
# Environment:
#   APP_SERVICE_HOST      the app's URL (see smoke-test-lib.sh for the retry settings)
#   FUNCTION_KEY          a function key of the app; when unset it is read with
#                         "az functionapp keys list" from APP_NAME and RESOURCE_GROUP
#   SLACK_SIGNING_SECRET  the app's Slack signing secret; enables the last, decisive check
#
# What each answer proves:
#   POST /api/slash-start, with the key, unsigned          401
#   POST /api/orchestrator-client, with the key, unsigned  401
#       The app verifies Slack's signature before anything else and refuses the request.
#       (The status alone cannot tell this refusal from the host's refusal of a wrong key,
#       which is also 401; the next check can.)
#   POST /api/slash-start, with the key, a signed ssl_check  200
#       Slack's own reachability probe, signed with SLACK_SIGNING_SECRET: the key is right,
#       the app's settings load, and its signing secret is the one in Vault. The app answers
#       it with 200 and does nothing else.
set -euo pipefail
script_dir="$(dirname "${BASH_SOURCE[0]}")"
# shellcheck source=scripts/smoke-test-lib.sh
source "${script_dir}/smoke-test-lib.sh"

"${script_dir}/test-app-is-deployed.sh"

if ! is_set FUNCTION_KEY; then
  if ! is_set APP_NAME || ! is_set RESOURCE_GROUP; then
    smoke_fail "Set FUNCTION_KEY, or APP_NAME and RESOURCE_GROUP so that it can be read with az."
  fi
  echo "Reading the default function key of ${APP_NAME} with az."
  deadline=$((SECONDS + smoke_timeout))
  # A new app has no keys until its host has started once: keep asking until the deadline.
  until FUNCTION_KEY="$(az functionapp keys list --resource-group "$RESOURCE_GROUP" \
    --name "$APP_NAME" --query functionKeys.default --output tsv 2>/dev/null)" &&
    [[ -n $FUNCTION_KEY ]]; do
    if ((SECONDS >= deadline)); then
      smoke_fail "Could not read the function key of ${APP_NAME} in ${RESOURCE_GROUP}."
    fi
    sleep "$smoke_interval"
  done
  if [[ -n ${TF_BUILD-} ]]; then
    echo "##vso[task.setsecret]${FUNCTION_KEY}"
  fi
fi

workdir="$(mktemp -d)"
trap 'rm -rf "$workdir"' EXIT
# The key travels in a header read from a file: never in a URL or on a command line.
(
  umask 077
  printf 'x-functions-key: %s\n' "$FUNCTION_KEY" >"${workdir}/key-header"
)

unsigned_slash_command() {
  request=(--request POST --header "@${workdir}/key-header"
    --data 'command=%2Fflush&text=&user_id=USMOKETEST&trigger_id=smoke-test'
    "${smoke_base_url}/api/slash-start")
}
unsigned_interaction() {
  request=(--request POST --header "@${workdir}/key-header" --data 'payload=%7B%7D'
    "${smoke_base_url}/api/orchestrator-client")
}

ssl_check_body='ssl_check=1&token=smoke-test'
signed_ssl_check() {
  local timestamp signature
  timestamp="$(date +%s)"
  # Slack's scheme: v0= + hex HMAC-SHA256(secret, "v0:<timestamp>:<body>"). The secret is
  # read from the environment, so it appears on no command line.
  signature="$(SIGNED_TEXT="v0:${timestamp}:${ssl_check_body}" python3 -c '
import hashlib, hmac, os
key = os.environb[b"SLACK_SIGNING_SECRET"]
print("v0=" + hmac.new(key, os.environb[b"SIGNED_TEXT"], hashlib.sha256).hexdigest())
')"
  request=(--request POST --header "@${workdir}/key-header"
    --header "X-Slack-Request-Timestamp: ${timestamp}"
    --header "X-Slack-Signature: ${signature}"
    --data "$ssl_check_body" "${smoke_base_url}/api/slash-start")
}

echo "Checking that the app at ${smoke_base_url} is running."
expect_status 401 "/api/slash-start refuses a request without Slack's signature" \
  unsigned_slash_command
expect_status 401 "/api/orchestrator-client refuses a request without Slack's signature" \
  unsigned_interaction
if is_set SLACK_SIGNING_SECRET; then
  expect_status 200 "a signed ssl_check passes the key and the signature check" signed_ssl_check
else
  echo "SLACK_SIGNING_SECRET is not set: skipped the signed check, so the 401s above do not"
  echo "prove that the function key is right."
fi
echo "The app is running."
