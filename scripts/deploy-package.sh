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
script_dir="$(dirname "${BASH_SOURCE[0]}")"
# shellcheck source=scripts/common.sh
source "${script_dir}/common.sh"
# shellcheck source=scripts/package-lib.sh
source "${script_dir}/package-lib.sh"

require_each APP_NAME RESOURCE_GROUP PACKAGE
if [[ ! -f $PACKAGE ]]; then
  error "No package at ${PACKAGE}."
  exit 1
fi
if ! listing="$(python3 -c 'import sys, zipfile; print("\n".join(zipfile.ZipFile(sys.argv[1]).namelist()))' "$PACKAGE" 2>/dev/null)"; then
  error "${PACKAGE} is not a zip file."
  exit 1
fi
check_package <<<"$listing"

echo "Deploying ${PACKAGE} to ${APP_NAME}."
az functionapp deployment source config-zip --resource-group "$RESOURCE_GROUP" \
  --name "$APP_NAME" --src "$PACKAGE" --build-remote false --output none
echo "Deployed ${PACKAGE} to ${APP_NAME}."
