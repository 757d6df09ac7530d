# shellcheck shell=bash
# What the function app's package holds, and the check that it holds nothing else; sourced
# by stage-package.sh (which builds the package) and deploy-package.sh (which deploys it),
# after common.sh, not run on its own.

# The package is built from this allowlist: the function folders, the shared package, the
# host's configuration, the runtime requirements and the dependencies installed from them.
# A new function folder must be added here (a test compares this list with the repository).
package_functions=(
  slash_start
  orchestrator_client
  flush_orchestrator
  call_cache_flush_activity
  notify_user_activity
  check_access_activity
  publish_home_activity
  slack_events
  purge_history
)
package_entries=("${package_functions[@]}" shared host.json requirements.txt .python_packages)

# package_problems: reads the package's paths (relative, "/" separated, one a line) on
# standard input and prints one line per problem; succeeds when there is none.
package_problems() {
  local paths=() path top found=0
  mapfile -t paths
  paths=("${paths[@]#./}")
  local -A present=()
  for path in "${paths[@]}"; do
    path="${path%/}"
    [[ -z $path ]] && continue
    local prefix="$path"
    while true; do
      present["$prefix"]=1
      [[ $prefix == */* ]] || break
      prefix="${prefix%/*}"
    done
    top="${path%%/*}"
    if [[ " ${package_entries[*]} " != *" ${top} "* ]]; then
      echo "${top} is not part of the app"
      found=1
    elif [[ $top != .python_packages ]]; then
      case "/${path}/" in
      */devhost/* | */tests/* | */bench/* | */__pycache__/*)
        echo "${path} is development material"
        found=1
        ;;
      esac
    fi
    case "/${path}" in
    */.env | */*.env | */.env.* | */local.settings.json)
      echo "${path} may hold local secrets"
      found=1
      ;;
    esac
  done
  local required=(host.json requirements.txt .python_packages/lib/site-packages shared/__init__.py)
  for path in "${package_functions[@]}"; do
    required+=("${path}/function.json" "${path}/__init__.py")
  done
  for path in "${required[@]}"; do
    if [[ -z ${present[$path]-} ]]; then
      echo "${path} is missing"
      found=1
    fi
  done
  return "$found"
}

# check_package: reads the package's paths as package_problems does and exits with an error
# for each problem when there is one.
check_package() {
  local problems problem
  if ! problems="$(package_problems)"; then
    while IFS= read -r problem; do
      error "Package: ${problem}."
    done <<<"$problems"
    exit 1
  fi
}
