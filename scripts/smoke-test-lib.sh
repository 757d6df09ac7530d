# shellcheck shell=bash
# Helpers for the smoke tests test-app-is-deployed.sh and test-app-is-running.sh; sourced
# by them, not run on its own.
#
# Settings (environment):
#   APP_SERVICE_HOST             the app's URL or host name, e.g. https://<app>.azurewebsites.net
#   SMOKE_TEST_TIMEOUT_SECONDS   how long one check keeps retrying until it gets the answer
#                                it expects (default 300: a new app on a consumption plan
#                                can take minutes before it answers)
#   SMOKE_TEST_INTERVAL_SECONDS  pause between two attempts (default 10)

# shellcheck source=scripts/common.sh
source "$(dirname "${BASH_SOURCE[0]}")/common.sh"

smoke_fail() {
  error "$1"
  exit 1
}

smoke_timeout="${SMOKE_TEST_TIMEOUT_SECONDS:-300}"
smoke_interval="${SMOKE_TEST_INTERVAL_SECONDS:-10}"
if [[ ! $smoke_timeout =~ ^[0-9]+$ || ! $smoke_interval =~ ^[0-9]+$ ]]; then
  smoke_fail "SMOKE_TEST_TIMEOUT_SECONDS and SMOKE_TEST_INTERVAL_SECONDS must be whole numbers of seconds."
fi

if ! is_set APP_SERVICE_HOST; then
  smoke_fail "APP_SERVICE_HOST is not set, unable to continue."
fi
smoke_base_url="${APP_SERVICE_HOST%/}"
if [[ $smoke_base_url != http://* && $smoke_base_url != https://* ]]; then
  smoke_base_url="https://${smoke_base_url}"
fi

# What an unexpected status most likely means for this app.
explain_status() {
  case "$1" in
  000) echo "no answer: the name does not resolve, TLS failed, or nothing answered within 30 s" ;;
  200) echo "the request was accepted: the function key or the Slack signature check is not in force" ;;
  401) echo "refused: a wrong function key, or a signing secret that differs from the app's" ;;
  403) echo "forbidden: the app is stopped or an access restriction blocks this machine" ;;
  404) echo "no such route: the app does not exist, or its functions did not load (is .python_packages in the package? see the app's logs)" ;;
  500) echo "the function ran and failed, usually because an app setting is missing (the app's log names it)" ;;
  502 | 503) echo "the Functions host is still starting, or keeps failing to start" ;;
  *) echo "an answer this app never gives" ;;
  esac
}

# expect_status EXPECTED DESCRIPTION BUILDER
# Calls the function BUILDER, which fills the array "request" with curl arguments, sends
# the request, and repeats until the status is EXPECTED or the time is up. BUILDER runs
# before every attempt, so it can sign each attempt afresh.
request=()
expect_status() {
  local expected="$1" description="$2" builder="$3"
  local deadline=$((SECONDS + smoke_timeout)) status
  while true; do
    "$builder"
    status="$(curl --silent --output /dev/null --write-out '%{http_code}' --max-time 30 \
      "${request[@]}" 2>/dev/null)" || true
    if [[ $status == "$expected" ]]; then
      echo "OK: ${description} (${status})."
      return 0
    fi
    if ((SECONDS >= deadline)); then
      smoke_fail "Expected ${expected} because ${description}; got ${status}: $(explain_status "$status")."
    fi
    echo "Got ${status} where ${expected} is expected; trying again in ${smoke_interval} s."
    sleep "$smoke_interval"
  done
}
