#!/usr/bin/env bash
# Delete the review environment of a merged pull request: every resource that
# AzureResourceGroup/AzureDeploy.json created for the review app, found by the "app-name"
# tag the template puts on each of them (its own Flex Consumption plan and user-assigned
# identity included), and the role assignments of the app's identities, which carry no tags
# and would otherwise outlive them: those of the user-assigned identity, and those of a
# system-assigned identity that an app deployed before the user-assigned one still has.
# Run it where az is logged in.
#
# Environment:
#   REVIEW_APP_NAME_ROOT  review apps' name without the number, e.g. ...-dev-uks-pr-
#   PR_NUMBER             the merged pull request's number
#   RESOURCE_GROUP        the review apps' resource group
set -euo pipefail
# shellcheck source=scripts/common.sh
source "$(dirname "${BASH_SOURCE[0]}")/common.sh"

require_each REVIEW_APP_NAME_ROOT PR_NUMBER RESOURCE_GROUP
if [[ ! $PR_NUMBER =~ ^[1-9][0-9]*$ ]]; then
  error "PR_NUMBER must be a pull request number, not '${PR_NUMBER}'."
  exit 1
fi
app_name="${REVIEW_APP_NAME_ROOT}${PR_NUMBER}"

listing="$(az resource list --resource-group "$RESOURCE_GROUP" --tag "app-name=${app_name}" \
  --query "[].id" --output tsv)"
ids=()
if [[ -n $listing ]]; then
  mapfile -t ids <<<"$listing"
fi
if ((${#ids[@]} == 0)); then
  echo "Nothing tagged app-name=${app_name} in ${RESOURCE_GROUP}: already deleted."
  exit 0
fi

# The identities' role assignments go first, while the identities can still be named; then
# the function app, so nothing uses its storage or telemetry while they go; then the rest.
sites=()
identities=()
others=()
for id in "${ids[@]}"; do
  if [[ ${id,,} == */providers/microsoft.web/sites/* ]]; then
    sites+=("$id")
  else
    if [[ ${id,,} == */providers/microsoft.managedidentity/userassignedidentities/* ]]; then
      identities+=("$id")
    fi
    others+=("$id")
  fi
done
delete() {
  printf 'Deleting %s\n' "$@"
  az resource delete --ids "$@" --output none
}
# delete_role_assignments ID QUERY: delete the role assignments of the principal that QUERY
# finds on the resource ID (none when it has no identity).
delete_role_assignments() {
  local principal assignments
  principal="$(az resource show --ids "$1" --query "$2" --output tsv)"
  if [[ -n $principal ]]; then
    assignments="$(az role assignment list --assignee "$principal" --all --query "[].id" \
      --output tsv)"
    if [[ -n $assignments ]]; then
      mapfile -t assignment_ids <<<"$assignments"
      printf 'Deleting the role assignment %s\n' "${assignment_ids[@]}"
      az role assignment delete --ids "${assignment_ids[@]}" --output none
    fi
  fi
}
for site in "${sites[@]}"; do
  delete_role_assignments "$site" identity.principalId
done
for identity in "${identities[@]}"; do
  delete_role_assignments "$identity" properties.principalId
done
if ((${#sites[@]} > 0)); then
  delete "${sites[@]}"
fi
if ((${#others[@]} > 0)); then
  delete "${others[@]}"
fi
echo "Deleted the review environment ${app_name}."
