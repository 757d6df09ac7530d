"""flush_orchestrator with an approval plan, through the real replay engine over built histories.

Event IDs with two URLs: 0 posts the request (no buttons), 1 adds the buttons and 2 DMs the
requester with Cancel, 3 is the deadline timer. Rejected, cancelled or expired: 4-7 tell the
ending (request update, DM update, modal, DM). Approved: 4 checks the requester's access, 5-8
tell the ending, 9 calls cache-flush, 10-13 tell the result (modal, DM, channel, request).
Every ending then publishes the requester's Home tab again: the next event ID (8, or 14).
"""

from __future__ import annotations

import json
import logging
import os
from datetime import datetime, timedelta
from typing import Any

import pytest

from shared.approval import DECISION_EVENT
from shared.orchestration import NOTIFY_FAILED
from tests.support.histories import (
    TIMESTAMP,
    History,
    activity_calls,
    event_waits,
    timers,
)
from tests.test_flush_orchestrator import (
    ACCEPTED,
    DELIVERED,
    FLUSH,
    FLUSHED_AND_TOLD,
    HOME_FAILED,
    INSTANCE,
    NOTIFY,
    OUTCOME_DELIVERED,
    POSTED,
    URLS,
    answered,
    fail_every_attempt,
    fail_home,
    finish_home,
    finish_notifications,
    flush_again_values,
    flush_calls,
    home_calls,
    modal_and_dm_then_home,
    no_response,
    notify_inputs,
    request_input,
    run,
)
from tests.test_flush_orchestrator import texts as flush_texts

# The SDK warns when an event arrives while nothing waits for it; that is what these test.
pytestmark = pytest.mark.filterwarnings("ignore:Potential duplicate Task completion:UserWarning")

APPROVAL_CHANNEL = "C0APPROVE1"
REQUEST_TS = "1767225600.000200"
DM_CHANNEL = "D0001"
DM_TS = POSTED["ts"]
CHECK_ACCESS = "check_access_activity"
ALLOWED = {"allowed": True}
TIMER = 3
PLAN = {"channel": APPROVAL_CHANNEL, "timeout_minutes": 60, "approvers": "<!subteam^S0APPROVE>"}
START = datetime.fromisoformat(TIMESTAMP.replace("Z", "+00:00"))
DEADLINE = START + timedelta(minutes=60)
DEADLINE_AT = "2026-01-01T01:00:00.000Z"
DECIDED_AT = "2026-01-01T00:10:00.000Z"
REQUEST_POSTED = {"delivered": True, "reason": None, "channel": APPROVAL_CHANNEL, "ts": REQUEST_TS}
UPDATED = {"delivered": True, "reason": None, "channel": APPROVAL_CHANNEL, "ts": REQUEST_TS}
DM_UPDATED = {"delivered": True, "reason": None, "channel": DM_CHANNEL, "ts": DM_TS}
# The approval's notifications, each delivered: the request, its buttons, the pending DM,
# then the request's and the DM's updates at the ending, the modal and the ending's DM.
ALL_TOLD = {
    "request": OUTCOME_DELIVERED,
    "buttons": OUTCOME_DELIVERED,
    "pending_dm": OUTCOME_DELIVERED,
    "update": OUTCOME_DELIVERED,
    "dm_update": OUTCOME_DELIVERED,
    "modal": OUTCOME_DELIVERED,
    "dm": OUTCOME_DELIVERED,
}
# The ending told: the request and DM updated, the modal, the ending's DM.
ENDING_TOLD = (UPDATED, DM_UPDATED, DELIVERED, POSTED)


def texts(payload: dict[str, Any]) -> str:
    """The payload's text, leaving out the buttons (see `buttons_of`)."""
    if payload["kind"] == "update_view":
        return flush_texts(payload)
    blocks = [block for block in payload["blocks"] if block["type"] != "actions"]
    return flush_texts({**payload, "blocks": blocks})


def decision(action: str, user_id: str = "U0002", user_name: str = "sam_approver") -> Any:
    return {"action": action, "user_id": user_id, "user_name": user_name}


APPROVE = decision("approve")
REJECT = decision("reject", "U0003", "kim_approver")
CANCEL = decision("cancel", "U0001", "jo_bloggs")


def new_history(**plan: Any) -> History:
    return History(
        "flush_orchestrator", request_input(approval={**PLAN, **plan}), instance_id=INSTANCE
    )


def stage(state: dict[str, Any]) -> str:
    return str(state["customStatus"]["stage"])


def posted_request(
    history: History,
    delivery: dict[str, Any] = REQUEST_POSTED,
    *,
    buttons: dict[str, Any] = UPDATED,
    pending_dm: dict[str, Any] = POSTED,
) -> dict[str, Any]:
    """Run the request's post, then its buttons and the pending DM (each delivered as given);
    return the state after them."""
    first = run(history)
    assert stage(first) == "awaiting_approval"
    history.new_episode().scheduled(0, NOTIFY).completed(0, delivery)
    run(history)
    return finish_notifications(history, 1, buttons, pending_dm)


def raise_events(history: History, *payloads: Any, at: str = DECIDED_AT) -> dict[str, Any]:
    """A new episode in which the host created the deadline timer and the events arrived."""
    history.new_episode(at).timer(TIMER, DEADLINE_AT)
    for payload in payloads:
        history.raised(DECISION_EVENT, payload)
    return run(history)


def expire(history: History) -> dict[str, Any]:
    history.new_episode(DEADLINE_AT).timer(TIMER, DEADLINE_AT).fired(TIMER, DEADLINE_AT)
    return run(history)


def access_calls(state: dict[str, Any]) -> list[dict[str, Any]]:
    return [a for a in activity_calls(state) if a["functionName"] == CHECK_ACCESS]


def still_allowed(history: History, answer: dict[str, Any] = ALLOWED) -> dict[str, Any]:
    """The access check (event 4) answers; return the state that tells the ending."""
    history.new_episode().scheduled(4, CHECK_ACCESS).completed(4, answer)
    return run(history)


def approve(history: History) -> dict[str, Any]:
    """Post the request, approve it, the requester still allowed: the state telling it."""
    posted_request(history)
    raise_events(history, APPROVE)
    return still_allowed(history)


def ending_notifications(state: dict[str, Any]) -> list[dict[str, Any]]:
    """The notifications after the request was opened (post, buttons, pending DM)."""
    return notify_inputs(state)[3:]


# --- the request ----------------------------------------------------------------------------


def buttons_of(payload: dict[str, Any]) -> list[tuple[str, str, str]]:
    return [
        (button["action_id"], button.get("style", ""), button["value"])
        for block in payload["blocks"]
        if block["type"] == "actions"
        for button in block["elements"]
    ]


def test_the_request_is_posted_first_without_buttons() -> None:
    state = run(new_history())
    assert state["isDone"] is False
    assert state["customStatus"] == {"stage": "awaiting_approval"}
    assert flush_calls(state) == [], "nothing is flushed before a decision"
    [call] = activity_calls(state)
    assert call["retryOptions"] == {
        "firstRetryIntervalInMilliseconds": 5000,
        "maxNumberOfAttempts": 3,
    }
    request = json.loads(call["input"])
    assert request["kind"] == "post_message"
    assert request["channel"] == APPROVAL_CHANNEL
    assert request["text"] == "Cache flush approval requested"
    text = texts(request)
    assert "jo_bloggs (<@U0001>)" in text
    assert "*Environment:* production" in text
    assert all(url in text for url in URLS)
    epoch = int(DEADLINE.timestamp())
    assert f"<!date^{epoch}^{{date_short_pretty}} at {{time}}|2026-01-01 01:00 UTC>" in text
    assert buttons_of(request) == [], "no button before every URL is shown"
    assert "Approve and Reject appear here" in text


def test_once_posted_the_buttons_are_added_and_the_requester_gets_a_dm_with_cancel() -> None:
    history = new_history()
    run(history)
    history.new_episode().scheduled(0, NOTIFY).completed(0, REQUEST_POSTED)
    state = run(history)
    assert state["customStatus"] == {
        "stage": "awaiting_approval",
        "request": {"channel": APPROVAL_CHANNEL, "ts": REQUEST_TS},
    }, "where the buttons will be is recorded before they exist"
    _, buttons, pending = notify_inputs(state)
    assert buttons["kind"] == "update_message"
    assert (buttons["channel"], buttons["ts"]) == (APPROVAL_CHANNEL, REQUEST_TS)
    assert buttons_of(buttons) == [
        ("approve_flush", "primary", INSTANCE),
        ("reject_flush", "danger", INSTANCE),
    ]
    assert all(url in texts(buttons) for url in URLS)
    assert pending["kind"] == "post_message"
    assert pending["channel"] == "U0001"
    assert pending["text"] == "Cache flush approval pending"
    assert buttons_of(pending) == [("cancel_flush", "danger", INSTANCE)]
    assert all(url in texts(pending) for url in URLS)
    assert "*Environment:* production" in texts(pending)


def test_once_opened_it_records_both_places_and_waits_for_a_decision_or_the_deadline() -> None:
    state = posted_request(new_history())
    assert state["isDone"] is False
    assert state["customStatus"] == {
        "stage": "awaiting_approval",
        "request": {"channel": APPROVAL_CHANNEL, "ts": REQUEST_TS},
        "dm": {"channel": DM_CHANNEL, "ts": DM_TS},
    }
    assert len(activity_calls(state)) == 3, "no other call while waiting"
    [timer] = timers(state)
    assert datetime.fromisoformat(timer["fireAt"]) == DEADLINE
    assert timer["isCanceled"] is False
    assert [wait["externalEventName"] for wait in event_waits(state)] == [DECISION_EVENT]


def long_urls(count: int) -> list[str]:
    return [f"https://www.nhs.uk/conditions/{'x' * 90}/{i}?q=%C3%A9&r=1" for i in range(count)]


def test_urls_that_do_not_fit_are_replied_in_the_thread_before_the_buttons() -> None:
    urls = long_urls(130)
    history = History(
        "flush_orchestrator",
        request_input(urls=urls, approval=PLAN),
        instance_id=INSTANCE,
    )
    first = run(history)
    [request] = notify_inputs(first)
    assert "the first 20 here, the rest in 2 replies in this message's thread" in texts(request)
    history.new_episode().scheduled(0, NOTIFY).completed(0, REQUEST_POSTED)
    replies = []
    for event_id in (1, 2):
        state = run(history)
        reply = notify_inputs(state)[-1]
        assert reply["kind"] == "post_message"
        assert (reply["channel"], reply["thread_ts"]) == (APPROVAL_CHANNEL, REQUEST_TS)
        assert buttons_of(reply) == []
        assert all(buttons_of(n) == [] for n in notify_inputs(state)), "no button yet"
        replies.append(reply)
        history.new_episode().scheduled(event_id, NOTIFY).completed(event_id, UPDATED)
    state = run(history)
    buttons = notify_inputs(state)[3]
    assert buttons["kind"] == "update_message"
    assert len(buttons_of(buttons)) == 2, "the buttons come after the last reply"
    assert replies[0]["text"] == "URLs to approve: 21 to 120 of 130"
    assert replies[1]["text"] == "URLs to approve: 121 to 130 of 130"
    shown = [
        line.removeprefix("• ")
        for payload in (buttons, *replies)
        for block in payload["blocks"]
        if "text" in block and block["text"]["type"] == "plain_text"
        for line in block["text"]["text"].split("\n")
    ]
    assert shown == urls, "every URL exactly once, exactly as it will be flushed, in order"
    for payload in (buttons, *replies):
        assert len(payload["blocks"]) <= 50
        assert all(
            len(block["text"]["text"]) <= 3000 for block in payload["blocks"] if "text" in block
        )


def test_a_thread_reply_that_cannot_be_posted_withdraws_the_request() -> None:
    history = History(
        "flush_orchestrator", request_input(urls=long_urls(30), approval=PLAN), instance_id=INSTANCE
    )
    run(history)
    history.new_episode().scheduled(0, NOTIFY).completed(0, REQUEST_POSTED)
    run(history)
    reason = "Activity function 'notify_user_activity' failed: DeliveryError: msg_too_long"
    state = fail_every_attempt(history, 1, NOTIFY, reason)
    withdrawn = notify_inputs(state)[-1]
    assert withdrawn["kind"] == "update_message"
    assert "Withdrawn" in withdrawn["text"]
    assert buttons_of(withdrawn) == []
    state = finish_notifications(history, 7, UPDATED)
    assert stage(state) == "approval_request_failed"
    modal, dm = notify_inputs(state)[-2:]
    assert dm["text"] == "Cache flush approval request failed"
    assert flush_again_values(modal) == flush_again_values(dm) == [INSTANCE]
    assert event_waits(state) == []
    done = modal_and_dm_then_home(history, 8)
    assert done["isDone"] is True
    assert flush_calls(done) == []


def test_a_request_whose_buttons_cannot_be_added_is_withdrawn() -> None:
    history = new_history()
    gone = {"delivered": False, "reason": "message_not_found", "channel": None, "ts": None}
    state = posted_request(history, buttons=gone)
    withdrawn, dm = notify_inputs(state)[3:]
    assert "Withdrawn" in withdrawn["text"]
    assert (dm["kind"], dm["channel"], dm["ts"]) == ("update_message", DM_CHANNEL, DM_TS)
    assert buttons_of(dm) == [], "the DM's Cancel goes with the request"
    assert dm["text"] == "Cache flush approval request failed"
    state = finish_notifications(history, 3, gone, DM_UPDATED)
    assert stage(state) == "approval_request_failed"
    assert event_waits(state) == []


@pytest.mark.parametrize(
    ("minutes", "said"),
    [
        (0.5, "0.5 minutes (30 seconds)"),
        (1, "1 minute"),
        (0.9999999, "1 minute"),
        (90.25, "90.25 minutes"),
    ],
)
def test_the_timeout_may_be_a_fraction_of_a_minute(minutes: float, said: str) -> None:
    history = new_history(timeout_minutes=minutes)
    state = posted_request(history)
    [timer] = timers(state)
    assert datetime.fromisoformat(timer["fireAt"]) == START + timedelta(minutes=minutes)
    history.new_episode(timer["fireAt"]).timer(TIMER, timer["fireAt"]).fired(TIMER, timer["fireAt"])
    update, _, _, _ = ending_notifications(run(history))
    assert f"Expired: nobody approved within {said}*" in texts(update)
    assert update["text"] == f"Expired: nobody approved within {said}"


# --- approval -------------------------------------------------------------------------------


def test_approval_checks_access_tells_everyone_then_flushes_and_names_the_approver() -> None:
    history = new_history()
    posted_request(history)
    state = raise_events(history, APPROVE)
    assert flush_calls(state) == []
    assert notify_inputs(state)[3:] == [], "nothing is told before access is checked"
    [check] = access_calls(state)
    assert json.loads(check["input"]) == {"user_id": "U0001"}
    assert check["retryOptions"]["maxNumberOfAttempts"] == 3
    [timer] = timers(state)
    assert timer["isCanceled"] is True

    state = still_allowed(history)
    assert stage(state) == "approved"
    assert flush_calls(state) == [], "the approval is told before the flush runs"
    update, dm_update, modal, dm = ending_notifications(state)
    assert update["kind"] == "update_message"
    assert (update["channel"], update["ts"]) == (APPROVAL_CHANNEL, REQUEST_TS)
    assert update["text"] == "Approved by <@U0002>", "the fallback says the outcome too"
    assert "Approved by <@U0002>" in texts(update)
    assert "jo_bloggs (<@U0001>)" in texts(update), "the request's details stay"
    assert all(url in texts(update) for url in URLS)
    assert buttons_of(update) == [], "buttons removed"
    assert dm_update["kind"] == "update_message"
    assert (dm_update["channel"], dm_update["ts"]) == (DM_CHANNEL, DM_TS), "the D… ID, not U…"
    assert buttons_of(dm_update) == [], "Cancel removed"
    assert modal["kind"] == "update_view"
    assert modal["view_id"] == "V0001"
    assert dm["channel"] == "U0001"
    assert dm["text"] == "Cache flush approved"
    for payload in (dm_update, modal, dm):
        assert "approved* by sam_approver (<@U0002>)" in texts(payload)
        assert flush_again_values(payload) == [], "the flush is about to run"
    assert state["customStatus"] == {
        "stage": "approved",
        "decided_by": "U0002",
        "decided_by_name": "sam_approver",
    }

    state = finish_notifications(history, 5, *ENDING_TOLD)
    assert home_calls(state) == [], "the flush has not ended yet"
    [call] = flush_calls(state)
    assert json.loads(call["input"]) == {"environment": "production", "urls": URLS}
    history.new_episode().scheduled(9, FLUSH).completed(9, ACCEPTED)
    state = run(history)
    modal, dm, channel, request = notify_inputs(state)[7:]
    assert dm["text"] == "Cache flush succeeded"
    assert channel["channel"] == "cache-flush-notices"
    for payload in (modal, dm, channel):
        assert "*Approved by:* sam_approver (<@U0002>)" in texts(payload)
        assert "*Flushed by:* jo_bloggs (<@U0001>)" in texts(payload)
    assert flush_again_values(modal) == flush_again_values(dm) == [INSTANCE]
    assert flush_again_values(channel) == []
    assert flush_again_values(request) == []
    assert buttons_of(request) == [], "the approvers' message gets no button back"
    flushed_by_sam = {
        "stage": "flushed",
        "purge_id": "purge-1",
        "decided_by": "U0002",
        "decided_by_name": "sam_approver",
    }
    assert state["customStatus"] == flushed_by_sam, "the ending, before it is told"
    assert (request["kind"], request["channel"], request["ts"]) == (
        "update_message",
        APPROVAL_CHANNEL,
        REQUEST_TS,
    )
    assert "Approved by <@U0002>" in texts(request)
    assert "*Flush succeeded* (purge ID `purge-1`)" in texts(request)

    finish_notifications(history, 10, DELIVERED, POSTED, POSTED, UPDATED)
    done = finish_home(history, 14)
    assert done["isDone"] is True
    assert done["customStatus"] == flushed_by_sam
    assert done["output"] == {
        "approval": {
            "outcome": "approved",
            "by": "U0002",
            "by_name": "sam_approver",
            "at": "2026-01-01T00:10:00+00:00",
            "notifications": ALL_TOLD,
        },
        **{
            **FLUSHED_AND_TOLD,
            "notifications": {
                **FLUSHED_AND_TOLD["notifications"],
                "request": OUTCOME_DELIVERED,
            },
        },
    }


def test_an_approved_flush_that_fails_names_the_approver_and_shows_flush_failed() -> None:
    history = new_history()
    approve(history)
    finish_notifications(history, 5, *ENDING_TOLD)
    history.new_episode().scheduled(9, FLUSH).completed(9, answered(403, {"message": "no"}))
    state = run(history)
    modal, dm, request = notify_inputs(state)[7:]
    assert dm["text"] == "Cache flush failed"
    for payload in (modal, dm):
        assert "*Approved by:* sam_approver (<@U0002>)" in texts(payload)
        assert "HTTP 403" in texts(payload)
        assert flush_again_values(payload) == [INSTANCE]
    assert "*Flush failed* (HTTP 403); nothing was flushed" in texts(request)
    assert "as far as the app knows" not in texts(request)
    assert buttons_of(request) == []
    finish_notifications(history, 10, DELIVERED, POSTED, UPDATED)
    done = finish_home(history, 13)
    assert done["customStatus"] == {
        "stage": "flush_failed",
        "decided_by": "U0002",
        "decided_by_name": "sam_approver",
    }
    assert done["output"]["flush"] == {"ok": False, "status": 403}
    assert done["output"]["approval"]["outcome"] == "approved"


@pytest.mark.parametrize(
    "answers",
    [
        [no_response("did not answer within 30 s"), answered(503, {}), answered(503, {})],
        [answered(503, {}), *[no_response("did not answer within 30 s")] * 2],
    ],
    ids=["unanswered-first", "unanswered-last"],
)
def test_an_approved_flush_after_an_unanswered_attempt_does_not_claim_nothing_was_flushed(
    answers: list[dict[str, Any]],
) -> None:
    history = new_history()
    approve(history)
    finish_notifications(history, 5, *ENDING_TOLD)
    for task_id, answer in zip((9, 11), answers[:2], strict=True):
        history.new_episode().scheduled(task_id, FLUSH).completed(task_id, answer)
        run(history)
        history.new_episode().timer(task_id + 1).fired(task_id + 1)
        run(history)
    history.new_episode().scheduled(13, FLUSH).completed(13, answers[2])
    state = run(history)
    modal, dm, request = notify_inputs(state)[7:]
    for payload in (modal, dm):
        assert "*Approved by:* sam_approver (<@U0002>)" in texts(payload)
        assert "*Nothing was flushed, as far as the app knows.*" in texts(payload)
        assert "flushing the same URLs again is harmless" in texts(payload)
    assert "*Flush failed* (HTTP 503); nothing was flushed, as far as the app knows" in texts(
        request
    )


# --- access re-checked before the flush -----------------------------------------------------


def test_an_approved_flush_of_a_requester_no_longer_allowed_never_runs() -> None:
    history = new_history()
    posted_request(history)
    raise_events(history, APPROVE)
    state = still_allowed(history, {"allowed": False})
    assert stage(state) == "not_allowed"
    update, dm_update, modal, dm = ending_notifications(state)
    assert "Approved by <@U0002>" in texts(update)
    assert "Approved, but not flushed: jo_bloggs is no longer allowed to flush" in texts(update)
    assert buttons_of(update) == []
    assert dm["text"] == "Cache flush not run"
    for payload in (dm_update, modal, dm):
        assert "not flushed: jo_bloggs is no longer allowed to flush" in texts(payload)
        assert "Nothing was flushed" in texts(payload)
    assert flush_again_values(modal) == flush_again_values(dm) == [INSTANCE]
    assert buttons_of(dm_update) == []
    finish_notifications(history, 5, *ENDING_TOLD)
    done = finish_home(history, 9)
    assert done["isDone"] is True
    assert flush_calls(done) == []
    assert done["customStatus"] == {
        "stage": "not_allowed",
        "decided_by": "U0002",
        "decided_by_name": "sam_approver",
    }
    assert done["output"]["approval"]["outcome"] == "not_allowed"
    assert done["output"]["approval"]["by"] == "U0002"
    assert done["output"]["flush"] is None


def test_access_that_cannot_be_read_after_every_attempt_fails_closed() -> None:
    history = new_history()
    posted_request(history)
    raise_events(history, APPROVE)
    reason = "Activity function 'check_access_activity' failed: AccessCheckUnavailable"
    state = fail_every_attempt(history, 4, CHECK_ACCESS, reason)
    assert stage(state) == "not_allowed"
    update, _, modal, _ = ending_notifications(state)
    assert "access of jo_bloggs could not be checked" in texts(update)
    assert "Your access could not be checked" in texts(modal)
    finish_notifications(history, 10, *ENDING_TOLD)
    done = finish_home(history, 14)
    assert done["isDone"] is True
    assert flush_calls(done) == []


# --- endings without a flush ----------------------------------------------------------------


@pytest.mark.parametrize(
    ("payload", "outcome", "line", "fallback", "by"),
    [
        pytest.param(
            REJECT, "rejected", "Rejected by <@U0003>", "Cache flush rejected", "U0003", id="reject"
        ),
        pytest.param(
            CANCEL,
            "cancelled",
            "Cancelled by the requester",
            "Cache flush cancelled",
            "U0001",
            id="cancel",
        ),
    ],
)
def test_a_rejection_or_a_cancel_ends_without_a_flush(
    payload: Any, outcome: str, line: str, fallback: str, by: str
) -> None:
    history = new_history()
    posted_request(history)
    state = raise_events(history, payload)
    assert stage(state) == outcome
    assert access_calls(state) == []
    assert [t["isCanceled"] for t in timers(state)] == [True]
    update, dm_update, modal, dm = ending_notifications(state)
    assert line in texts(update)
    assert buttons_of(update) == []
    assert update["text"] == line
    assert (dm_update["channel"], dm_update["ts"]) == (DM_CHANNEL, DM_TS)
    assert buttons_of(dm_update) == []
    assert dm["text"] == fallback
    for payload_ in (dm_update, modal, dm):
        assert "Nothing was flushed" in texts(payload_)
        assert all(url in texts(payload_) for url in URLS)
    assert flush_again_values(modal) == flush_again_values(dm) == [INSTANCE]
    finish_notifications(history, 4, *ENDING_TOLD)
    done = finish_home(history, 8)
    assert done["isDone"] is True
    assert done["customStatus"] == {
        "stage": outcome,
        "decided_by": by,
        "decided_by_name": payload["user_name"],
    }
    assert flush_calls(done) == []
    assert done["output"]["approval"]["outcome"] == outcome
    assert done["output"]["approval"]["by"] == by
    assert done["output"]["approval"]["at"] == "2026-01-01T00:10:00+00:00"
    assert done["output"]["flush"] is None
    assert done["output"]["notifications"] == {}


def test_expiry_ends_without_a_flush_and_says_how_long_it_waited() -> None:
    history = new_history()
    posted_request(history)
    state = expire(history)
    assert stage(state) == "expired"
    update, dm_update, modal, dm = ending_notifications(state)
    assert "Expired: nobody approved within 60 minutes" in texts(update)
    assert update["text"] == "Expired: nobody approved within 60 minutes"
    assert buttons_of(update) == []
    assert buttons_of(dm_update) == []
    assert dm["text"] == "Cache flush request expired"
    assert "within 60 minutes" in texts(modal)
    assert flush_again_values(modal) == flush_again_values(dm) == [INSTANCE]
    finish_notifications(history, 4, *ENDING_TOLD)
    done = finish_home(history, 8)
    assert done["isDone"] is True
    assert done["customStatus"] == {"stage": "expired"}, "nobody decided"
    assert flush_calls(done) == []
    assert done["output"]["approval"] == {
        "outcome": "expired",
        "by": None,
        "by_name": None,
        "at": "2026-01-01T01:00:00+00:00",
        "notifications": ALL_TOLD,
    }


def test_a_decision_after_expiry_changes_nothing() -> None:
    history = new_history()
    posted_request(history)
    expire(history)
    history.raised(DECISION_EVENT, APPROVE)
    state = run(history)
    assert stage(state) == "expired"
    assert len(ending_notifications(state)) == 4
    history.new_episode(DEADLINE_AT)
    for event_id in (4, 5, 6, 7):
        history.scheduled(event_id, NOTIFY)
    history.raised(DECISION_EVENT, APPROVE)
    for event_id, result in zip((4, 5, 6, 7), ENDING_TOLD, strict=True):
        history.completed(event_id, result)
    done = finish_home(history, 8)
    assert done["isDone"] is True
    assert done["customStatus"] == {"stage": "expired"}
    assert flush_calls(done) == []
    assert access_calls(done) == []
    assert done["output"]["approval"]["outcome"] == "expired"
    assert done["output"]["approval"]["by"] is None


@pytest.mark.parametrize(
    ("first", "second", "outcome", "by"),
    [
        pytest.param(APPROVE, REJECT, "approved", "U0002", id="approve-first"),
        pytest.param(REJECT, APPROVE, "rejected", "U0003", id="reject-first"),
        pytest.param(CANCEL, APPROVE, "cancelled", "U0001", id="cancel-first"),
    ],
)
def test_of_two_decisions_at_once_only_the_first_counts(
    first: Any, second: Any, outcome: str, by: str
) -> None:
    history = new_history()
    posted_request(history)
    state = raise_events(history, first, second)
    assert len(event_waits(state)) == 1, "the orchestration never waits again"
    if outcome == "approved":
        state = still_allowed(history)
    assert stage(state) == outcome
    assert len(ending_notifications(state)) == 4, "one ending is told, once"
    first_id = 5 if outcome == "approved" else 4
    finish_notifications(history, first_id, *ENDING_TOLD)
    home_id = 8
    if outcome == "approved":
        history.new_episode().scheduled(9, FLUSH).completed(9, ACCEPTED)
        run(history)
        finish_notifications(history, 10, DELIVERED, POSTED, POSTED, UPDATED)
        home_id = 14
    done = finish_home(history, home_id)
    assert done["isDone"] is True
    assert done["output"]["approval"]["outcome"] == outcome
    assert done["output"]["approval"]["by"] == by
    assert len(flush_calls(done)) == (1 if outcome == "approved" else 0)


# --- events that are not decisions ----------------------------------------------------------


@pytest.mark.parametrize(
    "payload",
    [
        pytest.param(decision("approve", "U0001", "jo_bloggs"), id="self-approval"),
        pytest.param(decision("reject", "U0001", "jo_bloggs"), id="self-rejection"),
        pytest.param(decision("cancel", "U0002", "sam_approver"), id="cancel-by-someone-else"),
        pytest.param(decision("flush-anyway"), id="unknown-action"),
        pytest.param({"action": "approve", "user_name": "sam"}, id="no-user-id"),
        pytest.param({"action": "approve", "user_id": "U0002"}, id="no-user-name"),
        pytest.param("approve", id="not-an-object"),
        pytest.param(None, id="no-payload"),
    ],
)
def test_an_event_that_is_not_a_decision_is_ignored_and_the_wait_goes_on(payload: Any) -> None:
    history = new_history()
    posted_request(history)
    state = raise_events(history, payload)
    assert state["isDone"] is False
    assert stage(state) == "awaiting_approval"
    assert len(activity_calls(state)) == 3, "nothing is told, nothing is flushed"
    assert len(event_waits(state)) == 2, "a fresh wait for the next event"
    [timer] = timers(state)
    assert timer["isCanceled"] is False, "the same deadline still holds"

    history.new_episode("2026-01-01T00:20:00.000Z").raised(DECISION_EVENT, APPROVE)
    run(history)
    state = still_allowed(history)
    assert stage(state) == "approved"
    assert len(timers(state)) == 1, "no second timer"
    assert "Approved by <@U0002>" in texts(ending_notifications(state)[0])


def test_after_an_ignored_event_the_deadline_still_expires_the_request() -> None:
    history = new_history()
    posted_request(history)
    raise_events(history, decision("approve", "U0001", "jo_bloggs"))
    history.new_episode(DEADLINE_AT).fired(TIMER, DEADLINE_AT)
    state = run(history)
    assert stage(state) == "expired"
    assert flush_calls(state) == []


IGNORED_EVENTS_CAP = 20
SELF_APPROVAL = decision("approve", "U0001", "jo_bloggs")


def test_a_decision_after_twenty_ignored_events_still_counts() -> None:
    history = new_history()
    posted_request(history)
    state = raise_events(history, *[SELF_APPROVAL] * IGNORED_EVENTS_CAP, APPROVE)
    assert len(event_waits(state)) == IGNORED_EVENTS_CAP + 1
    assert len(access_calls(state)) == 1, "the approval is read and acted on"
    assert stage(still_allowed(history)) == "approved"


def test_after_too_many_ignored_events_only_the_deadline_ends_the_wait() -> None:
    """A flood of events that are not decisions cannot grow the history without bound."""
    history = new_history()
    posted_request(history)
    state = raise_events(history, *[SELF_APPROVAL] * (IGNORED_EVENTS_CAP + 1), APPROVE)
    assert state["isDone"] is False
    assert stage(state) == "awaiting_approval"
    assert len(event_waits(state)) == IGNORED_EVENTS_CAP + 1, "no wait after the cap"
    assert access_calls(state) == [], "the approval after the cap is never read"
    history.new_episode("2026-01-01T00:30:00.000Z").raised(DECISION_EVENT, APPROVE)
    assert access_calls(run(history)) == []
    state = expire(history)
    assert stage(state) == "expired"
    assert flush_calls(state) == []


def test_a_cancel_that_arrives_before_the_request_is_posted_still_counts() -> None:
    history = new_history()
    run(history)
    history.new_episode("2026-01-01T00:00:01.000Z").scheduled(0, NOTIFY)
    history.raised(DECISION_EVENT, CANCEL).completed(0, REQUEST_POSTED)
    run(history)
    state = finish_notifications(history, 1, UPDATED, POSTED)
    assert stage(state) == "cancelled"
    assert "Cancelled by the requester" in texts(ending_notifications(state)[0])


def test_a_bad_event_before_the_request_is_posted_never_flushes_and_ends_at_the_deadline() -> None:
    """The SDK offers an event that arrived before any wait to every later wait: bounded."""
    history = new_history()
    run(history)
    history.new_episode().scheduled(0, NOTIFY)
    history.raised(DECISION_EVENT, decision("approve", "U0001", "jo_bloggs"))
    history.completed(0, REQUEST_POSTED)
    run(history)
    state = finish_notifications(history, 1, UPDATED, POSTED)
    assert state["isDone"] is False
    assert stage(state) == "awaiting_approval"
    assert len(activity_calls(state)) == 3
    state = expire(history)
    assert stage(state) == "expired"
    assert flush_calls(state) == []


# --- the request cannot be posted -----------------------------------------------------------


def test_a_request_that_cannot_be_posted_is_told_to_the_requester_without_a_flush() -> None:
    contact = "#web-support"
    data = request_input(approval=PLAN, support_contact=contact)
    history = History("flush_orchestrator", data, instance_id=INSTANCE)
    run(history)
    reason = "Activity function 'notify_user_activity' failed: DeliveryError: channel_not_found"
    history.new_episode().scheduled(0, NOTIFY).failed(0, reason)
    for attempt in range(2):
        timer_id, task_id = 1 + attempt * 2, 2 + attempt * 2
        assert run(history)["isDone"] is False
        history.new_episode().timer(timer_id).fired(timer_id)
        assert run(history)["isDone"] is False
        history.new_episode().scheduled(task_id, NOTIFY).failed(task_id, reason)
    assert run(history)["isDone"] is False
    history.new_episode().timer(5).fired(5)
    state = run(history)
    assert stage(state) == "approval_request_failed"
    assert event_waits(state) == []
    modal, dm = notify_inputs(state)[1:]
    assert dm["text"] == "Cache flush approval request failed"
    for payload in (modal, dm):
        assert "could not be posted" in texts(payload)
        assert f"Please tell {contact}." in texts(payload)
        assert flush_again_values(payload) == [INSTANCE]
    done = modal_and_dm_then_home(history, 6)
    assert done["isDone"] is True
    assert done["customStatus"] == {"stage": "approval_request_failed"}
    assert flush_calls(done) == []
    assert done["output"]["approval"] == {
        "outcome": "approval_request_failed",
        "by": None,
        "by_name": None,
        "at": "2026-01-01T00:00:00+00:00",
        "notifications": {
            "request": {
                "delivered": False,
                "reason": NOTIFY_FAILED.format(method="chat.postMessage", attempts=3),
            },
            "modal": OUTCOME_DELIVERED,
            "dm": OUTCOME_DELIVERED,
        },
    }
    assert done["output"]["flush"] is None


def test_a_request_posted_without_a_place_cannot_get_buttons_and_is_not_waited_on() -> None:
    history = new_history()
    run(history)
    nowhere = {"delivered": True, "reason": None, "channel": None, "ts": None}
    history.new_episode().scheduled(0, NOTIFY).completed(0, nowhere)
    state = run(history)
    assert stage(state) == "approval_request_failed"
    assert event_waits(state) == []
    assert [p["kind"] for p in notify_inputs(state)[1:]] == ["update_view", "post_message"]


def test_without_the_pending_dm_the_ending_is_still_told_to_the_requester() -> None:
    history = new_history()
    closed = {"delivered": False, "reason": "cannot_dm_bot", "channel": None, "ts": None}
    state = posted_request(history, pending_dm=closed)
    assert state["customStatus"] == {
        "stage": "awaiting_approval",
        "request": {"channel": APPROVAL_CHANNEL, "ts": REQUEST_TS},
    }
    state = raise_events(history, REJECT)
    kinds = [p["kind"] for p in ending_notifications(state)]
    assert kinds == ["update_message", "update_view", "post_message"]


def test_a_closed_modal_at_the_ending_is_recorded() -> None:
    history = new_history()
    posted_request(history)
    raise_events(history, REJECT)
    closed = {"delivered": False, "reason": "not_found", "channel": None, "ts": None}
    finish_notifications(history, 4, UPDATED, DM_UPDATED, closed, POSTED)
    done = finish_home(history, 8)
    assert done["output"]["approval"]["notifications"]["modal"] == {
        "delivered": False,
        "reason": "not_found",
    }


# --- the Home tab, published again at the end ----------------------------------------------


def told_ending(history: History, ending: str) -> int:
    """Run the history until `ending` is told to everyone; return the Home tab's event ID."""
    if ending == "approval_request_failed":
        run(history)
        nowhere = {"delivered": True, "reason": None, "channel": None, "ts": None}
        history.new_episode().scheduled(0, NOTIFY).completed(0, nowhere)
        run(history)
        finish_notifications(history, 1, DELIVERED, POSTED)
        return 3
    if ending == "flushed":
        approve(history)
        finish_notifications(history, 5, *ENDING_TOLD)
        history.new_episode().scheduled(9, FLUSH).completed(9, ACCEPTED)
        run(history)
        finish_notifications(history, 10, DELIVERED, POSTED, POSTED, UPDATED)
        return 14
    posted_request(history)
    if ending == "expired":
        expire(history)
    else:
        raise_events(history, {"rejected": REJECT, "cancelled": CANCEL}[ending])
    finish_notifications(history, 4, *ENDING_TOLD)
    return 8


@pytest.mark.parametrize(
    "ending", ["flushed", "rejected", "cancelled", "expired", "approval_request_failed"]
)
def test_a_home_tab_that_cannot_be_published_changes_no_ending(
    ending: str, caplog: pytest.LogCaptureFixture
) -> None:
    published = new_history()
    expected = finish_home(published, told_ending(published, ending))
    assert stage(expected) == ending

    history = new_history()
    home_id = told_ending(history, ending)
    with caplog.at_level(logging.WARNING):
        done = fail_home(history, home_id)
    assert done["isDone"] is True
    assert len(home_calls(done)) == 1
    assert done["output"] == expected["output"]
    assert done["customStatus"] == expected["customStatus"]
    warnings = [r.getMessage() for r in caplog.records if "Home tab" in r.getMessage()]
    assert warnings == [f"The Home tab was not published again: {HOME_FAILED}"]


# --- input and replay -----------------------------------------------------------------------


@pytest.mark.parametrize(
    "plan",
    [
        pytest.param({**PLAN, "channel": ""}, id="no-channel"),
        pytest.param({**PLAN, "timeout_minutes": "soon"}, id="timeout-not-a-number"),
        pytest.param({**PLAN, "timeout_minutes": 0}, id="timeout-zero"),
        pytest.param("production", id="not-an-object"),
    ],
)
def test_an_approval_plan_it_cannot_follow_fails_the_orchestration_without_a_flush(
    plan: Any,
) -> None:
    with pytest.raises(Exception, match="approval plan") as failed:
        run(History("flush_orchestrator", request_input(approval=plan)))
    assert '"actions": [[]]' in str(failed.value), "nothing was called"


def test_without_a_plan_no_custom_status_is_set_while_it_flushes() -> None:
    state = run(History("flush_orchestrator", request_input(approval=None)))
    assert "customStatus" not in state
    assert len(flush_calls(state)) == 1


def test_replay_is_deterministic_and_needs_no_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    def full_run() -> str:
        history = new_history()
        approve(history)
        finish_notifications(history, 5, *ENDING_TOLD)
        history.new_episode().scheduled(9, FLUSH).completed(9, ACCEPTED)
        run(history)
        finish_notifications(history, 10, DELIVERED, POSTED, POSTED, UPDATED)
        return json.dumps(finish_home(history, 14))

    with_environment = full_run()
    for name in list(os.environ):
        monkeypatch.delenv(name)
    assert full_run() == with_environment
