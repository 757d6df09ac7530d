"""`/sim/settings`: the approval settings, and the approval timeout changed at run time."""

from __future__ import annotations

import pytest

from shared import settings
from shared.settings import load_settings
from tests.devhost_simulate.conftest import SimServer

BASE = {
    settings.APPROVAL_REQUIRED_ENVIRONMENTS: "Production",
    settings.APPROVAL_CHANNEL: "cache-flush-approvals",
}


@pytest.fixture
def approvals(server: SimServer, monkeypatch: pytest.MonkeyPatch) -> SimServer:
    """The server, with approvals on for production and the app's default timeout."""
    for name, value in BASE.items():
        monkeypatch.setitem(server.environ, name, value)
    # Set before it is removed, so whatever timeout a test sets is removed again afterwards.
    monkeypatch.setitem(server.environ, settings.APPROVAL_TIMEOUT_MINUTES, "")
    monkeypatch.delitem(server.environ, settings.APPROVAL_TIMEOUT_MINUTES)
    return server


def test_settings_say_what_needs_approval_and_the_timeout(approvals: SimServer) -> None:
    assert approvals.client.get("/sim/settings") == {
        "approval_required_environments": ["production"],
        "approval_channel": "cache-flush-approvals",
        "approval_timeout_minutes": 60.0,
    }


def test_the_approval_timeout_changes_what_the_app_reads_next(approvals: SimServer) -> None:
    answer = approvals.client.post("/sim/settings", {"approval_timeout_minutes": 0.5})
    assert answer["approval_timeout_minutes"] == 0.5
    assert approvals.environ[settings.APPROVAL_TIMEOUT_MINUTES] == "0.5"
    # The app's own parser reads the new value from the same environment.
    app_environ = {name: "x" for name in settings.REQUIRED} | dict(approvals.environ)
    app_environ[settings.FLUSH_ALLOWED_DOMAINS] = "nhs.uk"
    assert load_settings(app_environ).approval_timeout_minutes == 0.5


@pytest.mark.parametrize(
    "body",
    [
        {"approval_timeout_minutes": 0},
        {"approval_timeout_minutes": 20_000},
        {"approval_timeout_minutes": "5"},
        {"approval_timeout_minutes": True},
        {"approval_timeout_minutes": None},
        {"approval_required_environments": "staging"},
    ],
)
def test_only_a_timeout_in_the_apps_range_is_accepted(approvals: SimServer, body: dict) -> None:
    response = approvals.post("/sim/settings", body)
    assert response.status_code == 400
    assert settings.APPROVAL_TIMEOUT_MINUTES not in approvals.environ
    assert approvals.environ[settings.APPROVAL_REQUIRED_ENVIRONMENTS] == "Production"
