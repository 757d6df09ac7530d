"""scripts/stage-package.sh: the package holds what .funcignore does not exclude."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tests.deploy.support import ROOT, output_of, run_script


def files_under(directory: Path) -> set[str]:
    return {p.relative_to(directory).as_posix() for p in directory.rglob("*") if p.is_file()}


def write(root: Path, relative: str, content: str = "x") -> None:
    path = root / relative
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(content)


@pytest.fixture
def app_tree(tmp_path: Path) -> Path:
    """A small app: two functions, a package, dependencies, and development clutter."""
    root = tmp_path / "app"
    write(
        root,
        ".funcignore",
        "\n".join(
            [".git*", ".venv/", "__pycache__/", "tests/", "*.md", "local.settings.json", "scripts/"]
        )
        + "\n",
    )
    write(root, ".gitignore", ".python_packages/\nlocal.settings.json\n")
    write(root, "host.json", json.dumps({"version": "2.0"}))
    write(root, "requirements.txt", "azure-functions==1.26.0\n")
    write(root, "slash_start/function.json", "{}")
    write(root, "slash_start/__init__.py")
    write(root, "slash_start/__pycache__/__init__.cpython-311.pyc")
    write(root, "shared/views.py")
    write(root, ".python_packages/lib/site-packages/slack_sdk/__init__.py")
    write(root, ".venv/bin/python")
    write(root, "tests/test_views.py")
    write(root, "scripts/deploy.sh")
    write(root, "README.md")
    write(root, "local.settings.json", "{}")
    write(root, "with space/name with space.txt")
    return root


def test_stages_exactly_what_funcignore_does_not_exclude(app_tree: Path, tmp_path: Path) -> None:
    destination = tmp_path / "staged"
    result = run_script("stage-package.sh", str(destination), str(app_tree))
    assert result.returncode == 0, output_of(result)
    assert files_under(destination) == {
        ".funcignore",
        "host.json",
        "requirements.txt",
        "slash_start/function.json",
        "slash_start/__init__.py",
        "shared/views.py",
        ".python_packages/lib/site-packages/slack_sdk/__init__.py",
        "with space/name with space.txt",
    }
    assert "Staged 8 files" in result.stdout


def test_gitignore_does_not_keep_the_dependencies_out(app_tree: Path, tmp_path: Path) -> None:
    destination = tmp_path / "staged"
    result = run_script("stage-package.sh", str(destination), str(app_tree))
    assert result.returncode == 0, output_of(result)
    assert (destination / ".python_packages/lib/site-packages/slack_sdk/__init__.py").is_file()


def test_a_git_checkout_of_the_app_stages_the_same(app_tree: Path, tmp_path: Path) -> None:
    (app_tree / ".git").mkdir()
    write(app_tree, ".git/config", "[core]\n")
    destination = tmp_path / "staged"
    result = run_script("stage-package.sh", str(destination), str(app_tree))
    assert result.returncode == 0, output_of(result)
    assert not any(name.startswith(".git/") for name in files_under(destination))


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


def test_refuses_an_app_without_funcignore(app_tree: Path, tmp_path: Path) -> None:
    (app_tree / ".funcignore").unlink()
    result = run_script("stage-package.sh", str(tmp_path / "staged"), str(app_tree))
    assert result.returncode == 1
    assert "has no .funcignore" in result.stdout


def test_refuses_a_package_without_functions(app_tree: Path, tmp_path: Path) -> None:
    write(app_tree, ".funcignore", "slash_start/\n")
    result = run_script("stage-package.sh", str(tmp_path / "staged"), str(app_tree))
    assert result.returncode == 1
    assert "no host.json or no function" in result.stdout


def test_needs_a_destination() -> None:
    result = run_script("stage-package.sh")
    assert result.returncode == 2
    assert "Usage:" in result.stderr


def test_the_repository_package_holds_the_app_and_nothing_for_development(tmp_path: Path) -> None:
    destination = tmp_path / "staged"
    result = run_script("stage-package.sh", str(destination))
    assert result.returncode == 0, output_of(result)
    staged = files_under(destination)
    functions = sorted(p.parent.name for p in ROOT.glob("*/function.json"))
    assert functions, "the app has functions"
    for folder in functions:
        assert f"{folder}/function.json" in staged
        assert f"{folder}/__init__.py" in staged
    assert {"host.json", "requirements.txt", "shared/settings.py"} <= staged
    top_level = {name.split("/", 1)[0] for name in staged}
    assert top_level.isdisjoint(
        {
            "tests",
            "scripts",
            "doc",
            "devhost",
            ".venv",
            "node_modules",
            ".git",
            "AzureResourceGroup",
            "azure-pipelines-templates",
            "azure-pipelines.yml",
            "slack-app-manifest.yml",
            "Makefile",
            "README.md",
            "local.settings.json",
            "requirements-dev.txt",
            "package.json",
        }
    )
    assert not any("__pycache__" in name for name in staged)
