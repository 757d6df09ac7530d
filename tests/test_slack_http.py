"""The first call out, made without slack-sdk: Slack's answers and the retry rules.

Each test calls `views.open` through `shared.slack_http` against the Slack stand-in on
127.0.0.1, with a trigger the stand-in issued, and checks what Slack received.
"""

from __future__ import annotations

import time

import pytest
from slack_sdk.errors import SlackApiError

from devhost.simulate.faults import Fault
from devhost.standins.slack_requests import new_trigger_id
from devhost.standins.stub_server import Reply
from shared import slack_api
from shared.deadline import Deadline
from shared.settings import load_settings
from shared.slack_http import (
    RedirectRefused,
    SlackCallFailed,
    call_view_method,
    error_code,
    view_id,
)
from shared.slash_command import checking_view
from tests.support import constants
from tests.support.app_env import AppEnv
from tests.support.logs import LogCapture

VIEW = checking_view()


def open_view(deadline_seconds: float = 2.5, *, waits: list[float] | None = None) -> str:
    """Open the checking view on a fresh trigger; the view's ID."""

    def while_waiting() -> None:
        if waits is not None:
            waits.append(time.monotonic())

    payload = {"trigger_id": new_trigger_id(constants.USER_ID), "view": VIEW}
    deadline = Deadline.after(deadline_seconds)
    answer = call_view_method(load_settings(), "views.open", payload, deadline, while_waiting)
    return view_id(answer)


def arrivals(app_env: AppEnv) -> list[float]:
    """When the stand-in received each views.open (monotonic seconds)."""
    return [r.received_at for r in app_env.slack.requests() if r.path.endswith("/views.open")]


def test_the_view_opens_with_the_token_and_the_view_as_json(app_env: AppEnv) -> None:
    opened = open_view()
    [call] = app_env.slack.calls("views.open")
    [request] = app_env.slack.requests()
    assert call.token == constants.SLACK_BOT_TOKEN
    assert request.header("Content-Type").startswith("application/json")
    assert call.args["view"] == VIEW
    assert app_env.slack.view(opened) is not None


def test_a_used_trigger_is_slacks_error_code(app_env: AppEnv) -> None:
    app_env.slack.reply("views.open", Fault(error="expired_trigger_id"))
    with pytest.raises(SlackCallFailed) as failed:
        open_view()
    assert error_code(failed.value) == "expired_trigger_id"
    assert len(app_env.slack.calls("views.open")) == 1, "an error answer is not retried"


def test_a_short_rate_limit_is_waited_out_once_with_the_list_read_meanwhile(
    app_env: AppEnv,
) -> None:
    app_env.slack.reply("views.open", Fault(status=429, retry_after=1))
    waits: list[float] = []
    open_view(waits=waits)
    first, second = arrivals(app_env)
    assert len(waits) == 1
    assert first < waits[0] < second
    assert second - first >= 1.0, "Retry-After is respected"


def test_a_rate_limit_without_retry_after_waits_a_second(app_env: AppEnv) -> None:
    app_env.slack.reply("views.open", Reply(status=429, json={"ok": False, "error": "ratelimited"}))
    open_view()
    first, second = arrivals(app_env)
    assert second - first >= 1.0


@pytest.mark.parametrize(
    ("retry_after", "deadline_seconds"),
    [pytest.param("30", 2.5, id="longer-than-a-second"), pytest.param("1", 1.2, id="no-room")],
)
def test_a_rate_limit_that_does_not_fit_fails_at_once(
    app_env: AppEnv, retry_after: str, deadline_seconds: float
) -> None:
    answer = Reply(
        status=429, json={"ok": False, "error": "ratelimited"}, headers={"Retry-After": retry_after}
    )
    app_env.slack.reply("views.open", answer)
    waits: list[float] = []
    with pytest.raises(SlackCallFailed, match="ratelimited"):
        open_view(deadline_seconds, waits=waits)
    assert len(app_env.slack.calls("views.open")) == 1
    assert waits == []


def test_a_dropped_connection_is_retried_once_at_once(app_env: AppEnv) -> None:
    app_env.slack.reply("views.open", Fault(drop=True))
    waits: list[float] = []
    assert open_view(waits=waits)
    assert len(app_env.slack.calls("views.open")) == 2
    assert waits == [], "no wait, so nothing is started to fill it"


def test_a_connection_dropped_twice_fails(app_env: AppEnv) -> None:
    app_env.slack.reply("views.open", Fault(drop=True), Fault(drop=True))
    with pytest.raises(ConnectionError) as failed:
        open_view()
    assert len(app_env.slack.calls("views.open")) == 2
    assert error_code(failed.value) == "connection_lost"


def test_a_slow_answer_times_out_within_the_deadline_and_is_not_retried(
    app_env: AppEnv,
) -> None:
    app_env.slack.reply("views.open", Fault(delay=6.0))
    started = time.monotonic()
    with pytest.raises(TimeoutError) as failed:
        open_view(0.5)
    assert error_code(failed.value) == "timeout"
    assert time.monotonic() - started < 3.0, "the answer is not waited out"
    app_env.slack.wait_for_calls(1, "views.open")
    assert len(app_env.slack.calls("views.open")) == 1


@pytest.mark.parametrize(
    ("reply", "code"),
    [
        pytest.param(Reply(status=502, body=b"<html>Bad gateway</html>"), "http_502", id="html"),
        pytest.param(Reply(status=200, body=b"not json"), "http_200", id="not-json"),
        pytest.param(Reply(status=500, json={"ok": False}), "http_500", id="no-error-code"),
        pytest.param(Reply(status=200, json={"ok": True}), "no_view_id", id="no-view"),
        pytest.param(Reply(status=200, json=["ok"]), "http_200", id="not-an-object"),
    ],
)
def test_an_unusable_answer_is_named_and_not_retried(
    app_env: AppEnv, captured_logs: LogCapture, reply: Reply, code: str
) -> None:
    app_env.slack.reply("views.open", reply)
    with pytest.raises(SlackCallFailed) as failed:
        open_view()
    assert failed.value.code == code
    assert len(app_env.slack.calls("views.open")) == 1
    captured_logs.assert_no_secrets()


# --- the same rate-limit rule on the slack-sdk client ----------------------------------------


@pytest.mark.parametrize(
    ("header", "slept"),
    [pytest.param({"Retry-After": "1"}, [1], id="named"), pytest.param({}, [1], id="absent")],
)
def test_the_slack_sdk_client_waits_exactly_the_retry_after(
    app_env: AppEnv, monkeypatch: pytest.MonkeyPatch, header: dict[str, str], slept: list[int]
) -> None:
    sleeps: list[float] = []
    monkeypatch.setattr(slack_api.time, "sleep", sleeps.append)
    answer = Reply(status=429, json={"ok": False, "error": "ratelimited"}, headers=header)
    app_env.slack.reply("chat.postMessage", answer)
    client = slack_api.web_client(
        load_settings(), 2, max_retry_after_seconds=slack_api.BACKGROUND_MAX_RETRY_AFTER_SECONDS
    )
    assert client.chat_postMessage(channel=constants.USER_ID, text="hello")["ok"] is True
    assert sleeps == slept, "no random extra on top of what Slack asked for"
    assert len(app_env.slack.calls("chat.postMessage")) == 2


def test_the_slack_sdk_client_does_not_retry_an_unreadable_retry_after(app_env: AppEnv) -> None:
    answer = Reply(
        status=429, json={"ok": False, "error": "ratelimited"}, headers={"Retry-After": "soon"}
    )
    app_env.slack.reply("chat.postMessage", answer)
    client = slack_api.web_client(
        load_settings(), 2, max_retry_after_seconds=slack_api.BACKGROUND_MAX_RETRY_AFTER_SECONDS
    )
    with pytest.raises(SlackApiError):
        client.chat_postMessage(channel=constants.USER_ID, text="hello")
    assert len(app_env.slack.calls("chat.postMessage")) == 1


@pytest.mark.parametrize(
    ("error", "name"),
    [
        pytest.param(TimeoutError("timed out"), "timeout", id="timeout"),
        pytest.param(ConnectionRefusedError(), "connection_lost", id="refused"),
        pytest.param(RedirectRefused("redirect"), "redirect_refused", id="redirect"),
        pytest.param(OSError("no route"), "network_error", id="network"),
    ],
)
def test_both_ways_of_calling_slack_name_a_failure_alike(error: Exception, name: str) -> None:
    assert error_code(error) == slack_api.error_code(error) == name
