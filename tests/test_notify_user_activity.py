"""`notify_user_activity` against the Slack stand-in (doc/behaviour.md)."""

from __future__ import annotations

import time
from typing import Any

import pytest
from slack_sdk.errors import SlackApiError

import notify_user_activity
from devhost.simulate.faults import Fault
from devhost.standins.slack_requests import CHANNEL_ID, USER_ID
from devhost.standins.slack_stub import SlackCall
from devhost.standins.stub_server import Reply
from shared.handoffs import Notification
from shared.notify import DeliveryError
from shared.slack_api import BACKGROUND_MAX_RETRY_AFTER_SECONDS
from tests.support import constants
from tests.support.app_env import AppEnv
from tests.support.logs import LogCapture

VIEW_ID = "V0RESULT01"
VIEW = {
    "type": "modal",
    "callback_id": "flush_result",
    "title": {"type": "plain_text", "text": "Cache Flush"},
    "close": {"type": "plain_text", "text": "Close"},
    "blocks": [
        {"type": "section", "text": {"type": "mrkdwn", "text": "*Flushed 2 URLs* in staging"}}
    ],
}
TEXT = "Flushed 2 URLs in staging"
MESSAGE_TS = "1700000001.000200"
BLOCKS = [{"type": "section", "text": {"type": "mrkdwn", "text": "*Flushed 2 URLs* in staging"}}]


def view_request() -> dict[str, Any]:
    return Notification.update_view(VIEW_ID, VIEW).to_dict()


def message_request(channel: str) -> dict[str, Any]:
    return Notification.post_message(channel, {"text": TEXT, "blocks": BLOCKS}).to_dict()


def update_request(channel: str = CHANNEL_ID, ts: str = MESSAGE_TS) -> dict[str, Any]:
    return Notification.update_message(channel, ts, {"text": TEXT, "blocks": BLOCKS}).to_dict()


def assert_bearer_token(call: SlackCall) -> None:
    assert (call.headers.get("Authorization") or "").startswith("Bearer ")
    assert call.has_token(constants.SLACK_BOT_TOKEN), "the bot token is sent as a Bearer token"
    assert "token" not in call.args, "the token is not sent as an argument"


def assert_one_call(app_env: AppEnv, method: str, **args: Any) -> None:
    """Slack got one call, of `method`, with these arguments and the bot token."""
    [call] = app_env.slack.calls()
    assert call.method == method
    assert {name: call.args.get(name) for name in args} == args
    assert_bearer_token(call)


# --- delivery -------------------------------------------------------------------------------


def test_a_view_request_updates_the_view(app_env: AppEnv, captured_logs: LogCapture) -> None:
    result = notify_user_activity.main(view_request())
    assert result == {"delivered": True, "reason": None, "channel": None, "ts": None}
    assert_one_call(app_env, "views.update", view_id=VIEW_ID, view=VIEW)
    assert app_env.slack.view(VIEW_ID) is not None
    captured_logs.assert_no_secrets()


@pytest.mark.parametrize(
    "channel",
    [
        pytest.param(USER_ID, id="dm-to-a-user-id"),
        pytest.param(constants.SLACK_CHANNEL_NAME, id="channel-by-name"),
        pytest.param(CHANNEL_ID, id="channel-by-id"),
    ],
)
def test_a_message_request_posts_a_message(
    app_env: AppEnv, captured_logs: LogCapture, channel: str
) -> None:
    result = notify_user_activity.main(message_request(channel))
    assert result["delivered"] is True
    assert result["reason"] is None
    assert result["channel"], "Slack's channel ID of the posted message"
    assert result["ts"], "the posted message's timestamp, so it can be updated later"
    assert_one_call(app_env, "chat.postMessage", channel=channel, text=TEXT, blocks=BLOCKS)
    captured_logs.assert_no_secrets()


def test_a_message_update_replaces_the_message(app_env: AppEnv, captured_logs: LogCapture) -> None:
    ts = app_env.slack.post_message(CHANNEL_ID, "Flushing 2 URLs in staging")
    result = notify_user_activity.main(update_request(ts=ts))
    assert result == {"delivered": True, "reason": None, "channel": CHANNEL_ID, "ts": ts}
    assert_one_call(app_env, "chat.update", channel=CHANNEL_ID, ts=ts, text=TEXT, blocks=BLOCKS)
    updated = app_env.slack.message(CHANNEL_ID, ts)
    assert updated is not None
    assert updated["text"] == TEXT
    captured_logs.assert_no_secrets()


def test_a_posted_message_can_be_updated_where_it_landed(app_env: AppEnv) -> None:
    posted = notify_user_activity.main(message_request(constants.SLACK_CHANNEL_NAME))
    updated = notify_user_activity.main(update_request(posted["channel"], posted["ts"]))
    assert (updated["channel"], updated["ts"]) == (posted["channel"], posted["ts"])
    assert [call.method for call in app_env.slack.calls()] == ["chat.postMessage", "chat.update"]


def test_a_deleted_message_is_reported_not_raised(app_env: AppEnv) -> None:
    app_env.slack.reply("chat.update", Fault(error="message_not_found"))
    assert notify_user_activity.main(update_request()) == {
        "delivered": False,
        "reason": "message_not_found",
        "channel": None,
        "ts": None,
    }
    assert len(app_env.slack.calls()) == 1


# --- a closed view is not an error ----------------------------------------------------------


@pytest.mark.parametrize("error", ["not_found", "view_not_found"])
def test_a_closed_view_is_reported_not_raised(
    app_env: AppEnv, captured_logs: LogCapture, error: str
) -> None:
    app_env.slack.reply("views.update", Fault(error=error))
    assert notify_user_activity.main(view_request()) == {
        "delivered": False,
        "reason": error,
        "channel": None,
        "ts": None,
    }
    assert len(app_env.slack.calls()) == 1
    captured_logs.assert_no_secrets()


def test_a_view_the_stand_in_never_opened_is_reported_closed(app_env: AppEnv) -> None:
    app_env.slack.strict_views = True
    result = notify_user_activity.main(view_request())
    assert result["delivered"] is False
    assert result["reason"] == "not_found"


# --- other Slack errors raise ---------------------------------------------------------------


@pytest.mark.parametrize(
    ("request_for", "reply", "code"),
    [
        pytest.param(
            lambda: message_request("C0MISSING1"),
            Fault(error="channel_not_found"),
            "channel_not_found",
            id="message-channel-not-found",
        ),
        pytest.param(
            lambda: message_request(USER_ID),
            Fault(status=500),
            "internal_error",
            id="message-http-500",
        ),
        pytest.param(view_request, Fault(status=500), "internal_error", id="view-http-500"),
        pytest.param(
            update_request,
            Fault(error="cant_update_message"),
            "cant_update_message",
            id="update-not-the-bot-s-message",
        ),
        pytest.param(
            update_request,
            Fault(error="not_found"),
            "not_found",
            id="update-not-a-closed-view",
        ),
        pytest.param(
            view_request,
            Fault(error="invalid_arguments"),
            "invalid_arguments",
            id="view-invalid-arguments",
        ),
    ],
)
def test_other_slack_errors_raise(
    app_env: AppEnv, captured_logs: LogCapture, request_for: Any, reply: Fault | Reply, code: str
) -> None:
    request = request_for()
    method = Notification.from_dict(request).slack_method
    app_env.slack.reply(method, reply)
    with pytest.raises(DeliveryError, match=f"^{method}: Slack answered {code}$") as raised:
        notify_user_activity.main(request)
    assert isinstance(raised.value.__cause__, SlackApiError)
    assert len(app_env.slack.calls()) == 1
    assert constants.SLACK_BOT_TOKEN not in str(raised.value.__cause__)
    captured_logs.assert_no_secrets()


def test_a_wrong_token_raises(app_env: AppEnv, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("SLACK_BOT_USER_OAUTH_ACCESS_TOKEN", "xoxb-not-the-right-one")
    with pytest.raises(DeliveryError, match="invalid_auth"):
        notify_user_activity.main(message_request(USER_ID))


# --- rate limits ----------------------------------------------------------------------------


def test_one_rate_limit_answer_is_retried_after_retry_after(
    app_env: AppEnv, captured_logs: LogCapture
) -> None:
    app_env.slack.reply("chat.postMessage", Fault(status=429, retry_after=0))
    result = notify_user_activity.main(message_request(USER_ID))
    assert result["delivered"] is True
    calls = app_env.slack.calls()
    assert [call.method for call in calls] == ["chat.postMessage", "chat.postMessage"]
    assert calls[0].args == calls[1].args
    for call in calls:
        assert_bearer_token(call)
    captured_logs.assert_no_secrets()


@pytest.mark.parametrize("request_for", [view_request, lambda: message_request(USER_ID)])
def test_a_long_retry_after_fails_at_once_for_the_durable_retry(
    app_env: AppEnv, captured_logs: LogCapture, request_for: Any
) -> None:
    request = request_for()
    method = "views.update" if request["kind"] == "update_view" else "chat.postMessage"
    wait = BACKGROUND_MAX_RETRY_AFTER_SECONDS + 55
    app_env.slack.reply(method, Fault(status=429, retry_after=wait))
    started = time.monotonic()
    with pytest.raises(DeliveryError, match=f"^{method}: Slack answered "):
        notify_user_activity.main(request)
    assert time.monotonic() - started < BACKGROUND_MAX_RETRY_AFTER_SECONDS
    assert len(app_env.slack.calls()) == 1, "no sleep, no retry inside the activity"
    captured_logs.assert_no_secrets()


def test_a_notification_the_orchestrator_could_not_have_built_is_refused(app_env: AppEnv) -> None:
    with pytest.raises(ValueError, match="needs a channel"):
        notify_user_activity.main({**message_request(USER_ID), "channel": ""})
    assert app_env.slack.calls() == []
