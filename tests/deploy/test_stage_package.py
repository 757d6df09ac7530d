"""scripts/stage-package.sh: the package is built from an allowlist, then checked."""

from __future__ import annotations

import json
import re
import shutil
from pathlib import Path

import pytest

from tests.deploy.support import ROOT, SCRIPTS, output_of, run_script

FUNCTIONS = sorted(p.parent.name for p in ROOT.glob("*/function.json"))


def files_under(directory: Path) -> set[str]:
    return {p.relative_to(directory).as_posix() for p in directory.rglob("*") if p.is_file()}


def write(root: Path, relative: str, content: str = "x") -> None:
    path = root / relative
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(content)


APP_FILES = {
    "host.json",
    "requirements.txt",
    "shared/__init__.py",
    "shared/views.py",
    ".python_packages/lib/site-packages/slack_sdk/__init__.py",
    ".python_packages/lib/site-packages/somepackage/tests/test_it.py",
    *(f"{folder}/{name}" for folder in FUNCTIONS for name in ("function.json", "__init__.py")),
}


@pytest.fixture
def app_tree(tmp_path: Path) -> Path:
    """The app's files, its installed dependencies, and development clutter around them."""
    root = tmp_path / "app"
    for name in APP_FILES:
        write(root, name, json.dumps({"version": "2.0"}) if name == "host.json" else "x")
    write(root, "shared/__pycache__/views.cpython-311.pyc")
    for clutter in (
        ".env",
        ".funcignore",
        "local.settings.json",
        "tests/test_views.py",
        "devhost/run.py",
        "bench/run.py",
        "tools/new_dev_folder.py",
        "notes.txt",
        ".venv/bin/python",
    ):
        write(root, clutter)
    return root


def test_stages_exactly_the_allowlist(app_tree: Path, tmp_path: Path) -> None:
    destination = tmp_path / "staged"
    result = run_script("stage-package.sh", str(destination), str(app_tree))
    assert result.returncode == 0, output_of(result)
    assert files_under(destination) == APP_FILES
    assert f"Staged {len(APP_FILES)} files" in result.stdout


@pytest.mark.parametrize(
    "stray", ["shared/.env", "shared/tests/test_x.py", "slash_start/local.settings.json"]
)
def test_a_stray_file_inside_the_allowlist_fails_the_check(
    app_tree: Path, tmp_path: Path, stray: str
) -> None:
    write(app_tree, stray)
    result = run_script("stage-package.sh", str(tmp_path / "staged"), str(app_tree))
    assert result.returncode == 1
    assert f"Package: {stray}" in result.stdout


def test_the_dependencies_must_be_installed_first(app_tree: Path, tmp_path: Path) -> None:
    shutil.rmtree(app_tree / ".python_packages")
    result = run_script("stage-package.sh", str(tmp_path / "staged"), str(app_tree))
    assert result.returncode == 1
    assert "install the runtime dependencies first" in result.stdout


def test_a_missing_function_folder_fails(app_tree: Path, tmp_path: Path) -> None:
    shutil.rmtree(app_tree / FUNCTIONS[0])
    result = run_script("stage-package.sh", str(tmp_path / "staged"), str(app_tree))
    assert result.returncode == 1
    assert f"has no {FUNCTIONS[0]}" in result.stdout


def test_refuses_a_destination_inside_the_source(app_tree: Path) -> None:
    result = run_script("stage-package.sh", str(app_tree / "out"), str(app_tree))
    assert result.returncode == 1
    assert "must be outside" in result.stdout
    assert not (app_tree / "out").exists()


def test_refuses_a_destination_that_is_not_empty(app_tree: Path, tmp_path: Path) -> None:
    write(tmp_path / "staged", "old.zip")
    result = run_script("stage-package.sh", str(tmp_path / "staged"), str(app_tree))
    assert result.returncode == 1
    assert "is not empty" in result.stdout


def test_the_allowlist_names_every_function_folder() -> None:
    text = (SCRIPTS / "package-lib.sh").read_text()
    listed = re.search(r"package_functions=\(\n(.*?)\n\)", text, re.S).group(1).split()
    assert sorted(listed) == FUNCTIONS
    assert len(FUNCTIONS) == 9


def test_the_repository_package_holds_the_app_and_nothing_for_development(tmp_path: Path) -> None:
    source = tmp_path / "clone"
    shutil.copytree(
        ROOT,
        source,
        ignore=shutil.ignore_patterns(
            ".git", ".venv", "node_modules", ".hypothesis", "__pycache__", ".devhost", ".cache"
        ),
    )
    write(source, ".python_packages/lib/site-packages/slack_sdk/__init__.py")
    write(source, ".env", "SLACK_SIGNING_SECRET=local")
    destination = tmp_path / "staged"
    result = run_script("stage-package.sh", str(destination), str(source))
    assert result.returncode == 0, output_of(result)
    staged = files_under(destination)
    for folder in FUNCTIONS:
        assert f"{folder}/function.json" in staged
        assert f"{folder}/__init__.py" in staged
    assert {"host.json", "requirements.txt", "shared/settings.py"} <= staged
    top_level = {name.split("/", 1)[0] for name in staged}
    assert top_level == {*FUNCTIONS, "shared", "host.json", "requirements.txt", ".python_packages"}
    assert not any("__pycache__" in name for name in staged)
