"""scripts/get-pr-number.sh: the merged pull request's number, from the commit message."""

import pytest

from tests.deploy.support import output_of, run_script

COMMAND = "##vso[task.setvariable variable=PR_NUMBER;isOutput=true]"


def pr_number(result) -> str:
    assert result.returncode == 0, output_of(result)
    commands = [line for line in result.stdout.splitlines() if line.startswith("##vso[")]
    assert len(commands) == 1, result.stdout
    assert commands[0].startswith(COMMAND)
    return commands[0][len(COMMAND) :]


@pytest.mark.parametrize(
    ("message", "expected"),
    [
        ("Merge pull request #123 from nhsuk/feature/flush", "123"),
        ("Merge pull request #7 from nhsuk/fix-#99-bug", "7"),
        ("Add channel notifications (#45)", "45"),
        ("Fix #12 by trimming URLs (#46)", "46"),
        ("Add channel notifications (#45)   ", "45"),
        ("Merged PR 88: Update dependencies", "88"),
        ("Merge pull request #0042 from nhsuk/zeros", "42"),
        ("Merge pull request #51 from nhsuk/x\n\nCloses #3 and #4", "51"),
        ("Merge pull request #52 from nhsuk/x\r\n\r\nbody", "52"),
        ("Tidy the README\n\nMerge pull request #9 from nhsuk/y", "0"),
        ("Fix #12: trim URLs", "0"),
        ('Revert "Merge pull request #12 from nhsuk/x"', "0"),
        ("Merge branch 'master' into feature", "0"),
        ("Release 1.2.0", "0"),
        ("Merge pull request #abc from nhsuk/x", "0"),
        ("(#0)", "0"),
        ("", "0"),
    ],
)
def test_pull_request_number_from_the_commit_message(message: str, expected: str) -> None:
    assert pr_number(run_script("get-pr-number.sh", message)) == expected


def test_reads_the_message_from_the_pipeline_variable_without_an_argument() -> None:
    result = run_script(
        "get-pr-number.sh", env={"BUILD_SOURCEVERSIONMESSAGE": "Merge pull request #314 from a/b"}
    )
    assert pr_number(result) == "314"


def test_an_explicit_argument_wins_over_the_pipeline_variable() -> None:
    result = run_script(
        "get-pr-number.sh",
        "Release 2.0.0",
        env={"BUILD_SOURCEVERSIONMESSAGE": "Merge pull request #314 from a/b"},
    )
    assert pr_number(result) == "0"


def test_no_message_at_all_means_no_pull_request() -> None:
    assert pr_number(run_script("get-pr-number.sh")) == "0"


def test_a_message_cannot_smuggle_logging_commands_into_the_log() -> None:
    message = "##vso[task.setvariable variable=PR_NUMBER;isOutput=true]999 (#5)"
    result = run_script("get-pr-number.sh", message)
    assert pr_number(result) == "5"
    assert "999" not in result.stdout
