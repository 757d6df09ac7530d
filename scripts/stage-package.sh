#!/usr/bin/env bash
# Copy the function app's deployable files into a directory, ready to be zipped. The
# package is built from an allowlist (package-lib.sh): the function folders, shared/,
# host.json, requirements.txt and the runtime dependencies in .python_packages, which must
# be installed first. Nothing else is copied, so a stray .env or a new development folder
# never ships; the result is then checked, and the script fails naming every problem.
#
# Usage: stage-package.sh DESTINATION [SOURCE]
#   DESTINATION  an empty or new directory outside SOURCE
#   SOURCE       the app's root directory (default: this repository)
set -euo pipefail
script_dir="$(dirname "${BASH_SOURCE[0]}")"
# shellcheck source=scripts/common.sh
source "${script_dir}/common.sh"
# shellcheck source=scripts/package-lib.sh
source "${script_dir}/package-lib.sh"

if (($# < 1 || $# > 2)); then
  echo "Usage: $0 DESTINATION [SOURCE]" >&2
  exit 2
fi
source_dir="$(realpath "${2:-${script_dir}/..}")"
destination="$(realpath -m "$1")"

if [[ $destination == "$source_dir" || $destination == "$source_dir"/* ]]; then
  error "The destination must be outside ${source_dir}."
  exit 1
fi
if [[ -e $destination && -n "$(ls -A "$destination")" ]]; then
  error "${destination} is not empty."
  exit 1
fi
if [[ ! -d ${source_dir}/.python_packages/lib/site-packages ]]; then
  error "${source_dir}/.python_packages/lib/site-packages is missing: install the runtime dependencies first (pip install --target .python_packages/lib/site-packages -r requirements.txt)."
  exit 1
fi
missing=()
for entry in "${package_entries[@]}"; do
  if [[ ! -e ${source_dir}/${entry} ]]; then
    missing+=("$entry")
  fi
done
if ((${#missing[@]} > 0)); then
  error "${source_dir} has no ${missing[*]}."
  exit 1
fi
mkdir -p "$destination"

tar --create --file=- --directory="$source_dir" --exclude=__pycache__ --exclude='*.pyc' \
  "${package_entries[@]}" | tar --extract --file=- --directory="$destination"

listing="$(cd "$destination" && find . -mindepth 1)"
check_package <<<"$listing"
count="$(find "$destination" -type f | wc -l)"
echo "Staged ${count} files from ${source_dir} in ${destination}."
