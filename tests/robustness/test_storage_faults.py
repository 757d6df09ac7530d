"""Storage failing during the access check, on both endpoints (in-process, real Azurite).

The recording proxy in front of Azurite answers 500, or holds every request without answering
("stalled"); "unreachable" is a connection string whose endpoint refuses connections. The
access check fails closed: the user is told access cannot be checked right now, nothing is
started, the error is logged, and the storage client makes one attempt, abandoned at the
request's deadline, well within Slack's 3 s.
"""

from __future__ import annotations

import time
from collections.abc import Callable

import azure.functions as func
import pytest

from devhost.standins.slack_requests import slack_headers, slash_command_body, view_submission_body
from devhost.standins.stub_server import Reply
from tests.robustness.checks import assert_secret_free, assert_slack_json, send
from tests.robustness.fuzzing import tally
from tests.robustness.simhost import view_text
from tests.support import constants
from tests.support.app_env import AppEnv
from tests.support.azurite import connection_string
from tests.support.logs import LogCapture

SLACK_LIMIT_SECONDS = 3.0
# Far beyond Slack's limit: only abandoning the read keeps the answer in time.
STALLED_SECONDS = 30.0
MAX_STORAGE_ATTEMPTS = 1
# Nothing listens on the discard port of the loopback interface: connections are refused.
UNREACHABLE = connection_string("http://127.0.0.1:9/devstoreaccount1")


def storage_500(env: AppEnv, monkeypatch: pytest.MonkeyPatch) -> None:
    env.blob_proxy.always(Reply(500, body=b"<Error><Code>InternalError</Code></Error>"))


def storage_stalled(env: AppEnv, monkeypatch: pytest.MonkeyPatch) -> None:
    env.blob_proxy.delay = STALLED_SECONDS


def storage_unreachable(env: AppEnv, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("AZURE_STORAGE_CONNECTION_STRING", UNREACHABLE)


FAULTS: dict[str, Callable[[AppEnv, pytest.MonkeyPatch], None]] = {
    "500": storage_500,
    "stalled": storage_stalled,
    "unreachable": storage_unreachable,
}


@pytest.fixture(params=sorted(FAULTS))
def kind(request: pytest.FixtureRequest, app_env: AppEnv, monkeypatch: pytest.MonkeyPatch) -> str:
    """The user is allowed, then storage breaks in each of the ways ``FAULTS`` names."""
    app_env.allow(constants.USER_ID)
    app_env.blob_proxy.clear()
    FAULTS[request.param](app_env, monkeypatch)
    return str(request.param)


def send_in_time(env: AppEnv, endpoint: str, body: bytes) -> func.HttpResponse:
    """Send a signed request; it is answered within Slack's 3 s."""
    started = time.monotonic()
    response = send(env, endpoint, body, slack_headers(constants.SLACK_SIGNING_SECRET, body))
    assert time.monotonic() - started < SLACK_LIMIT_SECONDS
    return response


def check_failed_closed(
    env: AppEnv, logs: LogCapture, kind: str, scenario: str, answers: list[str]
) -> None:
    """Nothing started or flushed, the error logged, no secret anywhere; tally the faults."""
    assert len(env.blob_proxy.requests()) <= MAX_STORAGE_ATTEMPTS
    assert env.durable_api.starts == []
    assert env.cache_flush.requests() == []
    assert any(
        r.levelname == "ERROR" and "Allowed-users list" in r.getMessage() for r in logs.records
    )
    if kind != "unreachable":
        assert env.blob_proxy.requests(), "the proxy saw the attempts"
    assert_secret_free(logs, answers, constants.SECRETS)
    tally["faults injected (answers replaced or delayed)"] += max(1, len(env.blob_proxy.requests()))
    tally["fault scenarios"] += 1
    tally[f"faults: {scenario}, storage {kind}"] += 1


def test_slash_command_with_storage_failing_shows_access_unavailable(
    app_env: AppEnv, captured_logs: LogCapture, kind: str
) -> None:
    response = send_in_time(app_env, "slash-start", slash_command_body())
    assert response.status_code == 200
    opened, updated = app_env.slack.calls()
    assert opened.method == "views.open"
    assert updated.method == "views.update"
    assert "could not be checked" in view_text(updated.args["view"])
    assert "callback_id" not in updated.args["view"], "no form: access fails closed"
    check_failed_closed(app_env, captured_logs, kind, "slash command", [])


def test_submission_with_storage_failing_shows_access_unavailable_and_starts_nothing(
    app_env: AppEnv, captured_logs: LogCapture, kind: str
) -> None:
    response = send_in_time(app_env, "orchestrator-client", view_submission_body())
    answer = assert_slack_json(response)
    assert answer["response_action"] == "update"
    assert "could not be checked" in view_text(answer["view"])
    assert app_env.slack.calls() == []
    check_failed_closed(app_env, captured_logs, kind, "submission", [response.get_body().decode()])
