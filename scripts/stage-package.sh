#!/usr/bin/env bash
# Copy the function app's deployable files into a directory, ready to be zipped: every
# file of the working tree that .funcignore does not exclude (the rules Core Tools applies
# when it publishes). Install the runtime dependencies into .python_packages first, so
# that they are part of the package.
#
# Usage: stage-package.sh DESTINATION [SOURCE]
#   DESTINATION  an empty or new directory outside SOURCE
#   SOURCE       the app's root directory (default: this repository)
#
# .funcignore uses .gitignore's syntax, so git applies it: an index-less repository
# created on the side lists the untracked files of SOURCE, excluding only what
# .funcignore matches (not what .gitignore matches: .python_packages must ship).
set -euo pipefail

if (($# < 1 || $# > 2)); then
  echo "Usage: $0 DESTINATION [SOURCE]" >&2
  exit 2
fi
source_dir="$(realpath "${2:-$(dirname "${BASH_SOURCE[0]}")/..}")"
destination="$(realpath -m "$1")"

if [[ ! -f ${source_dir}/.funcignore ]]; then
  echo "##vso[task.logissue type=error]${source_dir} has no .funcignore."
  exit 1
fi
if [[ $destination == "$source_dir" || $destination == "$source_dir"/* ]]; then
  echo "##vso[task.logissue type=error]The destination must be outside ${source_dir}."
  exit 1
fi
if [[ -e $destination && -n "$(ls -A "$destination")" ]]; then
  echo "##vso[task.logissue type=error]${destination} is not empty."
  exit 1
fi
mkdir -p "$destination"

workdir="$(mktemp -d)"
trap 'rm -rf "$workdir"' EXIT
git init --quiet "${workdir}/lister"
(
  cd "$source_dir"
  git --git-dir="${workdir}/lister/.git" --work-tree=. ls-files -z --others \
    --exclude-from=.funcignore >"${workdir}/files"
)
tar --create --file=- --directory="$source_dir" --null --files-from="${workdir}/files" |
  tar --extract --file=- --directory="$destination"

if [[ ! -f ${destination}/host.json ]] ||
  ! compgen -G "${destination}/*/function.json" >/dev/null; then
  echo "##vso[task.logissue type=error]The package has no host.json or no function: check .funcignore."
  exit 1
fi
count="$(tr -cd '\0' <"${workdir}/files" | wc -c)"
echo "Staged ${count} files from ${source_dir} in ${destination}."
