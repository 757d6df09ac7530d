"""Slack's 3-second clock on both HTTP paths, whatever storage or Slack do.

Storage here is a TCP server that accepts connections and never answers; Slack is the
stand-in, slowed where a test says. Each endpoint is timed from the caller's side.
"""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from typing import Any

import azure.functions as func
import pytest

import orchestrator_client
import slash_start
from devhost.simulate.faults import Fault
from devhost.standins.slack_requests import (
    SLACK_SIGNING_SECRET,
    USER_ID,
    slack_headers,
    slash_command_body,
    view_submission_body,
)
from tests.support.app_env import AppEnv
from tests.support.logs import LogCapture
from tests.support.loop import run
from tests.support.requests import http_request
from tests.support.stalled_server import StalledServer
from tests.support.waiting import wait_until

USER = USER_ID
# Slack gives up after 3 s; the app's own budget is 2.5 s from arrival.
ANSWERED_WITHIN_SECONDS = 2.8
UNAVAILABLE_TEXT = "could not be checked"
# Short enough to expire quickly, long enough that ten of them outlast the second request.
SHORT_CACHE_SECONDS = 0.3


def timed_slash_command(text: str = "") -> tuple[func.HttpResponse, float]:
    body = slash_command_body(user_id=USER, text=text)
    request = http_request("slash-start", body, slack_headers(SLACK_SIGNING_SECRET, body))
    started = time.monotonic()
    response = slash_start.main(request)
    return response, time.monotonic() - started


def timed_submission(env: AppEnv, view_id: str = "V0DEADLINE") -> tuple[dict[str, Any], float]:
    body = view_submission_body(urls_text="https://www.nhs.uk/a", view_id=view_id)
    headers = slack_headers(SLACK_SIGNING_SECRET, body)
    request = http_request("orchestrator-client", body, headers)
    started = time.monotonic()
    response = run(orchestrator_client.main(request, env.durable_client_binding))
    elapsed = time.monotonic() - started
    assert response.status_code == 200
    return json.loads(response.get_body()), elapsed


def view_text(view: dict[str, Any]) -> str:
    return json.dumps(view)


@pytest.fixture
def stalled(app_env: AppEnv, monkeypatch: pytest.MonkeyPatch) -> Iterator[StalledServer]:
    """The user is on the list in Azurite, but the app reads from storage that never answers."""
    app_env.allow(USER)
    with StalledServer() as server:
        monkeypatch.setenv("AZURE_STORAGE_CONNECTION_STRING", server.blob_connection_string)
        yield server


def test_slash_command_with_stalled_storage_shows_access_unavailable_in_time(
    app_env: AppEnv, stalled: StalledServer, captured_logs: LogCapture
) -> None:
    response, elapsed = timed_slash_command()
    assert response.status_code == 200
    assert elapsed < ANSWERED_WITHIN_SECONDS, f"answered after {elapsed:.2f} s"
    opened, updated = app_env.slack.calls()
    assert opened.method == "views.open"
    assert updated.method == "views.update"
    assert UNAVAILABLE_TEXT in view_text(updated.args["view"])
    assert "callback_id" not in updated.args["view"], "no form: access fails closed"
    assert stalled.connections >= 1, "the app did ask storage"
    assert app_env.durable_api.starts == []
    assert any(
        r.levelname == "ERROR" and "Allowed-users list" in r.getMessage()
        for r in captured_logs.records
    )


def test_a_slow_views_open_leaves_less_time_but_the_deadline_holds(
    app_env: AppEnv, stalled: StalledServer
) -> None:
    app_env.slack.reply("views.open", Fault(delay=1.2))
    response, elapsed = timed_slash_command()
    assert response.status_code == 200
    assert elapsed < ANSWERED_WITHIN_SECONDS, f"answered after {elapsed:.2f} s"
    _, updated = app_env.slack.calls()
    assert UNAVAILABLE_TEXT in view_text(updated.args["view"])


def test_a_stalled_views_update_does_not_hold_the_answer(app_env: AppEnv) -> None:
    app_env.allow(USER)
    app_env.slack.always("views.update", Fault(delay=30))
    app_env.slack.always("chat.postMessage", Fault(delay=30))
    response, elapsed = timed_slash_command()
    assert response.status_code == 200
    assert elapsed < ANSWERED_WITHIN_SECONDS, f"answered after {elapsed:.2f} s"


def test_submission_with_stalled_storage_answers_access_unavailable_and_starts_nothing(
    app_env: AppEnv, stalled: StalledServer
) -> None:
    answer, elapsed = timed_submission(app_env)
    assert elapsed < ANSWERED_WITHIN_SECONDS, f"answered after {elapsed:.2f} s"
    assert answer["response_action"] == "update"
    assert UNAVAILABLE_TEXT in view_text(answer["view"])
    assert stalled.connections >= 1
    assert app_env.durable_api.requests() == [], "no status query and no start"
    assert app_env.slack.calls() == []


def test_storage_that_answers_after_the_deadline_never_starts_a_flush(app_env: AppEnv) -> None:
    app_env.allow(USER)
    app_env.blob_proxy.delay = 2.6
    answer, elapsed = timed_submission(app_env)
    assert elapsed < ANSWERED_WITHIN_SECONDS, f"answered after {elapsed:.2f} s"
    assert UNAVAILABLE_TEXT in view_text(answer["view"])
    # The abandoned read still completes; it may fill the cache, never start anything.
    wait_until(
        lambda: any(r.response_status == 206 for r in app_env.blob_proxy.requests()),
        "the late storage answer",
    )
    assert app_env.durable_api.requests() == []


def test_a_cached_list_is_served_while_storage_stalls(
    app_env: AppEnv, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("ALLOWED_USERS_CACHE_SECONDS", str(SHORT_CACHE_SECONDS))
    app_env.allow(USER)
    answer, _ = timed_submission(app_env, view_id="V0FIRST001")
    assert "being processed" in view_text(answer["view"])
    due = time.monotonic() + SHORT_CACHE_SECONDS
    app_env.blob_proxy.delay = 30
    wait_until(lambda: time.monotonic() > due, "the cache time to pass")
    reads_before = len(app_env.blob_proxy.requests())
    answer, elapsed = timed_submission(app_env, view_id="V0SECOND01")
    assert elapsed < ANSWERED_WITHIN_SECONDS, f"answered after {elapsed:.2f} s"
    assert "being processed" in view_text(answer["view"]), "the cached copy may still be used"
    assert len(app_env.blob_proxy.requests()) == reads_before + 1, "a refresh was attempted"
    assert len(app_env.durable_api.accepted_starts()) == 2
