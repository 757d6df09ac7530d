"""The orchestration's typed hand-offs survive durable history as the SDKs store them."""

from __future__ import annotations

import json
from typing import Any

import pytest
from azure.functions import _durable_functions
from azure.functions.durable_functions import ActivityTriggerConverter
from azure.functions.meta import Datum

from shared import result_views
from shared.approval import (
    ApprovalRecord,
    ApprovalSummary,
    Decision,
    DecisionAction,
    Stage,
)
from shared.handoffs import (
    ApprovalPlan,
    Delivery,
    FlushCall,
    FlushRequest,
    FlushResult,
    FlushSummary,
    Notification,
    NotificationKind,
    Outcome,
)

APPROVAL_REQUEST = FlushRequest(
    "U1",
    "jo",
    "T1",
    "V1",
    "production",
    ("https://www.nhs.uk/",),
    "ops",
    5000,
    ApprovalPlan("C0APPROVE1", 0.5, "<!subteam^S1>"),
)
MESSAGE = result_views.failure_message(
    FlushResult.answered(503, {"message": "cold start"}), "staging", ["https://www.nhs.uk/ção"]
)

VALUES: list[Any] = [
    FlushCall("production", ("https://www.nhs.uk/a", "https://www.nhs.uk/%C3%A7")),
    FlushResult.answered(201, {"purgeId": "p-1", "estimatedSeconds": 5, "urls": ["u"]}),
    FlushResult.answered(503, "<html>Service Unavailable</html>"),
    FlushResult.answered(307, "", "redirected"),
    FlushResult.no_response("cache-flush did not answer within 30 s"),
    FlushResult.not_sent("the app hit an unexpected error"),
    Notification.update_view("V1", result_views.result_view(MESSAGE)),
    Notification.post_message("U1", MESSAGE),
    Notification.update_message("C1", "1700000000.000100", MESSAGE),
    Delivery(delivered=True, channel="D1", ts="1700000000.000100"),
    Delivery(delivered=False, reason="not_found"),
    FlushRequest("U1", "jo", "T1", "V1", "staging", ("https://www.nhs.uk/",), None, 5000),
    APPROVAL_REQUEST,
    ApprovalPlan("approvals", 60, "<@U2>"),
    Decision(DecisionAction.CANCEL, "U1", "jo"),
]


# The orchestration's outputs: written for the durable status, never read back by the app.
OUTPUTS: list[Any] = [
    Outcome(delivered=False, reason="failed"),
    FlushSummary(
        ok=False,
        status=503,
        error=None,
        notifications={"modal": Outcome(True), "dm": Outcome(False, "x")},
    ),
    ApprovalRecord(Stage.EXPIRED, None, None, "2026-01-01T01:00:00+00:00", {"dm": Outcome(True)}),
    ApprovalSummary(
        ApprovalRecord(Stage.APPROVED, "U2", "sam", "2026-01-01T00:10:00+00:00"),
        FlushSummary(ok=True, status=201, error=None, notifications={"modal": Outcome(True)}),
    ),
    ApprovalSummary(ApprovalRecord(Stage.REJECTED, "U3", "kim", "2026-01-01T00:10:00+00:00")),
]


def ids(value: Any) -> str:
    return type(value).__name__


@pytest.mark.parametrize("value", VALUES, ids=ids)
def test_round_trip_through_plain_json(value: Any) -> None:
    stored = json.dumps(value.to_dict())
    assert type(value).from_dict(json.loads(stored)) == value


@pytest.mark.parametrize("value", VALUES, ids=ids)
def test_round_trip_through_the_activity_trigger_and_the_replay_decoder(value: Any) -> None:
    """Out through the worker's activity converter, back through the SDK's history decoder."""
    encoded = ActivityTriggerConverter.encode(value.to_dict(), expected_type=None)
    decoded = _durable_functions.df_loads(encoded.value, expected_type=dict)
    assert type(value).from_dict(decoded) == value


@pytest.mark.parametrize("value", VALUES, ids=ids)
def test_round_trip_as_activity_input(value: Any) -> None:
    """As the orchestrator schedules it (JSON text) and the activity trigger decodes it."""
    datum = Datum(type="json", value=json.dumps(value.to_dict()))
    decoded = ActivityTriggerConverter.decode(datum, trigger_metadata=None)
    assert type(value).from_dict(decoded) == value


@pytest.mark.parametrize("value", OUTPUTS, ids=ids)
def test_outputs_are_plain_json_through_the_activity_converter(value: Any) -> None:
    """The orchestrator returns these: the SDK must carry them unchanged as JSON."""
    data = value.to_dict()
    encoded = ActivityTriggerConverter.encode(data, expected_type=None)
    assert _durable_functions.df_loads(encoded.value, expected_type=dict) == data
    assert json.loads(json.dumps(data)) == data


def test_the_summary_shows_the_flush_outcome_and_each_notification() -> None:
    summary = FlushSummary.of(
        FlushResult.answered(503, {"message": "busy"}),
        {"modal": Delivery(True), "dm": Delivery(True, channel="D1", ts="1.2")},
    )
    assert summary.to_dict() == {
        "flush": {"ok": False, "status": 503},
        "error": None,
        "notifications": {
            "modal": {"delivered": True, "reason": None},
            "dm": {"delivered": True, "reason": None},
        },
    }


def test_results_are_transient_exactly_for_the_retryable_failures() -> None:
    assert [s for s in range(200, 600) if FlushResult.answered(s, None).transient] == [
        429,
        502,
        503,
        504,
    ]
    assert all(FlushResult.answered(s, None).ok for s in range(200, 300))
    assert not any(FlushResult.answered(s, None).ok for s in (199, 300, 307, 400, 503))
    assert FlushResult.no_response("timed out").transient
    assert not FlushResult.not_sent("bad URL").transient


def test_results_are_unconfirmed_exactly_when_cache_flush_itself_did_not_answer() -> None:
    assert [s for s in range(100, 600) if FlushResult.answered(s, None).unconfirmed] == [502, 504]
    assert FlushResult.no_response("timed out").unconfirmed
    assert not FlushResult.not_sent("bad URL").unconfirmed


@pytest.mark.parametrize(
    "data",
    [
        {"kind": "update_view", "view_id": "", "view": {"type": "modal"}},
        {"kind": "update_view", "view_id": "V1", "view": {}},
        {"kind": "post_message", "channel": "", "text": "t"},
        {"kind": "post_message", "channel": "U1", "text": ""},
        {"kind": "update_message", "channel": "", "ts": "1.2", "text": "t"},
        {"kind": "update_message", "channel": "C1", "ts": "", "text": "t"},
        {"kind": "update_message", "channel": "C1", "ts": "1.2", "text": ""},
    ],
)
def test_a_notification_without_its_target_is_refused(data: dict[str, Any]) -> None:
    empty = {"view_id": "", "view": {}, "channel": "", "text": "", "blocks": [], "ts": ""}
    complete = {**empty, "thread_ts": "", **data}
    with pytest.raises(ValueError, match="needs"):
        Notification.from_dict(complete)


def test_an_unknown_notification_kind_is_refused() -> None:
    data = Notification.post_message("U1", MESSAGE).to_dict()
    with pytest.raises(ValueError, match="sideways"):
        Notification.from_dict({**data, "kind": "sideways"})
    assert {kind.value for kind in NotificationKind} == {
        "update_view",
        "post_message",
        "update_message",
    }


def test_a_flush_request_without_approval_keeps_its_earlier_shape() -> None:
    request = FlushRequest("U1", "jo", "T1", "V1", "staging", ("https://www.nhs.uk/",), None, 5)
    assert "approval" not in request.to_dict()
    assert FlushRequest.from_dict({**request.to_dict(), "approval": None}) == request


def test_the_approval_summary_is_the_flush_summary_plus_the_approval() -> None:
    record = ApprovalRecord(Stage.APPROVED, "U2", "sam", "2026-01-01T00:10:00+00:00")
    flushed = FlushSummary.of(FlushResult.answered(201, {}), {"modal": Delivery(True)})
    data = ApprovalSummary(record, flushed).to_dict()
    assert {key: value for key, value in data.items() if key != "approval"} == flushed.to_dict()
    assert ApprovalSummary(record).to_dict() == {
        "approval": record.to_dict(),
        "flush": None,
        "error": None,
        "notifications": {},
    }


@pytest.mark.parametrize(
    "payload",
    [
        None,
        "approve",
        ["approve", "U2"],
        {},
        {"action": "approve", "user_name": "sam"},
        {"action": "approve", "user_id": "U2"},
        {"action": "approve", "user_id": "", "user_name": "sam"},
        {"action": "approve", "user_id": "<!channel>", "user_name": "sam"},
        {"action": "approve", "user_id": 12, "user_name": "sam"},
        {"action": "flush", "user_id": "U2", "user_name": "sam"},
        {"action": ["approve"], "user_id": "U2", "user_name": "sam"},
        {"action": "approve", "user_id": "U2", "user_name": None},
    ],
)
def test_a_payload_that_is_not_a_decision_raises_value_error(payload: Any) -> None:
    with pytest.raises(ValueError, match=r"decision|DecisionAction"):
        Decision.from_dict(payload)


def test_four_eyes_approvers_decide_and_only_the_requester_cancels() -> None:
    assert Decision(DecisionAction.APPROVE, "U2", "sam").counts_for("U1")
    assert Decision(DecisionAction.REJECT, "U2", "sam").counts_for("U1")
    assert not Decision(DecisionAction.APPROVE, "U1", "jo").counts_for("U1")
    assert not Decision(DecisionAction.REJECT, "U1", "jo").counts_for("U1")
    assert Decision(DecisionAction.CANCEL, "U1", "jo").counts_for("U1")
    assert not Decision(DecisionAction.CANCEL, "U2", "sam").counts_for("U1")


def test_each_button_maps_to_its_decision_and_stage() -> None:
    assert {
        action_id: (DecisionAction.for_action_id(action_id), action.stage)
        for action in DecisionAction
        for action_id in [action.action_id]
    } == {
        "approve_flush": (DecisionAction.APPROVE, Stage.APPROVED),
        "reject_flush": (DecisionAction.REJECT, Stage.REJECTED),
        "cancel_flush": (DecisionAction.CANCEL, Stage.CANCELLED),
    }
    assert DecisionAction.for_action_id("environment_input") is None


def test_the_stage_is_read_back_from_custom_status() -> None:
    for stage in Stage:
        assert Stage.of_status(json.loads(json.dumps(stage.status()))) is stage
    for junk in (None, "approved", {}, {"stage": "lost"}, {"stage": ["approved"]}):
        assert Stage.of_status(junk) is None


@pytest.mark.parametrize(
    "plan",
    [
        None,
        {"channel": "", "timeout_minutes": 60, "approvers": ""},
        {"channel": "C1", "timeout_minutes": True, "approvers": ""},
        {"channel": "C1", "timeout_minutes": -1, "approvers": ""},
        {"channel": "C1", "timeout_minutes": float("nan"), "approvers": ""},
        {"channel": "C1", "timeout_minutes": float("inf"), "approvers": ""},
        {"channel": "C1", "timeout_minutes": 60},
        {"channel": 7, "timeout_minutes": 60, "approvers": ""},
    ],
)
def test_a_plan_that_cannot_be_followed_raises_value_error(plan: Any) -> None:
    with pytest.raises(ValueError, match="approval plan"):
        ApprovalPlan.from_dict(plan)
    with pytest.raises(ValueError, match="approval plan"):
        FlushRequest.from_dict({**APPROVAL_REQUEST.to_dict(), "approval": plan or "x"})
