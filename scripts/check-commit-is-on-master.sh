#!/usr/bin/env bash
# Fail unless the commit being deployed is on the main branch: staging and production only
# ever run reviewed, merged code. A tag can be pushed on any commit (a branch nobody
# reviewed, a fork's commit fetched locally); this check stops such a release before Vault
# is read or anything is deployed. Run it in the checked-out repository.
#
# Environment:
#   COMMIT       the commit being deployed (the pipeline passes $(Build.SourceVersion))
#   MAIN_BRANCH  the branch releases come from (default master)
#   REMOTE       the remote to fetch it from (default origin)
set -euo pipefail
# shellcheck source=scripts/common.sh
source "$(dirname "${BASH_SOURCE[0]}")/common.sh"

require_each COMMIT
branch="${MAIN_BRANCH:-master}"
remote="${REMOTE:-origin}"
if [[ ! $COMMIT =~ ^[0-9a-f]{7,64}$ ]]; then
  error "COMMIT must be a commit id, not '${COMMIT}'."
  exit 1
fi

# The checkout may be shallow or hold only the tag: fetch the branch's whole history. When the
# remote cannot be reached again (a checkout that did not keep its credentials), a full
# checkout's own copy of the branch will do: the branch only moves forward.
tracking="refs/remotes/${remote}/${branch}"
fetch=(git fetch --quiet --no-tags "$remote" "+refs/heads/${branch}:${tracking}")
shallow="$(git rev-parse --is-shallow-repository)"
if [[ $shallow == true ]]; then
  fetch+=(--unshallow)
fi
if ! "${fetch[@]}"; then
  if [[ $shallow == true ]] || ! git rev-parse --verify --quiet "$tracking" >/dev/null; then
    error "Could not fetch ${branch} from ${remote}."
    exit 1
  fi
  echo "Could not fetch ${branch} from ${remote}: using this checkout's ${remote}/${branch}."
fi
if ! git cat-file -e "${COMMIT}^{commit}" 2>/dev/null; then
  error "Commit ${COMMIT} is not in this repository."
  exit 1
fi
if ! git merge-base --is-ancestor "$COMMIT" "$tracking"; then
  error "Commit ${COMMIT} is not on ${branch}: only merged commits are released. Tag a commit of ${branch}."
  exit 1
fi
echo "Commit ${COMMIT} is on ${branch}."
