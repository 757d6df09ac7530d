#!/usr/bin/env bash
# Find the pull request a commit on the integration branch was merged from, and hand its
# number to later jobs as the output variable PR_NUMBER (0 when there is none), so the
# pipeline can delete that pull request's review environment.
#
# Usage: get-pr-number.sh ["<commit message>"]
#   Without an argument the message is read from BUILD_SOURCEVERSIONMESSAGE, which Azure
#   Pipelines sets to the first line of the commit message.
#
# Only the first line is examined, and only these forms count (first match wins):
#   Merge pull request #123 from owner/branch    GitHub merge commit
#   Some title (#123)                            GitHub squash or rebase merge
#   Merged PR 123: Some title                    Azure Repos merge
# A bare "#123" elsewhere (an issue reference, a revert) does not.
set -euo pipefail

message="${1-${BUILD_SOURCEVERSIONMESSAGE-}}"
first_line="${message%%$'\n'*}"
first_line="${first_line%$'\r'}"

merge_commit='^Merge pull request #([0-9]{1,9})([^0-9]|$)'
squash_merge='\(#([0-9]{1,9})\)[[:space:]]*$'
azure_repos_merge='^Merged PR ([0-9]{1,9}):'

number=0
if [[ $first_line =~ $merge_commit || $first_line =~ $squash_merge || $first_line =~ $azure_repos_merge ]]; then
  number=$((10#${BASH_REMATCH[1]}))
fi

# The message itself is not echoed: it is free text, and a line holding "##vso[" would be
# obeyed by the agent as a command.
if ((number > 0)); then
  echo "The commit was merged from pull request ${number}."
else
  echo "The commit was not merged from a pull request; PR_NUMBER is 0."
fi
echo "##vso[task.setvariable variable=PR_NUMBER;isOutput=true]${number}"
