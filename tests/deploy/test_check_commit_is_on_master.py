"""scripts/check-commit-is-on-master.sh, against real git repositories: a remote with master
and a branch nobody merged, and checkouts of it as the pipeline makes them."""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path

import pytest

from tests.deploy.support import SCRIPTS

GIT_ENV = {
    "GIT_AUTHOR_NAME": "Release Test",
    "GIT_AUTHOR_EMAIL": "release@example.org",
    "GIT_COMMITTER_NAME": "Release Test",
    "GIT_COMMITTER_EMAIL": "release@example.org",
    "GIT_CONFIG_GLOBAL": os.devnull,
    "GIT_CONFIG_NOSYSTEM": "1",
}


def git(cwd: Path, *args: str) -> str:
    result = subprocess.run(  # noqa: S603 - git with fixed arguments
        ["git", *args],  # noqa: S607
        cwd=cwd,
        env={"PATH": os.environ["PATH"], "HOME": str(cwd), **GIT_ENV},
        capture_output=True,
        text=True,
        check=True,
    )
    return result.stdout.strip()


def commit(work: Path, name: str) -> str:
    (work / name).write_text(name)
    git(work, "add", name)
    git(work, "commit", "--quiet", "-m", name)
    return git(work, "rev-parse", "HEAD")


@pytest.fixture
def remote(tmp_path: Path) -> dict[str, str]:
    """A bare 'origin' with two commits on master and one on an unmerged branch."""
    origin = tmp_path / "origin.git"
    work = tmp_path / "work"
    git(tmp_path, "init", "--quiet", "--bare", "--initial-branch=master", str(origin))
    git(tmp_path, "clone", "--quiet", str(origin), str(work))
    commits = {"first": commit(work, "first"), "merged": commit(work, "merged")}
    git(work, "push", "--quiet", "origin", "master")
    git(work, "checkout", "--quiet", "-b", "feature")
    commits["unmerged"] = commit(work, "unmerged")
    git(work, "push", "--quiet", "origin", "feature")
    git(work, "tag", "v1-unmerged", commits["unmerged"])
    git(work, "tag", "v1", commits["first"])
    git(work, "push", "--quiet", "origin", "--tags")
    return {"url": origin.as_uri(), **commits}


def checkout(tmp_path: Path, url: str, ref: str, depth: int | None = 1) -> Path:
    """A checkout of one tag, shallow by default (Azure Pipelines fetches depth 1)."""
    target = tmp_path / f"checkout-{ref}"
    options = ["--depth", str(depth)] if depth else []
    git(tmp_path, "clone", "--quiet", *options, "--branch", ref, url, str(target))
    return target


def check(repository: Path, **env: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(  # noqa: S603 - the project's own script
        [str(SCRIPTS / "check-commit-is-on-master.sh")],
        cwd=repository,
        env={"PATH": os.environ["PATH"], "HOME": str(repository), **GIT_ENV, **env},
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )


@pytest.mark.parametrize("depth", [1, None], ids=["shallow", "full"])
def test_a_tag_on_a_merged_commit_is_released(
    tmp_path: Path, remote: dict[str, str], depth: int | None
) -> None:
    repository = checkout(tmp_path, remote["url"], "v1", depth)
    result = check(repository, COMMIT=remote["first"])
    assert result.returncode == 0, result.stdout + result.stderr
    assert f"Commit {remote['first']} is on master." in result.stdout


def test_a_tag_on_an_unmerged_commit_is_refused(tmp_path: Path, remote: dict[str, str]) -> None:
    repository = checkout(tmp_path, remote["url"], "v1-unmerged")
    result = check(repository, COMMIT=remote["unmerged"])
    assert result.returncode == 1
    assert (
        f"##vso[task.logissue type=error]Commit {remote['unmerged']} is not on master: only "
        "merged commits are released." in result.stdout
    )


def test_another_main_branch_can_be_named(tmp_path: Path, remote: dict[str, str]) -> None:
    repository = checkout(tmp_path, remote["url"], "v1-unmerged")
    result = check(repository, COMMIT=remote["unmerged"], MAIN_BRANCH="feature")
    assert result.returncode == 0, result.stdout + result.stderr


def test_an_unknown_commit_is_refused(tmp_path: Path, remote: dict[str, str]) -> None:
    repository = checkout(tmp_path, remote["url"], "v1")
    result = check(repository, COMMIT="0" * 40)
    assert result.returncode == 1
    assert "is not in this repository" in result.stdout


def test_a_full_checkout_that_cannot_fetch_again_uses_its_own_copy(
    tmp_path: Path, remote: dict[str, str]
) -> None:
    merged = checkout(tmp_path, remote["url"], "v1", depth=None)
    unmerged = checkout(tmp_path, remote["url"], "v1-unmerged", depth=None)
    shutil.rmtree(tmp_path / "origin.git")
    result = check(merged, COMMIT=remote["first"])
    assert result.returncode == 0, result.stdout + result.stderr
    assert "using this checkout's origin/master" in result.stdout
    assert check(unmerged, COMMIT=remote["unmerged"]).returncode == 1


def test_a_shallow_checkout_that_cannot_fetch_fails(tmp_path: Path, remote: dict[str, str]) -> None:
    repository = checkout(tmp_path, remote["url"], "v1")
    shutil.rmtree(tmp_path / "origin.git")
    result = check(repository, COMMIT=remote["first"])
    assert result.returncode == 1
    assert "Could not fetch master from origin." in result.stdout


def test_a_missing_main_branch_is_an_error(tmp_path: Path, remote: dict[str, str]) -> None:
    repository = checkout(tmp_path, remote["url"], "v1")
    result = check(repository, COMMIT=remote["first"], MAIN_BRANCH="main")
    assert result.returncode == 1
    assert "Could not fetch main from origin." in result.stdout


@pytest.mark.parametrize("value", ["", "$(Build.SourceVersion)", "HEAD", "v1; rm -rf /"])
def test_the_commit_must_be_given_as_an_id(
    tmp_path: Path, remote: dict[str, str], value: str
) -> None:
    repository = checkout(tmp_path, remote["url"], "v1")
    result = check(repository, COMMIT=value)
    assert result.returncode == 1
    assert "COMMIT" in result.stdout
