#!/usr/bin/env bash
# Read a deployment's variables from HashiCorp Vault (KV version 1 API) and hand each one
# to Azure Pipelines as a secret variable for the steps that follow.
#
# Environment:
#   VAULT_SERVER               Vault's base URL with its scheme, e.g. https://vault.example.org
#   VAULT_TOKEN                a token allowed to read the paths below, and no more: each
#                              environment's token comes from its own variable group
#                              (doc/deployment.md, "Vault tokens and their policies")
#   VAULT_APP_NAME             the application's name in Vault: nhsuk.cache-flush-slack-app
#   VAULT_RELEASE_ENVIRONMENT  dev, int, staging or production; review reads dev's values
#                              of this app only (its own paths, not the shared defaults),
#                              so review apps need no secrets of their own and their token,
#                              which runs code nobody has reviewed yet, can be kept from
#                              every other app's secrets
#   VAULT_ACCEPTED_KEYS        the keys this job accepts, separated by spaces; any other key
#                              found in Vault is ignored with a warning, so a value stored
#                              for another app (secret/defaults is shared) never becomes a
#                              variable, let alone replaces one the job sets itself
#
# Paths, read in this order (a key read later replaces the same key read earlier):
#   /v1/secret/defaults                              shared by every app and environment
#   /v1/secret/<environment>/defaults                shared by every app in the environment
#   /v1/secret/defaults/<app>/env-vars               this app, every environment
#   /v1/secret/<environment>/<app>/env-vars          this app in this environment
# Review reads the last two only.
#
# A path with nothing stored (404) is skipped. Any other answer, or no answer, stops the
# step: a deployment never goes ahead with part of its configuration.
# When one of the first four inputs is missing the script says which and exits 0 without asking
# Vault (pipelines without access to Vault, such as pull requests from forks, still build).
set -euo pipefail
# shellcheck source=scripts/common.sh
source "$(dirname "${BASH_SOURCE[0]}")/common.sh"

skip=0
for input in VAULT_SERVER VAULT_TOKEN VAULT_RELEASE_ENVIRONMENT VAULT_APP_NAME; do
  if ! is_set "$input"; then
    echo "${input} is not set: skipping the variables from Vault."
    skip=1
  fi
done
if ((skip)); then
  exit 0
fi

# Names the pipeline sets for itself or that the agent owns: Vault never supplies them, even
# when a careless edit adds one to VAULT_ACCEPTED_KEYS.
reserved='^(APP_NAME|PACKAGE|ARTIFACT_NAME|APP_SERVICE_HOST|VAULT_.*|(AGENT|BUILD|SYSTEM|PIPELINE|ENDPOINT|TF|COMMON|ENVIRONMENT|RELEASE)_.*|PATH|HOME)$'
read -r -a accepted <<<"${VAULT_ACCEPTED_KEYS-}"
if ((${#accepted[@]} == 0)) || [[ ${accepted[0]} == "\$(VAULT_ACCEPTED_KEYS)" ]]; then
  error "VAULT_ACCEPTED_KEYS is not set: name the keys this job accepts from Vault."
  exit 1
fi
for name in "${accepted[@]}"; do
  if [[ ${name^^} =~ $reserved ]]; then
    error "VAULT_ACCEPTED_KEYS names ${name}, which the pipeline sets itself."
    exit 1
  fi
done

environment="$VAULT_RELEASE_ENVIRONMENT"
shared_defaults=1
if [[ $environment == review ]]; then
  environment=dev
  shared_defaults=0
fi
server="${VAULT_SERVER%/}"

workdir="$(mktemp -d)"
trap 'rm -rf "$workdir"' EXIT
# The token goes to curl in a file, never on its command line where other processes see it.
(
  umask 077
  printf 'X-Vault-Token: %s\n' "$VAULT_TOKEN" >"$workdir/headers"
)

# Print one secret-variable command per accepted key under .data. Values are escaped the way the
# agent expects, so a value holding %, CR or LF arrives intact and is never split over
# several log lines.
# shellcheck disable=SC2016 # $-names in the jq program are jq's, not the shell's.
to_commands='
  .data | to_entries[] | select(.key | IN($ARGS.positional[]))
  | (.value | if type == "string" then . else tojson end) as $value
  | "##vso[task.setvariable variable=\(.key);issecret=true]"
    + ($value | gsub("%"; "%AZP25") | gsub("\r"; "%0D") | gsub("\n"; "%0A"))
'

read_path() {
  local path="$1" status
  if ! status="$(curl --silent --show-error --max-time 30 --header "@$workdir/headers" \
    --output "$workdir/body" --write-out '%{http_code}' "${server}${path}")"; then
    error "Could not read ${path} from Vault at ${server}."
    exit 1
  fi
  case "$status" in
  200) ;;
  404)
    echo "Nothing stored at ${path}: skipped."
    return
    ;;
  *)
    local reason
    reason="$(jq -r '(.errors // []) | join("; ")' "$workdir/body" 2>/dev/null || true)"
    error "Vault answered ${status} for ${path}${reason:+ (${reason})}."
    exit 1
    ;;
  esac
  if ! jq -e '.data | type == "object"' "$workdir/body" >/dev/null 2>&1; then
    error "Vault's answer for ${path} holds no data object."
    exit 1
  fi
  local names ignored
  # shellcheck disable=SC2016 # $ARGS is jq's, not the shell's.
  names="$(jq -r '[.data | keys[] | select(IN($ARGS.positional[]))] | join(", ")' \
    "$workdir/body" --args "${accepted[@]}")"
  # An ignored key is named only when it is a plain name: a key is free text, and one that
  # holds "##vso[" or a line break must not reach the log as it is.
  # shellcheck disable=SC2016
  ignored="$(jq -r '[.data | keys[] | select(IN($ARGS.positional[]) | not)
    | if test("^[A-Za-z_][A-Za-z0-9_.]*$") then . else "(a key that is not a variable name)" end]
    | join(", ")' "$workdir/body" --args "${accepted[@]}")"
  echo "Read from ${path}: ${names:-no variables this job accepts}."
  if [[ -n $ignored ]]; then
    echo "##vso[task.logissue type=warning]Ignored keys of ${path} that this job does not accept: ${ignored}."
  fi
  jq -r "$to_commands" "$workdir/body" --args "${accepted[@]}"
}

if ((shared_defaults)); then
  read_path "/v1/secret/defaults"
  read_path "/v1/secret/${environment}/defaults"
fi
read_path "/v1/secret/defaults/${VAULT_APP_NAME}/env-vars"
read_path "/v1/secret/${environment}/${VAULT_APP_NAME}/env-vars"
