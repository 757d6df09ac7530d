#!/usr/bin/env bash
# Give the function app exactly the settings the app reads, with the values from the
# environment (in the pipeline: the variables read from Vault). Run it where az is logged
# in (the pipeline's AzureCLI task does that).
#
# Environment:
#   APP_NAME, RESOURCE_GROUP  the function app
#   REQUIRED_APP_SETTINGS     names that must have a value; when one is missing the script
#                             names it and changes nothing
#   OPTIONAL_APP_SETTINGS     names that are set when they have a value and removed from
#                             the app when they have none, so the app falls back to its
#                             default and a value deleted from Vault is deleted here too
#   <each name>               its value
#
# Values never appear on a command line or in the log: they reach az in a JSON file
# (az reads "@file" arguments itself) that only this user can read and that is deleted
# when the script ends.
set -euo pipefail

# Azure Pipelines leaves a reference to an undefined variable as its literal text.
is_set() {
  local value="${!1-}"
  [[ -n $value && $value != "\$($1)" ]]
}

error() {
  echo "##vso[task.logissue type=error]$1"
}

for input in APP_NAME RESOURCE_GROUP REQUIRED_APP_SETTINGS; do
  if ! is_set "$input"; then
    error "${input} is not set."
    exit 1
  fi
done

read -r -a required <<<"$REQUIRED_APP_SETTINGS"
read -r -a optional <<<"${OPTIONAL_APP_SETTINGS-}"

missing=()
for name in "${required[@]}"; do
  if ! is_set "$name"; then
    missing+=("$name")
  fi
done
if ((${#missing[@]} > 0)); then
  error "Required app settings without a value (add them to Vault): ${missing[*]}."
  exit 1
fi

to_set=("${required[@]}")
to_remove=()
for name in "${optional[@]}"; do
  if is_set "$name"; then
    to_set+=("$name")
  else
    to_remove+=("$name")
  fi
done

workdir="$(mktemp -d)"
trap 'rm -rf "$workdir"' EXIT
(
  umask 077
  # shellcheck disable=SC2016 # $ARGS and $name are jq's, not the shell's.
  jq --null-input '[$ARGS.positional[] as $name | {name: $name, value: env[$name], slotSetting: false}]' \
    --args "${to_set[@]}" >"${workdir}/settings.json"
)

echo "Setting on ${APP_NAME}: ${to_set[*]}."
az functionapp config appsettings set --resource-group "$RESOURCE_GROUP" --name "$APP_NAME" \
  --settings "@${workdir}/settings.json" --output none
if ((${#to_remove[@]} > 0)); then
  echo "Removing from ${APP_NAME} (not in Vault, the app's defaults apply): ${to_remove[*]}."
  az functionapp config appsettings delete --resource-group "$RESOURCE_GROUP" \
    --name "$APP_NAME" --setting-names "${to_remove[@]}" --output none
fi
