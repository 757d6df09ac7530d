"""The deployment guide and the architecture decision records: links, paths, format, numbering."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from tests.deploy.support import ROOT

ADR_DIRECTORY = ROOT / "doc" / "adr"
ADRS = sorted(ADR_DIRECTORY.glob("[0-9][0-9][0-9][0-9]-*.md"))
DOCS = [ROOT / "doc" / "deployment.md", *ADRS]
LINK = re.compile(r"\]\(([^)\s]+)\)")


def slug(heading: str) -> str:
    """GitHub's anchor for a heading."""
    text = re.sub(r"[^\w\- ]", "", heading.strip().lower())
    return text.replace(" ", "-")


def anchors(path: Path) -> set[str]:
    return {
        slug(line.lstrip("#")) for line in path.read_text().splitlines() if line.startswith("#")
    }


@pytest.mark.parametrize("document", DOCS, ids=lambda p: p.name)
def test_relative_links_lead_somewhere(document: Path) -> None:
    for target in LINK.findall(document.read_text()):
        if target.startswith(("http://", "https://", "mailto:")):
            continue
        file_part, _, anchor = target.partition("#")
        linked = (document.parent / file_part).resolve() if file_part else document
        assert linked.exists(), f"{document.name}: {target}"
        if anchor:
            assert anchor in anchors(linked), f"{document.name}: {target}"


def test_the_decisions_are_recorded_in_order() -> None:
    assert [p.name[:4] for p in ADRS] == [f"{n:04d}" for n in range(1, len(ADRS) + 1)]
    assert len(ADRS) >= 7
    assert ADRS[0].name == "0001-record-architecture-decisions.md"


@pytest.mark.parametrize("record", ADRS, ids=lambda p: p.name)
def test_records_follow_the_nygard_format(record: Path) -> None:
    lines = record.read_text().splitlines()
    number = int(record.name[:4])
    assert re.fullmatch(rf"# {number}\. \S.*", lines[0]), lines[0]
    headings = [line for line in lines if line.startswith("## ")]
    assert headings == ["## Status", "## Context", "## Decision", "## Consequences"]
    status = lines[lines.index("## Status") + 2]
    assert status.startswith(("Accepted", "Proposed", "Superseded", "Deprecated"))


def test_the_readme_points_to_the_guide_and_the_records() -> None:
    readme = (ROOT / "README.md").read_text()
    assert "doc/deployment.md" in readme
    assert "doc/adr/" in readme


REPOSITORY_PATH = re.compile(r"`([\w.-]+(?:/[\w.-]+)+/?)`")
TOP_LEVEL = {path.name for path in ROOT.iterdir()}


@pytest.mark.parametrize(
    "document", sorted((ROOT / "doc").glob("*.md")) + ADRS, ids=lambda p: p.name
)
def test_every_repository_path_a_document_names_exists(document: Path) -> None:
    """A path like `shared/access.py` in a document must exist; other slashes are not paths."""
    named = {
        m for m in REPOSITORY_PATH.findall(document.read_text()) if m.split("/")[0] in TOP_LEVEL
    }
    missing = sorted(path for path in named if not (ROOT / path).exists())
    assert not missing, f"{document.name} names paths that do not exist: {missing}"


def test_every_section_of_the_behaviour_page_names_the_tests_that_prove_it() -> None:
    text = (ROOT / "doc" / "behaviour.md").read_text(encoding="utf-8")
    sections = re.split(r"(?m)^## ", text)[1:]
    assert sections
    for section in sections:
        title = section.splitlines()[0]
        proved = re.findall(r"(?m)^\*\*Proved by:\*\* (.+)$", section)
        assert len(proved) == 1, f"{title!r} has no single 'Proved by' line"
        named = re.findall(r"`(tests/[^`]+\.py)`", proved[0])
        assert named, f"{title!r} names no test file"
        missing = [path for path in named if not (ROOT / path).is_file()]
        assert not missing, f"{title!r} names missing tests: {missing}"
