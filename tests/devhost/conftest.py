"""Fixtures: in-process devhosts for the toy apps, on one long-lived event loop."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path

import pytest

from devhost import DevHost, create_host
from devhost.config import TimerLimits
from tests.devhost.toolkit import LoopThread, ToyClient

HERE = Path(__file__).parent


@dataclass(frozen=True)
class RunningHost:
    host: DevHost
    client: ToyClient
    work_dir: Path


@pytest.fixture(scope="session")
def loop_thread() -> LoopThread:
    """The one event loop every in-process host of the run shares (as the worker's does)."""
    return LoopThread()


# Azure Storage's 6 and 3 days, scaled down so that long timers run in seconds.
SHORT_TIMER_LIMITS = TimerLimits(
    max_short_timer=timedelta(seconds=1), long_timer_interval=timedelta(milliseconds=400)
)


def _run(
    loop_thread: LoopThread,
    tmp_path_factory: pytest.TempPathFactory,
    name: str,
    timer_limits: TimerLimits | None = None,
) -> Iterator[RunningHost]:
    root = HERE / name
    work_dir = tmp_path_factory.mktemp(f"{name}-work")
    host = create_host(root, work_dir / "state", port=0, timer_limits=timer_limits)
    loop_thread.run(host.start())
    try:
        yield RunningHost(host=host, client=ToyClient(host.base_url), work_dir=work_dir)
    finally:
        loop_thread.run(host.stop())


@pytest.fixture(scope="session")
def toy(loop_thread: LoopThread, tmp_path_factory: pytest.TempPathFactory) -> Iterator[RunningHost]:
    """devhost serving the toy app in ``toyapp/`` (default host.json: AnyState)."""
    yield from _run(loop_thread, tmp_path_factory, "toyapp")


@pytest.fixture(scope="session")
def strict(
    loop_thread: LoopThread, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[RunningHost]:
    """devhost serving ``strictapp/``, whose host.json says NonRunningStates."""
    yield from _run(loop_thread, tmp_path_factory, "strictapp")


@pytest.fixture(scope="session")
def toy_long_timers(
    loop_thread: LoopThread, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[RunningHost]:
    """devhost serving ``toyapp/`` with timers over 1 s run as a chain of 0.4 s timers."""
    yield from _run(loop_thread, tmp_path_factory, "toyapp", SHORT_TIMER_LIMITS)
