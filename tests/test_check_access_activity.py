"""`check_access_activity`: may the requester still flush, when an approved flush is to run;
and the notify activity's thread replies, which the approval request needs.

Real Azurite holds the allowed-users list; Slack is the Web API stand-in for user groups.
"""

from __future__ import annotations

import pytest

import check_access_activity
import notify_user_activity
from devhost.simulate.faults import Fault
from shared.errors import AccessCheckUnavailable
from shared.handoffs import Notification
from tests.support.app_env import AppEnv

STILL = "U0STILLIN1"
GONE = "U0REMOVED1"
GROUPIE = "U0GROUPIE1"
FLUSHERS = "S0FLUSHERS"


def test_a_requester_still_on_the_list_may_flush(app_env: AppEnv) -> None:
    app_env.allow(STILL)
    assert check_access_activity.main({"user_id": STILL}) == {"allowed": True}


def test_a_requester_removed_from_the_list_may_not(app_env: AppEnv) -> None:
    app_env.allow(STILL)
    assert check_access_activity.main({"user_id": GONE}) == {"allowed": False}


def test_a_requester_in_an_allowed_user_group_may_flush(
    app_env: AppEnv, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("ALLOWED_USERGROUPS", FLUSHERS)
    app_env.allow(STILL)
    app_env.slack.always(
        "usergroups.users.list", Fault(status=200, body={"ok": True, "users": [GROUPIE]})
    )
    assert check_access_activity.main({"user_id": GROUPIE}) == {"allowed": True}


def test_an_unreadable_list_raises_so_the_retry_policy_tries_again(app_env: AppEnv) -> None:
    with pytest.raises(AccessCheckUnavailable):
        check_access_activity.main({"user_id": STILL})


# --- the thread replies the approval request needs -------------------------------------------


def test_a_thread_reply_is_posted_with_thread_ts_and_a_plain_post_without(
    app_env: AppEnv,
) -> None:
    request_ts = app_env.slack.post_message("C0APPROVAL", "Approval request")
    message = {"text": "URLs to approve", "blocks": []}
    reply = Notification.post_message("C0APPROVAL", message, thread_ts=request_ts)
    plain = Notification.post_message("C0APPROVAL", message)
    replied = notify_user_activity.main(reply.to_dict())
    assert replied["delivered"] is True
    assert notify_user_activity.main(plain.to_dict())["delivered"] is True
    threaded, top = app_env.slack.calls("chat.postMessage")
    assert threaded.args["thread_ts"] == request_ts
    assert "thread_ts" not in top.args
    assert app_env.slack.message("C0APPROVAL", replied["ts"])["thread_ts"] == request_ts
