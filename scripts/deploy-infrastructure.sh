#!/usr/bin/env bash
# Create the resource group when it does not exist yet, then deploy
# AzureResourceGroup/AzureDeploy.json into it (incremental mode: resources the template
# does not name are left alone). The template carries every app setting, so the function
# app goes from one complete set of settings to the next in a single step: there is no
# moment, and no failure, that leaves it without one. Run it where az is logged in.
#
# Environment:
#   RESOURCE_GROUP, LOCATION      where the app lives
#   APP_NAME                      the function app's name (also names its plan, Application
#                                 Insights and Log Analytics resources, and seeds its storage
#                                 account's)
#   ALWAYS_READY_HTTP_INSTANCES   instances kept warm for the HTTP functions (0 to 10)
#   ALWAYS_READY_DURABLE_INSTANCES  instances kept warm for the orchestration and its
#                                 activities (0 to 10)
#   STORAGE_ACCOUNT_TYPE          optional: Standard_LRS (the template's default) or Standard_GRS
#   MAXIMUM_INSTANCE_COUNT        optional: the most instances the app scales out to
#   ALLOWED_USERS_STORAGE_ACCOUNT optional: the storage account holding the allowed-users
#                                 blob, read with the app's managed identity
#   ALLOWED_USERS_STORAGE_RESOURCE_GROUP  optional: its resource group (default RESOURCE_GROUP)
#   REQUIRED_APP_SETTINGS         app settings that must have a value; when one is missing the
#                                 script names it and changes nothing
#   OPTIONAL_APP_SETTINGS         app settings that may be empty (the app's default applies)
#   <each app setting's name>     its value
#
# Values never appear on a command line or in the log: they reach az in a parameters file
# (az reads "@file" arguments itself) that only this user can read and that is deleted when
# the script ends; the template declares the secret ones as secureString.
#
# Output: the pipeline variable APP_SERVICE_HOST, the app's host name, for the smoke tests.
set -euo pipefail
# shellcheck source=scripts/common.sh
source "$(dirname "${BASH_SOURCE[0]}")/common.sh"

require_all "Not set (add them to Vault)" RESOURCE_GROUP LOCATION APP_NAME REQUIRED_APP_SETTINGS

read -r -a required <<<"$REQUIRED_APP_SETTINGS"
read -r -a optional <<<"${OPTIONAL_APP_SETTINGS-}"
require_all "Required app settings without a value (add them to Vault)" "${required[@]}"
if ! is_set ALLOWED_USERS_STORAGE_ACCOUNT && ! is_set AZURE_STORAGE_CONNECTION_STRING; then
  error "Set ALLOWED_USERS_STORAGE_ACCOUNT (read with the app's identity) or AZURE_STORAGE_CONNECTION_STRING in Vault: the app cannot read its allowed-users list otherwise."
  exit 1
fi
for name in ALWAYS_READY_HTTP_INSTANCES ALWAYS_READY_DURABLE_INSTANCES; do
  if [[ ! ${!name-} =~ ^([0-9]|10)$ ]]; then
    error "${name} must be a whole number from 0 to 10, not '${!name-}'."
    exit 1
  fi
done
maximum=null
if is_set MAXIMUM_INSTANCE_COUNT; then
  if [[ ! $MAXIMUM_INSTANCE_COUNT =~ ^[1-9][0-9]{0,3}$ ]] || ((MAXIMUM_INSTANCE_COUNT > 1000)); then
    error "MAXIMUM_INSTANCE_COUNT must be a whole number from 1 to 1000."
    exit 1
  fi
  maximum="$MAXIMUM_INSTANCE_COUNT"
fi

# Template parameter name=environment variable name pairs, then the app settings (their
# parameters are named as the settings are). Unset optional ones are passed empty.
parameters=("appName=APP_NAME" "location=LOCATION")
if is_set STORAGE_ACCOUNT_TYPE; then
  parameters+=("storageAccountType=STORAGE_ACCOUNT_TYPE")
fi
if is_set ALLOWED_USERS_STORAGE_ACCOUNT; then
  parameters+=("allowedUsersStorageAccount=ALLOWED_USERS_STORAGE_ACCOUNT")
  if is_set ALLOWED_USERS_STORAGE_RESOURCE_GROUP; then
    parameters+=("allowedUsersStorageResourceGroup=ALLOWED_USERS_STORAGE_RESOURCE_GROUP")
  fi
fi
for name in "${required[@]}" "${optional[@]}"; do
  parameters+=("${name}=${name}")
done

workdir="$(mktemp -d)"
trap 'rm -rf "$workdir"' EXIT
(
  umask 077
  # shellcheck disable=SC2016 # $ARGS, $pair, $name and $value are jq's, not the shell's.
  jq --null-input --argjson alwaysReadyHttp "$ALWAYS_READY_HTTP_INSTANCES" \
    --argjson alwaysReadyDurable "$ALWAYS_READY_DURABLE_INSTANCES" --argjson maximum "$maximum" '
    def value($name): env[$name] // "" | if . == "$(\($name))" then "" else . end;
    {
      "$schema": "https://schema.management.azure.com/schemas/2019-04-01/deploymentParameters.json#",
      contentVersion: "1.0.0.0",
      parameters: (
        [$ARGS.positional[] | capture("^(?<parameter>[^=]+)=(?<name>.+)$")
         | {key: .parameter, value: {value: value(.name)}}]
        + [{key: "alwaysReadyHttpInstances", value: {value: $alwaysReadyHttp}},
           {key: "alwaysReadyDurableInstances", value: {value: $alwaysReadyDurable}}]
        + (if $maximum == null then [] else [{key: "maximumInstanceCount", value: {value: $maximum}}] end)
        | from_entries)
    }' --args "${parameters[@]}" >"${workdir}/parameters.json"
)

template="$(dirname "${BASH_SOURCE[0]}")/../AzureResourceGroup/AzureDeploy.json"
if [[ "$(az group exists --name "$RESOURCE_GROUP")" != true ]]; then
  echo "Creating resource group ${RESOURCE_GROUP} in ${LOCATION}."
  az group create --name "$RESOURCE_GROUP" --location "$LOCATION" --output none
fi
# The deployment is named after the app, so deployments of different apps (review apps of
# several pull requests) into one resource group never collide.
echo "Deploying the infrastructure and the settings of ${APP_NAME} into ${RESOURCE_GROUP}:" \
  "${required[*]} ${optional[*]}."
host="$(az deployment group create --resource-group "$RESOURCE_GROUP" --name "$APP_NAME" \
  --template-file "$template" --mode Incremental --parameters "@${workdir}/parameters.json" \
  --query properties.outputs.functionAppHostName.value --output tsv)"
echo "The app answers at ${host}."
echo "##vso[task.setvariable variable=APP_SERVICE_HOST]${host}"
