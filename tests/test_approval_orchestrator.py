"""flush_orchestrator with an approval plan, through the real replay engine over built histories.

Event IDs: 0 posts the request, 1 is the deadline timer, 2-4 tell the ending (request update,
modal, DM), 5 calls cache-flush, 6-8 tell the flush's result.
"""

from __future__ import annotations

import json
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
    NOTIFY,
    OUTCOME_DELIVERED,
    POSTED,
    URLS,
    answered,
    finish_notifications,
    flush_calls,
    notify_inputs,
    request_input,
    run,
    texts,
)

# The SDK warns when an event arrives while nothing waits for it; that is what these test.
pytestmark = pytest.mark.filterwarnings("ignore:Potential duplicate Task completion:UserWarning")

INSTANCE = "flush-T0001-V0001"
APPROVAL_CHANNEL = "C0APPROVE1"
REQUEST_TS = "1767225600.000200"
PLAN = {"channel": APPROVAL_CHANNEL, "timeout_minutes": 60, "approvers": "<!subteam^S0APPROVE>"}
START = datetime.fromisoformat(TIMESTAMP.replace("Z", "+00:00"))
DEADLINE = START + timedelta(minutes=60)
DEADLINE_AT = "2026-01-01T01:00:00.000Z"
DECIDED_AT = "2026-01-01T00:10:00.000Z"
REQUEST_POSTED = {"delivered": True, "reason": None, "channel": APPROVAL_CHANNEL, "ts": REQUEST_TS}
UPDATED = {"delivered": True, "reason": None, "channel": APPROVAL_CHANNEL, "ts": REQUEST_TS}
# The approval's notifications, each delivered: the request, its update, the modal, the DM.
ALL_TOLD = {
    "request": OUTCOME_DELIVERED,
    "update": OUTCOME_DELIVERED,
    "modal": OUTCOME_DELIVERED,
    "dm": OUTCOME_DELIVERED,
}


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


def posted_request(history: History, delivery: dict[str, Any] = REQUEST_POSTED) -> dict[str, Any]:
    """Run the first episode, then the request's delivery; return the waiting state."""
    first = run(history)
    assert stage(first) == "awaiting_approval"
    history.new_episode().scheduled(0, NOTIFY).completed(0, delivery)
    return run(history)


def raise_events(history: History, *payloads: Any, at: str = DECIDED_AT) -> dict[str, Any]:
    """A new episode in which the host created the deadline timer and the events arrived."""
    history.new_episode(at).timer(1, DEADLINE_AT)
    for payload in payloads:
        history.raised(DECISION_EVENT, payload)
    return run(history)


def expire(history: History) -> dict[str, Any]:
    history.new_episode(DEADLINE_AT).timer(1, DEADLINE_AT).fired(1, DEADLINE_AT)
    return run(history)


def ending_notifications(state: dict[str, Any]) -> list[dict[str, Any]]:
    """The notifications after the request (the request itself is the first)."""
    return notify_inputs(state)[1:]


# --- the request ----------------------------------------------------------------------------


def test_the_request_is_posted_to_the_approval_channel_with_approve_and_reject() -> None:
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
    [actions] = [block for block in request["blocks"] if block["type"] == "actions"]
    assert [
        (button["action_id"], button["style"], button["value"]) for button in actions["elements"]
    ] == [("approve_flush", "primary", INSTANCE), ("reject_flush", "danger", INSTANCE)]


def test_once_posted_it_waits_for_a_decision_or_a_timer_at_the_deadline() -> None:
    state = posted_request(new_history())
    assert state["isDone"] is False
    assert stage(state) == "awaiting_approval"
    assert len(activity_calls(state)) == 1, "no other call while waiting"
    [timer] = timers(state)
    assert datetime.fromisoformat(timer["fireAt"]) == DEADLINE
    assert timer["isCanceled"] is False
    assert [wait["externalEventName"] for wait in event_waits(state)] == [DECISION_EVENT]


@pytest.mark.parametrize(
    ("minutes", "said"),
    [(0.5, "0.5 minutes"), (1, "1 minute"), (0.9999999, "1 minute"), (90.25, "90.25 minutes")],
)
def test_the_timeout_may_be_a_fraction_of_a_minute(minutes: float, said: str) -> None:
    history = new_history(timeout_minutes=minutes)
    state = posted_request(history)
    [timer] = timers(state)
    assert datetime.fromisoformat(timer["fireAt"]) == START + timedelta(minutes=minutes)
    history.new_episode(timer["fireAt"]).timer(1, timer["fireAt"]).fired(1, timer["fireAt"])
    update, _, _ = ending_notifications(run(history))
    assert f"Expired: nobody approved within {said}*" in texts(update)
    assert update["text"] == f"Expired: nobody approved within {said}"


# --- approval -------------------------------------------------------------------------------


def test_approval_tells_everyone_then_flushes_and_names_the_approver() -> None:
    history = new_history()
    posted_request(history)
    state = raise_events(history, APPROVE)
    assert stage(state) == "approved"
    assert flush_calls(state) == [], "the approval is told before the flush runs"
    [timer] = timers(state)
    assert timer["isCanceled"] is True
    update, modal, dm = ending_notifications(state)
    assert update["kind"] == "update_message"
    assert (update["channel"], update["ts"]) == (APPROVAL_CHANNEL, REQUEST_TS)
    assert update["text"] == "Approved by <@U0002>", "the fallback says the outcome too"
    assert "Approved by <@U0002>" in texts(update)
    assert "jo_bloggs (<@U0001>)" in texts(update), "the request's details stay"
    assert all(url in texts(update) for url in URLS)
    assert all(block["type"] != "actions" for block in update["blocks"]), "buttons removed"
    assert modal["kind"] == "update_view"
    assert modal["view_id"] == "V0001"
    assert dm["channel"] == "U0001"
    assert dm["text"] == "Cache flush approved"
    for payload in (modal, dm):
        assert "approved* by sam_approver (<@U0002>)" in texts(payload)

    state = finish_notifications(history, 2, UPDATED, DELIVERED, POSTED)
    [call] = flush_calls(state)
    assert json.loads(call["input"]) == {"environment": "production", "urls": URLS}
    history.new_episode().scheduled(5, FLUSH).completed(5, ACCEPTED)
    state = run(history)
    modal, dm, channel = notify_inputs(state)[4:]
    assert dm["text"] == "Cache flush succeeded"
    assert channel["channel"] == "cache-flush-notices"
    for payload in (modal, dm, channel):
        assert "*Approved by:* sam_approver (<@U0002>)" in texts(payload)
        assert "*Flushed by:* jo_bloggs (<@U0001>)" in texts(payload)

    done = finish_notifications(history, 6, DELIVERED, POSTED, POSTED)
    assert done["isDone"] is True
    assert done["customStatus"] == {"stage": "flushed"}
    assert done["output"] == {
        "approval": {
            "outcome": "approved",
            "by": "U0002",
            "by_name": "sam_approver",
            "at": "2026-01-01T00:10:00+00:00",
            "notifications": ALL_TOLD,
        },
        **FLUSHED_AND_TOLD,
    }


def test_an_approved_flush_that_fails_names_the_approver_and_shows_flush_failed() -> None:
    history = new_history()
    posted_request(history)
    raise_events(history, APPROVE)
    finish_notifications(history, 2, UPDATED, DELIVERED, POSTED)
    history.new_episode().scheduled(5, FLUSH).completed(5, answered(403, {"message": "no"}))
    state = run(history)
    modal, dm = notify_inputs(state)[4:]
    assert dm["text"] == "Cache flush failed"
    for payload in (modal, dm):
        assert "*Approved by:* sam_approver (<@U0002>)" in texts(payload)
        assert "HTTP 403" in texts(payload)
    done = finish_notifications(history, 6, DELIVERED, POSTED)
    assert done["customStatus"] == {"stage": "flush_failed"}
    assert done["output"]["flush"] == {"ok": False, "status": 403}
    assert done["output"]["approval"]["outcome"] == "approved"


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
    assert [t["isCanceled"] for t in timers(state)] == [True]
    update, modal, dm = ending_notifications(state)
    assert line in texts(update)
    assert all(block["type"] != "actions" for block in update["blocks"])
    assert update["text"] == line
    assert dm["text"] == fallback
    for payload_ in (modal, dm):
        assert "Nothing was flushed" in texts(payload_)
        assert all(url in texts(payload_) for url in URLS)
    done = finish_notifications(history, 2, UPDATED, DELIVERED, POSTED)
    assert done["isDone"] is True
    assert done["customStatus"] == {"stage": outcome}
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
    update, modal, dm = ending_notifications(state)
    assert "Expired: nobody approved within 60 minutes" in texts(update)
    assert update["text"] == "Expired: nobody approved within 60 minutes"
    assert all(block["type"] != "actions" for block in update["blocks"])
    assert dm["text"] == "Cache flush request expired"
    assert "within 60 minutes" in texts(modal)
    done = finish_notifications(history, 2, UPDATED, DELIVERED, POSTED)
    assert done["isDone"] is True
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
    assert len(ending_notifications(state)) == 3
    history.new_episode(DEADLINE_AT)
    for event_id in (2, 3, 4):
        history.scheduled(event_id, NOTIFY)
    history.raised(DECISION_EVENT, APPROVE)
    for event_id, result in zip((2, 3, 4), (UPDATED, DELIVERED, POSTED), strict=True):
        history.completed(event_id, result)
    done = run(history)
    assert done["isDone"] is True
    assert done["customStatus"] == {"stage": "expired"}
    assert flush_calls(done) == []
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
    assert stage(state) == outcome
    assert len(ending_notifications(state)) == 3, "one ending is told, once"
    assert len(event_waits(state)) == 1, "the orchestration never waits again"
    done = finish_notifications(history, 2, UPDATED, DELIVERED, POSTED)
    if outcome == "approved":
        history.new_episode().scheduled(5, FLUSH).completed(5, ACCEPTED)
        run(history)
        done = finish_notifications(history, 6, DELIVERED, POSTED, POSTED)
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
    assert len(activity_calls(state)) == 1, "nothing is told, nothing is flushed"
    assert len(event_waits(state)) == 2, "a fresh wait for the next event"
    [timer] = timers(state)
    assert timer["isCanceled"] is False, "the same deadline still holds"

    history.new_episode("2026-01-01T00:20:00.000Z").raised(DECISION_EVENT, APPROVE)
    state = run(history)
    assert stage(state) == "approved"
    assert len(timers(state)) == 1, "no second timer"
    assert "Approved by <@U0002>" in texts(ending_notifications(state)[0])


def test_after_an_ignored_event_the_deadline_still_expires_the_request() -> None:
    history = new_history()
    posted_request(history)
    raise_events(history, decision("approve", "U0001", "jo_bloggs"))
    history.new_episode(DEADLINE_AT).fired(1, DEADLINE_AT)
    state = run(history)
    assert stage(state) == "expired"
    assert flush_calls(state) == []


def test_a_cancel_that_arrives_before_the_request_is_posted_still_counts() -> None:
    history = new_history()
    run(history)
    history.new_episode("2026-01-01T00:00:01.000Z").scheduled(0, NOTIFY)
    history.raised(DECISION_EVENT, CANCEL).completed(0, REQUEST_POSTED)
    state = run(history)
    assert stage(state) == "cancelled"
    assert "Cancelled by the requester" in texts(ending_notifications(state)[0])


def test_a_bad_event_before_the_request_is_posted_never_flushes_and_ends_at_the_deadline() -> None:
    """The SDK offers an event that arrived before any wait to every later wait: bounded."""
    history = new_history()
    run(history)
    history.new_episode().scheduled(0, NOTIFY)
    history.raised(DECISION_EVENT, decision("approve", "U0001", "jo_bloggs"))
    history.completed(0, REQUEST_POSTED)
    state = run(history)
    assert state["isDone"] is False
    assert stage(state) == "awaiting_approval"
    assert len(activity_calls(state)) == 1
    state = expire(history)
    assert stage(state) == "expired"
    assert flush_calls(state) == []


# --- the request cannot be posted -----------------------------------------------------------


def test_a_request_that_cannot_be_posted_is_told_to_the_requester_without_a_flush() -> None:
    history = new_history()
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
    modal, dm = ending_notifications(state)
    assert dm["text"] == "Cache flush approval request failed"
    for payload in (modal, dm):
        assert "could not be posted" in texts(payload)
        assert "contact the app developer" in texts(payload)
    done = finish_notifications(history, 6, DELIVERED, POSTED)
    assert done["isDone"] is True
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


def test_without_the_posted_message_s_ts_the_ending_is_still_told_to_the_requester() -> None:
    history = new_history()
    posted_request(history, {"delivered": True, "reason": None, "channel": None, "ts": None})
    state = raise_events(history, REJECT)
    assert [p["kind"] for p in ending_notifications(state)] == ["update_view", "post_message"]


def test_a_closed_modal_at_the_ending_is_recorded() -> None:
    history = new_history()
    posted_request(history)
    raise_events(history, REJECT)
    closed = {"delivered": False, "reason": "not_found", "channel": None, "ts": None}
    done = finish_notifications(history, 2, UPDATED, closed, POSTED)
    assert done["output"]["approval"]["notifications"]["modal"] == {
        "delivered": False,
        "reason": "not_found",
    }


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


def test_without_a_plan_no_custom_status_is_set() -> None:
    state = run(History("flush_orchestrator", request_input(approval=None)))
    assert "customStatus" not in state
    assert len(flush_calls(state)) == 1


def test_replay_is_deterministic_and_needs_no_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    def full_run() -> str:
        history = new_history()
        posted_request(history)
        raise_events(history, APPROVE)
        finish_notifications(history, 2, UPDATED, DELIVERED, POSTED)
        history.new_episode().scheduled(5, FLUSH).completed(5, ACCEPTED)
        run(history)
        return json.dumps(finish_notifications(history, 6, DELIVERED, POSTED, POSTED))

    with_environment = full_run()
    for name in list(os.environ):
        monkeypatch.delenv(name)
    assert full_run() == with_environment
