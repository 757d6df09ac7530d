"""The audit trail: one `audit` logger, structured fields, once per fact, never on replay.

The orchestrator runs in the real Durable replay engine over hand-built histories; every
episode replays it from the start, so a record written while replaying would repeat.
"""

from __future__ import annotations

import logging
from typing import Any

import pytest

from shared.audit import AUDIT_LOGGER
from tests.support.histories import History
from tests.test_approval_orchestrator import (
    INSTANCE,
    REJECT,
    approve,
    expire,
    new_history,
    posted_request,
    raise_events,
)
from tests.test_flush_orchestrator import (
    ACCEPTED,
    DELIVERED,
    POSTED,
    URLS,
    answered,
    finish_notifications,
    flush_answers,
    no_response,
    request_input,
    run,
)

STANDARD = {*logging.makeLogRecord({}).__dict__, "message", "asctime", "taskName"}
REQUESTER = {"requester_id": "U0001", "requester_name": "jo_bloggs"}
WHAT = {"environment": "production", "urls": " ".join(URLS), "url_count": 2}


def fields(record: logging.LogRecord) -> dict[str, Any]:
    """The structured fields a record carries (what `extra` added)."""
    return {key: value for key, value in record.__dict__.items() if key not in STANDARD}


def audit_records(caplog: pytest.LogCaptureFixture) -> list[dict[str, Any]]:
    return [fields(r) for r in caplog.records if r.name == AUDIT_LOGGER]


@pytest.fixture
def audit(caplog: pytest.LogCaptureFixture) -> pytest.LogCaptureFixture:
    caplog.set_level(logging.INFO, logger=AUDIT_LOGGER)
    return caplog


def test_a_flush_is_audited_when_asked_and_when_flushed_once_each(
    audit: pytest.LogCaptureFixture,
) -> None:
    history = History("flush_orchestrator", request_input())
    flush_answers(history, answered(503, {}), ACCEPTED)
    finish_notifications(history, 3, DELIVERED, POSTED, POSTED)
    assert audit_records(audit) == [
        {
            "audit_event": "flush_requested",
            "instance_id": history.instance_id,
            **REQUESTER,
            **WHAT,
            "needs_approval": False,
        },
        {
            "audit_event": "flushed",
            "instance_id": history.instance_id,
            **REQUESTER,
            **WHAT,
            "ok": True,
            "status": 201,
            "attempts": 2,
        },
    ]
    requested, flushed = (r for r in audit.records if r.name == AUDIT_LOGGER)
    assert requested.levelno == flushed.levelno == logging.INFO
    assert requested.getMessage() == (
        "jo_bloggs (U0001) asked to flush 2 URL(s) in production: " + " ".join(URLS)
    )
    assert flushed.getMessage() == (
        "Flush of 2 URL(s) in production for U0001: HTTP 201 after 2 attempt(s)"
    )


def test_a_flush_that_got_no_answer_is_audited_with_the_error_and_no_status(
    audit: pytest.LogCaptureFixture,
) -> None:
    history = History("flush_orchestrator", request_input())
    flush_answers(history, *[no_response("ConnectTimeout")] * 3)
    [flushed] = [r for r in audit_records(audit) if r["audit_event"] == "flushed"]
    assert (flushed["ok"], flushed["error"], flushed["attempts"]) == (False, "ConnectTimeout", 3)
    assert "status" not in flushed


def test_an_approved_flush_audits_the_decision_with_who_decided(
    audit: pytest.LogCaptureFixture,
) -> None:
    history = new_history()
    approve(history)
    finish_notifications(history, 5, *[DELIVERED] * 4)
    history.new_episode().scheduled(9, "call_cache_flush_activity").completed(9, ACCEPTED)
    run(history)
    events = audit_records(audit)
    assert [e["audit_event"] for e in events] == ["flush_requested", "approval_ended", "flushed"]
    assert events[0]["needs_approval"] is True
    assert events[1] == {
        "audit_event": "approval_ended",
        "instance_id": INSTANCE,
        **REQUESTER,
        "outcome": "approved",
        "decider_id": "U0002",
        "decider_name": "sam_approver",
    }
    assert (events[2]["instance_id"], events[2]["status"]) == (INSTANCE, 201)


def test_a_rejection_is_audited_and_nothing_is_flushed(audit: pytest.LogCaptureFixture) -> None:
    history = new_history()
    posted_request(history)
    raise_events(history, REJECT)
    ended = audit_records(audit)[1:]
    assert ended == [
        {
            "audit_event": "approval_ended",
            "instance_id": INSTANCE,
            **REQUESTER,
            "outcome": "rejected",
            "decider_id": "U0003",
            "decider_name": "kim_approver",
        }
    ]


def test_an_expired_request_is_audited_without_a_decider(audit: pytest.LogCaptureFixture) -> None:
    history = new_history()
    posted_request(history)
    expire(history)
    [ended] = [r for r in audit.records if fields(r).get("audit_event") == "approval_ended"]
    assert fields(ended)["outcome"] == "expired"
    assert "decider_id" not in fields(ended)
    assert ended.getMessage() == "The flush request of jo_bloggs (U0001) ended as expired"


def test_a_flush_whose_last_attempts_went_unanswered_is_audited_with_the_last_answer(
    audit: pytest.LogCaptureFixture,
) -> None:
    history = History("flush_orchestrator", request_input())
    flush_answers(history, answered(503, {}), *[no_response("ConnectTimeout")] * 2)
    [flushed] = [r for r in audit_records(audit) if r["audit_event"] == "flushed"]
    assert (flushed["ok"], flushed["status"], flushed["attempts"]) == (False, 503, 3)
    assert (flushed["unanswered_later"], flushed["later_error"]) == (2, "ConnectTimeout")
