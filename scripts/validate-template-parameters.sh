#!/usr/bin/env bash
# Check the parameters given to azure-pipelines-templates/deployment-job.yml once Azure
# Pipelines has expanded them, and fail the job, naming every problem, before anything is
# deployed.
#
# Environment (one per template parameter):
#   APP_NAME                   appName            the function app's name in Azure
#   APP_TEST                   appTest            smoke test to run: deployed or running
#   AZURE_SUBSCRIPTION         azureSubscription  the Azure service connection
#   ENVIRONMENT                environment        the Azure DevOps environment
#   VAULT_RELEASE_ENVIRONMENT  releaseEnvironment the environment's name in Vault
#   VAULT_VARIABLE_GROUP       vaultVariableGroup the variable group with the Vault token
#   ALWAYS_READY_HTTP_INSTANCES alwaysReadyHttpInstances  warm instances for /flush
#   ALWAYS_READY_DURABLE_INSTANCES alwaysReadyDurableInstances  warm instances for the
#                              orchestration
set -euo pipefail

problems=0
problem() {
  echo "##vso[task.logissue type=error]$1"
  problems=$((problems + 1))
}

# Azure Pipelines leaves a reference to an undefined variable as its literal text, e.g.
# "nhsuk-...-pr-$(System.PullRequest.PullRequestNumber)" outside a pull request build.
check_present() {
  local variable="$1" parameter="$2"
  local value="${!variable-}"
  if [[ -z $value ]]; then
    problem "Missing template parameter \"${parameter}\"."
    return 1
  fi
  if [[ $value == *"\$("*")"* ]]; then
    problem "Template parameter \"${parameter}\" refers to an undefined variable: ${value}"
    return 1
  fi
}

if check_present APP_NAME appName; then
  # App Service names: 2 to 60 letters, digits and hyphens, starting and ending with a
  # letter or digit (they become the host name <name>.azurewebsites.net).
  if [[ ! $APP_NAME =~ ^[A-Za-z0-9][A-Za-z0-9-]{0,58}[A-Za-z0-9]$ ]]; then
    problem "Template parameter \"appName\" is not a valid function app name: ${APP_NAME}"
  fi
fi
if check_present APP_TEST appTest; then
  if [[ $APP_TEST != deployed && $APP_TEST != running ]]; then
    problem "Template parameter \"appTest\" must be \"deployed\" or \"running\", not \"${APP_TEST}\"."
  fi
fi
if check_present AZURE_SUBSCRIPTION azureSubscription && [[ -n ${VAULT_RELEASE_ENVIRONMENT-} ]]; then
  # Production deploys with its own service connection, whose checks (approvals, branch
  # control) no other stage can satisfy; no other stage may use it.
  if [[ $VAULT_RELEASE_ENVIRONMENT == production && $AZURE_SUBSCRIPTION != *-production ]]; then
    problem "Template parameter \"azureSubscription\" must be production's own service connection (a name ending in -production), not ${AZURE_SUBSCRIPTION}"
  elif [[ $VAULT_RELEASE_ENVIRONMENT != production && $AZURE_SUBSCRIPTION == *-production ]]; then
    problem "Template parameter \"azureSubscription\" names production's service connection ${AZURE_SUBSCRIPTION} for ${VAULT_RELEASE_ENVIRONMENT}"
  fi
fi
check_present ENVIRONMENT environment || true
if check_present VAULT_RELEASE_ENVIRONMENT releaseEnvironment; then
  if [[ ! $VAULT_RELEASE_ENVIRONMENT =~ ^[a-z][a-z0-9-]*$ ]]; then
    problem "Template parameter \"releaseEnvironment\" is not a Vault environment name: ${VAULT_RELEASE_ENVIRONMENT}"
  fi
fi

if check_present VAULT_VARIABLE_GROUP vaultVariableGroup &&
  [[ ${VAULT_RELEASE_ENVIRONMENT-} =~ ^(review|staging|production)$ ]] &&
  [[ $VAULT_VARIABLE_GROUP != *"-${VAULT_RELEASE_ENVIRONMENT}" ]]; then
  # Review, staging and production each read Vault with their own token, never a shared
  # one: review's runs code nobody reviewed yet, so its token reads only this app's values.
  problem "Template parameter \"vaultVariableGroup\" must be ${VAULT_RELEASE_ENVIRONMENT}'s own group (a name ending in -${VAULT_RELEASE_ENVIRONMENT}), not ${VAULT_VARIABLE_GROUP}"
fi
for pair in ALWAYS_READY_HTTP_INSTANCES:alwaysReadyHttpInstances \
  ALWAYS_READY_DURABLE_INSTANCES:alwaysReadyDurableInstances; do
  variable="${pair%%:*}" parameter="${pair#*:}"
  if check_present "$variable" "$parameter" && [[ ! ${!variable} =~ ^([0-9]|10)$ ]]; then
    problem "Template parameter \"${parameter}\" must be a whole number from 0 to 10, not \"${!variable}\"."
  fi
done

if ((problems > 0)); then
  echo "${problems} template parameter problem(s) found."
  exit 1
fi
echo "Template parameters are valid: appName=${APP_NAME} appTest=${APP_TEST} azureSubscription=${AZURE_SUBSCRIPTION} environment=${ENVIRONMENT} releaseEnvironment=${VAULT_RELEASE_ENVIRONMENT} vaultVariableGroup=${VAULT_VARIABLE_GROUP} alwaysReadyHttpInstances=${ALWAYS_READY_HTTP_INSTANCES} alwaysReadyDurableInstances=${ALWAYS_READY_DURABLE_INSTANCES}."
