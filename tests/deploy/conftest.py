"""Fixtures for the deployment tests."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from tests.deploy.support import Answer, FakeAz, LocalServer, Request


@pytest.fixture
def local_server() -> Iterator[Callable[[Callable[[Request], Answer]], LocalServer]]:
    """Start loopback HTTP servers for a test; each is stopped, and checked, afterwards."""
    servers: list[LocalServer] = []

    def start(handler: Callable[[Request], Answer]) -> LocalServer:
        server = LocalServer(handler).start()
        servers.append(server)
        return server

    yield start
    for server in servers:
        server.stop()
    for server in servers:
        assert not server.errors, server.errors


@pytest.fixture
def fake_az(tmp_path: Path) -> FakeAz:
    """An ``az`` command that records its calls; put ``fake_az.bin`` first on PATH."""
    return FakeAz(tmp_path)
