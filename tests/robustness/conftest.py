"""Robustness fixtures: Hypothesis profiles, the devhost with simulators, the run's tally."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

from tests.robustness.background import SlowSlackScenario
from tests.robustness.fuzzing import (
    LONG_FACTOR,
    LONG_RUN_VARIABLE,
    long_run,
    register_profiles,
    tally,
)
from tests.robustness.simhost import SimApp, sim_app
from tests.support.azurite import Azurite

register_profiles()
SLOW_SCENARIO_TEST = "test_slack_too_slow_during_notifications_is_retried"


def pytest_terminal_summary(terminalreporter: Any) -> None:
    """Print how many examples each property tried and how many faults were injected."""
    if not tally:
        return
    terminalreporter.section("robustness")
    if long_run():
        terminalreporter.write_line(f"long run ({LONG_RUN_VARIABLE}=1, budgets x{LONG_FACTOR})")
    else:
        terminalreporter.write_line(f"bounded run ({LONG_RUN_VARIABLE}=1 runs x{LONG_FACTOR})")
    for key, count in sorted(tally.items()):
        terminalreporter.write_line(f"{count:6d}  {key}")


@pytest.fixture(scope="module")
def app(azurite: Azurite, tmp_path_factory: pytest.TempPathFactory) -> Iterator[SimApp]:
    """The app on an in-process devhost with the simulators, shared by a module's tests."""
    with sim_app(azurite, tmp_path_factory.mktemp("devhost-state")) as running:
        yield running


@pytest.fixture
def sim(app: SimApp) -> SimApp:
    """The shared app, with the simulators and the storage proxy reset for this test."""
    app.reset()
    return app


@pytest.fixture(scope="package", autouse=True)
def slow_slack(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[SlowSlackScenario | None]:
    """The 10-second scenario, started with the package when a selected test checks it.

    Starting it first lets it run while the other tests do (see ``background.py``).
    """
    if not any(item.originalname == SLOW_SCENARIO_TEST for item in request.session.items):
        yield None
        return
    scenario = SlowSlackScenario(
        request.getfixturevalue("azurite"), tmp_path_factory.mktemp("slow-slack")
    )
    try:
        yield scenario
    finally:
        scenario.close()
