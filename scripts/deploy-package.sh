#!/usr/bin/env bash
# Deploy the package built by the build stage to the function app: a zip deploy, which on
# the Flex Consumption plan puts the zip in the app's deployment container (reached with
# the app's managed identity) and restarts the app on it. The package already holds its
# dependencies (.python_packages), so nothing is built on Azure (doc/adr/0010). The zip is
# checked first, so a package that is not the app's never replaces a working one. Run it
# where az is logged in: az authenticates with Microsoft Entra ID, because the app refuses
# basic-auth publishing credentials.
#
# Environment:
#   APP_NAME, RESOURCE_GROUP  the function app
#   PACKAGE                   the zip to deploy
set -euo pipefail
# shellcheck source=scripts/package-lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/package-lib.sh"

# Azure Pipelines leaves a reference to an undefined variable as its literal text.
is_set() {
  local value="${!1-}"
  [[ -n $value && $value != "\$($1)" ]]
}

error() {
  echo "##vso[task.logissue type=error]$1"
}

for name in APP_NAME RESOURCE_GROUP PACKAGE; do
  if ! is_set "$name"; then
    error "${name} is not set."
    exit 1
  fi
done
if [[ ! -f $PACKAGE ]]; then
  error "No package at ${PACKAGE}."
  exit 1
fi
if ! listing="$(python3 -c 'import sys, zipfile; print("\n".join(zipfile.ZipFile(sys.argv[1]).namelist()))' "$PACKAGE" 2>/dev/null)"; then
  error "${PACKAGE} is not a zip file."
  exit 1
fi
if ! problems="$(package_problems <<<"$listing")"; then
  while IFS= read -r problem; do
    error "Package: ${problem}."
  done <<<"$problems"
  exit 1
fi

echo "Deploying ${PACKAGE} to ${APP_NAME}."
az functionapp deployment source config-zip --resource-group "$RESOURCE_GROUP" \
  --name "$APP_NAME" --src "$PACKAGE" --build-remote false --output none
echo "Deployed ${PACKAGE} to ${APP_NAME}."
