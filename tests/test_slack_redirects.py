"""No call to Slack follows a redirect: the bot token goes to the configured host only.

The configured Slack stand-in on 127.0.0.1 answers with a redirect to a second stand-in on
another port; that one must receive nothing, so neither the request nor its Authorization
header ever leaves for the redirect's target.
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from devhost.simulate.faults import Fault
from devhost.standins.slack_stub import SlackStub
from devhost.standins.stub_server import Reply
from shared.access import Access, AccessChecker, Permission
from shared.deadline import Deadline
from shared.settings import load_settings
from shared.slack_api import BACKGROUND_MAX_RETRY_AFTER_SECONDS, web_client
from shared.slack_http import RedirectRefused, call_view_method
from tests.support import constants
from tests.support.app_env import AppEnv
from tests.support.logs import LogCapture

GROUP = "S0FLUSHERS"
USER = "U0GROUPIE1"


@pytest.fixture
def elsewhere() -> Iterator[SlackStub]:
    """A second Slack stand-in, the redirect's target, that accepts the same token."""
    with SlackStub(token=constants.SLACK_BOT_TOKEN) as stub:
        yield stub


def redirect(app_env: AppEnv, method: str, target: SlackStub, status: int) -> None:
    location = f"{target.origin}/api/{method}"
    app_env.slack.always(method, Reply(status=status, headers={"Location": location}))


@pytest.mark.parametrize("status", [301, 302, 303, 307, 308])
def test_a_redirect_is_refused_and_its_target_sees_no_request(
    app_env: AppEnv, elsewhere: SlackStub, captured_logs: LogCapture, status: int
) -> None:
    redirect(app_env, "chat.postMessage", elsewhere, status)
    client = web_client(
        load_settings(), 5, max_retry_after_seconds=BACKGROUND_MAX_RETRY_AFTER_SECONDS
    )
    with pytest.raises(RedirectRefused, match=f"redirect \\(HTTP {status}\\)"):
        client.chat_postMessage(channel="U0ANN0001", text="hello")
    assert len(app_env.slack.calls("chat.postMessage")) == 1
    assert elsewhere.requests() == [], "the redirect's target received the request"
    captured_logs.assert_no_secrets()


@pytest.mark.parametrize("status", [301, 302, 307, 308])
def test_the_first_call_refuses_a_redirect_too(
    app_env: AppEnv, elsewhere: SlackStub, captured_logs: LogCapture, status: int
) -> None:
    redirect(app_env, "views.open", elsewhere, status)
    with pytest.raises(RedirectRefused, match=f"redirect \\(HTTP {status}\\)"):
        call_view_method(
            load_settings(), "views.open", {"trigger_id": "1.2.3"}, Deadline.for_slack_request()
        )
    assert len(app_env.slack.calls("views.open")) == 1, "a redirect is not retried"
    assert elsewhere.requests() == [], "the redirect's target received the request"
    captured_logs.assert_no_secrets()


def test_the_user_group_lookup_refuses_a_redirect_too(
    app_env: AppEnv, elsewhere: SlackStub, monkeypatch: pytest.MonkeyPatch
) -> None:
    app_env.set_allowed_csv("U0ANN0001,ann\n")
    monkeypatch.setenv("ALLOWED_USERGROUPS", GROUP)
    elsewhere.always("usergroups.users.list", Fault(status=200, body={"ok": True, "users": [USER]}))
    redirect(app_env, "usergroups.users.list", elsewhere, 302)
    decision = AccessChecker().check(
        load_settings(), USER, Permission.FLUSH, Deadline.for_slack_request()
    )
    assert decision is Access.DENIED, "a redirected lookup grants nothing"
    assert len(app_env.slack.calls("usergroups.users.list")) == 1
    assert elsewhere.requests() == []


def test_calls_without_a_redirect_still_work(app_env: AppEnv) -> None:
    client = web_client(
        load_settings(), 5, max_retry_after_seconds=BACKGROUND_MAX_RETRY_AFTER_SECONDS
    )
    assert client.chat_postMessage(channel="U0ANN0001", text="hello")["ok"] is True
    [call] = app_env.slack.calls("chat.postMessage")
    assert call.args["text"] == "hello"
