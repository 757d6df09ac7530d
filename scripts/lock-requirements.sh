#!/usr/bin/env bash
# Regenerate requirements.lock from requirements.txt: every runtime dependency, direct or
# not, pinned to one version with the SHA-256 hash of each of its files, resolved for the
# platform that runs the app (Linux x86-64, CPython 3.11, manylinux2014 wheels only). Run it
# after changing requirements.txt, and commit both files; the build installs from the lock
# alone (scripts/build-package.sh), so what ships changes only when the lock does.
#
# Needs uv (a pinned development dependency: make install provides .venv/bin/uv) and access
# to the package index. Environment: UV, the uv to run (default .venv/bin/uv).
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
uv="${UV:-${root}/.venv/bin/uv}"
cd "$root"
"$uv" pip compile requirements.txt \
  --python-version 3.11 --python-platform x86_64-manylinux2014 --only-binary :all: \
  --generate-hashes --custom-compile-command scripts/lock-requirements.sh \
  --output-file requirements.lock --quiet
echo "Wrote requirements.lock."
