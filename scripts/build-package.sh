#!/usr/bin/env bash
# Build the function app's package: install the locked runtime dependencies into
# .python_packages/lib/site-packages for the platform that runs the app, whatever machine
# this runs on, then stage the package's files (stage-package.sh) in DESTINATION, ready to be
# zipped. The pipeline's build stage and the manual recipe in doc/deployment.md both run
# this script, so they ship the same files.
#
# The dependencies come from requirements.lock only (scripts/lock-requirements.sh makes it):
# every file's hash must match the lock (--require-hashes), nothing the lock does not name is
# installed (--no-deps), and only wheels built for Linux x86-64 and CPython 3.11
# (manylinux2014 or older, or pure Python) are accepted: nothing is compiled here, and a
# package without such a wheel fails the build rather than shipping something built for this
# machine.
#
# Usage: build-package.sh DESTINATION [SOURCE]
#   DESTINATION  an empty or new directory outside SOURCE
#   SOURCE       the app's root directory (default: this repository); its .python_packages
#                is replaced
#
# Environment: PYTHON, the Python whose pip installs (default python3; any Python 3.9 or
# later, since the target platform is given to pip). pip's own settings apply (PIP_CACHE_DIR,
# PIP_INDEX_URL).
set -euo pipefail
script_dir="$(dirname "${BASH_SOURCE[0]}")"
# shellcheck source=scripts/common.sh
source "${script_dir}/common.sh"

if (($# < 1 || $# > 2)); then
  echo "Usage: $0 DESTINATION [SOURCE]" >&2
  exit 2
fi
source_dir="$(realpath "${2:-${script_dir}/..}")"
lock="${source_dir}/requirements.lock"
if [[ ! -f $lock ]]; then
  error "${lock} is missing: run scripts/lock-requirements.sh."
  exit 1
fi

rm -rf "${source_dir}/.python_packages"
echo "Installing the locked runtime dependencies for Linux x86-64, CPython 3.11."
"${PYTHON:-python3}" -m pip install --disable-pip-version-check --no-input --quiet \
  --require-hashes --no-deps --only-binary=:all: \
  --platform manylinux2014_x86_64 --python-version 3.11 --implementation cp \
  --target "${source_dir}/.python_packages/lib/site-packages" --requirement "$lock"

"${script_dir}/stage-package.sh" "$1" "$source_dir"
