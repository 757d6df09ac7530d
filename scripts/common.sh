# shellcheck shell=bash
# Helpers shared by the deployment scripts: reading the pipeline's variables and reporting
# errors to Azure Pipelines. Sourced by the scripts, not run on its own.

# is_set NAME: NAME holds a value. Azure Pipelines leaves a reference to an undefined
# variable as its literal text, so an env mapping "X: $(X)" yields "$(X)" when X does not
# exist: that counts as unset too.
is_set() {
  local value="${!1-}"
  [[ -n $value && $value != "\$($1)" ]]
}

# error MESSAGE: report MESSAGE as an error of the pipeline step.
error() {
  echo "##vso[task.logissue type=error]$1"
}

# require_each NAME...: exit with "NAME is not set." for the first NAME without a value.
require_each() {
  local name
  for name in "$@"; do
    if ! is_set "$name"; then
      error "${name} is not set."
      exit 1
    fi
  done
}

# require_all WHAT NAME...: exit with "WHAT: NAME NAME." naming every NAME without a value.
require_all() {
  local what="$1" name missing=()
  shift
  for name in "$@"; do
    if ! is_set "$name"; then
      missing+=("$name")
    fi
  done
  if ((${#missing[@]} > 0)); then
    error "${what}: ${missing[*]}."
    exit 1
  fi
}
