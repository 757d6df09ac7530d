"""scripts/build-package.sh and requirements.lock: the package is built from the lock, for the
platform that runs the app, and holds nothing else.

The build installs the locked wheels that `make wheels` (part of `make test`) downloaded into
.cache/wheels, which git ignores: pip is told to use that folder and no index, so these tests
reach no network.
"""

from __future__ import annotations

import re
import shlex
import shutil
import sys
from collections.abc import Iterator
from email.parser import Parser
from pathlib import Path

import pytest
import yaml
from packaging.markers import default_environment
from packaging.requirements import Requirement
from packaging.tags import Tag, compatible_tags, cpython_tags, parse_tag
from packaging.utils import canonicalize_name

from tests.deploy.support import ROOT, output_of, run_script

LOCK = ROOT / "requirements.lock"
WHEELS = ROOT / ".cache" / "wheels"
SITE_PACKAGES = Path(".python_packages/lib/site-packages")
FUNCTIONS = sorted(p.parent.name for p in ROOT.glob("*/function.json"))
# What the Functions host on Flex Consumption runs: CPython 3.11 on Linux x86-64. A
# manylinux2014 wheel (glibc 2.17) or an older one runs there, as does pure Python.
MANYLINUX = [f"manylinux_2_{minor}_x86_64" for minor in range(17, 4, -1)] + [
    "manylinux2014_x86_64",
    "manylinux2010_x86_64",
    "manylinux1_x86_64",
]
TARGET_TAGS = {
    *cpython_tags((3, 11), platforms=MANYLINUX),
    *compatible_tags((3, 11), "cp311", platforms=MANYLINUX),
}
# The environment markers of the target, for the dependencies' own requirements.
TARGET_MARKERS = {
    **default_environment(),
    "implementation_name": "cpython",
    "platform_python_implementation": "CPython",
    "python_version": "3.11",
    "python_full_version": "3.11.0",
    "sys_platform": "linux",
    "platform_system": "Linux",
    "platform_machine": "x86_64",
    "os_name": "posix",
}


def locked() -> dict[str, str]:
    """The lock's pins: canonical name -> version."""
    pins = re.findall(r"^([A-Za-z0-9_.-]+)==([^ \\;]+)", LOCK.read_text(), re.M)
    return {canonicalize_name(name): version for name, version in pins}


def build_env() -> dict[str, str]:
    """pip told to install from the downloaded wheels only, never from an index."""
    if not (WHEELS / ".downloaded").exists():
        pytest.fail(f"{WHEELS} holds no downloaded wheels: run `make wheels` (part of `make test`)")
    return {
        "PIP_NO_INDEX": "1",
        "PIP_FIND_LINKS": str(WHEELS),
        "PIP_NO_CACHE_DIR": "1",
        "PYTHON": sys.executable,
    }


def clone_of_the_repository(destination: Path) -> Path:
    shutil.copytree(
        ROOT,
        destination,
        ignore=shutil.ignore_patterns(
            ".git", ".venv", "node_modules", ".cache", ".python_packages", "__pycache__",
            ".hypothesis", ".devhost", "test-artifacts", ".mypy_cache", ".pytest_cache",
        ),
    )  # fmt: skip
    return destination


@pytest.fixture(scope="module")
def staged(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The package as the pipeline builds it, from a copy of the repository."""
    work = tmp_path_factory.mktemp("build")
    source = clone_of_the_repository(work / "clone")
    destination = work / "staged"
    result = run_script(
        "build-package.sh", str(destination), str(source), env=build_env(), timeout=600
    )
    assert result.returncode == 0, output_of(result)
    return destination


def distributions(site_packages: Path) -> Iterator[Path]:
    yield from sorted(site_packages.glob("*.dist-info"))


def metadata(dist_info: Path) -> dict[str, list[str]]:
    message = Parser().parsestr((dist_info / "METADATA").read_text())
    return {key: message.get_all(key) or [] for key in ("Name", "Version", "Requires-Dist")}


def wheel_tags(dist_info: Path) -> set[Tag]:
    message = Parser().parsestr((dist_info / "WHEEL").read_text())
    return {tag for line in message.get_all("Tag") or [] for tag in parse_tag(line)}


def test_every_wheel_is_for_cpython_311_manylinux_x86_64_or_pure_python(staged: Path) -> None:
    site = staged / SITE_PACKAGES
    found = list(distributions(site))
    assert len(found) == len(locked())
    for dist_info in found:
        tags = wheel_tags(dist_info)
        assert tags & TARGET_TAGS, f"{dist_info.name}: {sorted(map(str, tags))}"
    native = [d for d in found if any(t.platform != "any" for t in wheel_tags(d))]
    assert native, "ada-url, cryptography and others ship compiled code"


def test_the_staged_dependencies_are_exactly_the_locked_ones(staged: Path) -> None:
    installed = {}
    for dist_info in distributions(staged / SITE_PACKAGES):
        fields = metadata(dist_info)
        installed[canonicalize_name(fields["Name"][0])] = fields["Version"][0]
    assert installed == locked()


def test_every_staged_dependency_file_belongs_to_a_locked_distribution(staged: Path) -> None:
    """The allowlist inside .python_packages: the files the locked wheels install. (pip
    --target moves console scripts, recorded as ../../bin/<name>, to <target>/bin.)"""
    site = staged / SITE_PACKAGES
    recorded: set[str] = set()
    for dist_info in distributions(site):
        for line in (dist_info / "RECORD").read_text().splitlines():
            recorded.add(line.rsplit(",", 2)[0].removeprefix("../../"))
    present = {p.relative_to(site).as_posix() for p in site.rglob("*") if p.is_file()}
    unrecorded = {p for p in present - recorded if "/__pycache__/" not in f"/{p}"}
    assert unrecorded == set()


def test_every_locked_dependency_has_what_it_requires(staged: Path) -> None:
    versions = locked()
    for dist_info in distributions(staged / SITE_PACKAGES):
        for line in metadata(dist_info)["Requires-Dist"]:
            requirement = Requirement(line)
            if requirement.marker and not requirement.marker.evaluate(
                {**TARGET_MARKERS, "extra": ""}
            ):
                continue
            name = canonicalize_name(requirement.name)
            assert name in versions, f"{dist_info.name} needs {requirement}"
            assert requirement.specifier.contains(versions[name], prereleases=True), (
                f"{dist_info.name} needs {requirement}, the lock has {versions[name]}"
            )


def test_the_staged_package_holds_the_allowlist_only(staged: Path) -> None:
    top_level = {p.name for p in staged.iterdir()}
    assert top_level == {*FUNCTIONS, "shared", "host.json", "requirements.txt", ".python_packages"}
    assert {p.name for p in (staged / ".python_packages").rglob("*") if p.is_dir()} >= {"lib"}
    assert [p.name for p in (staged / ".python_packages" / "lib").iterdir()] == ["site-packages"]


def test_a_file_that_does_not_match_its_hash_fails_the_build(tmp_path: Path) -> None:
    source = clone_of_the_repository(tmp_path / "clone")
    lock = source / "requirements.lock"
    text = lock.read_text()
    six = re.search(r"^six==.*?(?=^\S)", text, re.M | re.S).group(0)
    wrong = re.sub(r"sha256:[0-9a-f]{64}", "sha256:" + "0" * 64, six)
    lock.write_text(text.replace(six, wrong))
    result = run_script(
        "build-package.sh", str(tmp_path / "staged"), str(source), env=build_env(), timeout=600
    )
    assert result.returncode != 0
    assert "THESE PACKAGES DO NOT MATCH THE HASHES" in output_of(result)
    assert not (tmp_path / "staged").exists()


def test_the_build_needs_the_lock(tmp_path: Path) -> None:
    source = clone_of_the_repository(tmp_path / "clone")
    (source / "requirements.lock").unlink()
    result = run_script("build-package.sh", str(tmp_path / "staged"), str(source))
    assert result.returncode == 1
    assert "requirements.lock is missing: run scripts/lock-requirements.sh" in result.stdout


@pytest.mark.parametrize("script", ["build-package.sh", "stage-package.sh"])
def test_the_build_and_the_staging_need_a_destination(script: str) -> None:
    result = run_script(script)
    assert result.returncode == 2
    assert "Usage:" in result.stderr


# The lock and who uses it (no index needed)


def direct_requirements() -> list[Requirement]:
    lines = (ROOT / "requirements.txt").read_text().splitlines()
    return [Requirement(line) for line in lines if line.strip() and not line.startswith("#")]


def test_the_lock_pins_what_requirements_txt_pins_for_python_311() -> None:
    versions = locked()
    for requirement in direct_requirements():
        if requirement.marker and not requirement.marker.evaluate(TARGET_MARKERS):
            continue
        (pin,) = requirement.specifier
        assert pin.operator == "=="
        assert versions[canonicalize_name(requirement.name)] == pin.version, requirement


def test_every_locked_package_carries_hashes() -> None:
    entries = re.split(r"\n(?=\S)", LOCK.read_text().split("\n", 2)[2])
    assert len(entries) == len(locked())
    for entry in entries:
        assert re.search(r"--hash=sha256:[0-9a-f]{64}", entry), entry.splitlines()[0]


def test_the_lock_is_made_for_the_apps_platform() -> None:
    script = (ROOT / "scripts" / "lock-requirements.sh").read_text()
    assert "--python-version 3.11 --python-platform x86_64-manylinux2014" in script
    assert "--generate-hashes" in script
    assert "scripts/lock-requirements.sh" in LOCK.read_text().splitlines()[1]
    assert any(re.fullmatch(r"uv==[0-9.]+", line) for line in _dev_requirements())


def _dev_requirements() -> list[str]:
    return (ROOT / "requirements-dev.txt").read_text().splitlines()


def test_the_pipeline_and_the_manual_recipe_build_with_the_same_script() -> None:
    pipeline = yaml.safe_load((ROOT / "azure-pipelines.yml").read_text())
    (job,) = pipeline["stages"][0]["jobs"]
    builds = [s["script"] for s in job["steps"] if "build-package.sh" in s.get("script", "")]
    assert [shlex.split(b)[0] for b in builds] == ["scripts/build-package.sh"]
    assert not any("pip install" in s.get("script", "") for s in job["steps"][3:])
    guide = (ROOT / "doc" / "deployment.md").read_text()
    recipe = guide.split("## Deploying by hand with the az CLI", 1)[1].split("\n## ", 1)[0]
    assert "scripts/build-package.sh /tmp/cache-flush-slack-app" in recipe
    assert "pip install" not in recipe
