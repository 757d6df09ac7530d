#!/usr/bin/env bash
# Smoke test after a deployment: the app exists, its Functions host runs, and both HTTP
# functions are registered and protected by a function key. Needs no secret, so it suits
# review environments.
#
# Environment: APP_SERVICE_HOST, and the settings described in smoke-test-lib.sh.
#
# What each answer proves:
#   GET /                          200  the site exists and the Functions host has started
#                                       (its default home page)
#   POST /api/slash-start          401  without a function key the host refuses the request
#   POST /api/orchestrator-client  401  before the app sees it (authLevel "function"); a
#                                       route that did not load would answer 404 instead
set -euo pipefail
# shellcheck source=scripts/smoke-test-lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/smoke-test-lib.sh"

home_page() { request=(--request GET "${smoke_base_url}/"); }
slash_start_without_key() { request=(--request POST --data '' "${smoke_base_url}/api/slash-start"); }
orchestrator_client_without_key() {
  request=(--request POST --data '' "${smoke_base_url}/api/orchestrator-client")
}

echo "Checking that the app at ${smoke_base_url} is deployed."
expect_status 200 "the Functions host serves its home page" home_page
expect_status 401 "/api/slash-start exists and needs a function key" slash_start_without_key
expect_status 401 "/api/orchestrator-client exists and needs a function key" \
  orchestrator_client_without_key
echo "The app is deployed."
