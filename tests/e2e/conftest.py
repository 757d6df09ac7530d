"""Fixtures: each test starts its own ``python -m devhost --simulate`` processes on Azurite."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.e2e.launcher import AppLauncher
from tests.support.azurite import Azurite


@pytest.fixture
def launcher(azurite: Azurite, tmp_path: Path) -> Iterator[AppLauncher]:
    """Start devhost processes for this test; all are stopped when it ends, even on failure."""
    apps = AppLauncher(azurite, tmp_path)
    try:
        yield apps
    finally:
        apps.close()
