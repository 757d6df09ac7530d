#!/usr/bin/env bash
# Create the resource group when it does not exist yet, then deploy
# AzureResourceGroup/AzureDeploy.json into it (incremental mode: resources the template
# does not name are left alone). Run it where az is logged in.
#
# Environment:
#   RESOURCE_GROUP, LOCATION  where the app lives
#   APP_NAME                  the function app's name (also names its Application Insights
#                             and Log Analytics resources, and seeds its storage account's)
#   APP_PLAN                  the Linux consumption plan to run it on (created if missing)
#   STORAGE_ACCOUNT_TYPE      optional: Standard_LRS (the template's default) or Standard_GRS
set -euo pipefail

# Azure Pipelines leaves a reference to an undefined variable as its literal text.
is_set() {
  local value="${!1-}"
  [[ -n $value && $value != "\$($1)" ]]
}

missing=()
for name in RESOURCE_GROUP LOCATION APP_NAME APP_PLAN; do
  if ! is_set "$name"; then
    missing+=("$name")
  fi
done
if ((${#missing[@]} > 0)); then
  echo "##vso[task.logissue type=error]Not set (add them to Vault): ${missing[*]}."
  exit 1
fi

template="$(dirname "${BASH_SOURCE[0]}")/../AzureResourceGroup/AzureDeploy.json"
parameters=("appName=${APP_NAME}" "appPlan=${APP_PLAN}" "location=${LOCATION}")
if is_set STORAGE_ACCOUNT_TYPE; then
  parameters+=("storageAccountType=${STORAGE_ACCOUNT_TYPE}")
fi

if [[ "$(az group exists --name "$RESOURCE_GROUP")" != true ]]; then
  echo "Creating resource group ${RESOURCE_GROUP} in ${LOCATION}."
  az group create --name "$RESOURCE_GROUP" --location "$LOCATION" --output none
fi
# The deployment is named after the app, so deployments of different apps (review apps of
# several pull requests) into one resource group never collide.
echo "Deploying the infrastructure of ${APP_NAME} into ${RESOURCE_GROUP}."
az deployment group create --resource-group "$RESOURCE_GROUP" --name "$APP_NAME" \
  --template-file "$template" --mode Incremental --parameters "${parameters[@]}" --output none
