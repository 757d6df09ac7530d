"""The orchestration's typed hand-offs survive durable history as the SDKs store them."""

from __future__ import annotations

import json
from typing import Any

import pytest
from azure.functions import _durable_functions
from azure.functions.durable_functions import ActivityTriggerConverter
from azure.functions.meta import Datum

from shared import views
from shared.handoffs import (
    Delivery,
    FlushCall,
    FlushResult,
    FlushSummary,
    Notification,
    NotificationKind,
    Outcome,
)
from shared.orchestration import FlushRequest

MESSAGE = views.failure_message(
    FlushResult.answered(503, {"message": "cold start"}), "staging", ["https://www.nhs.uk/ção"]
)

VALUES: list[Any] = [
    FlushCall("production", ("https://www.nhs.uk/a", "https://www.nhs.uk/%C3%A7")),
    FlushResult.answered(201, {"purgeId": "p-1", "estimatedSeconds": 5, "urls": ["u"]}),
    FlushResult.answered(503, "<html>Service Unavailable</html>"),
    FlushResult.answered(307, "", "redirected"),
    FlushResult.no_response("cache-flush did not answer within 30 s"),
    FlushResult.not_sent("the app hit an unexpected error"),
    Notification.update_view("V1", views.result_view(MESSAGE)),
    Notification.post_message("U1", MESSAGE),
    Delivery(delivered=True, channel="D1", ts="1700000000.000100"),
    Delivery(delivered=False, reason="not_found"),
    Outcome(delivered=False, reason="failed"),
    FlushSummary(
        ok=False,
        status=503,
        error=None,
        notifications={"modal": Outcome(True), "dm": Outcome(False, "x")},
    ),
    FlushRequest("U1", "jo", "T1", "V1", "staging", ("https://www.nhs.uk/",), None, 5000),
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


@pytest.mark.parametrize(
    "data",
    [
        {"kind": "update_view", "view_id": "", "view": {"type": "modal"}},
        {"kind": "update_view", "view_id": "V1", "view": {}},
        {"kind": "post_message", "channel": "", "text": "t"},
        {"kind": "post_message", "channel": "U1", "text": ""},
    ],
)
def test_a_notification_without_its_target_is_refused(data: dict[str, Any]) -> None:
    complete = {"view_id": "", "view": {}, "channel": "", "text": "", "blocks": [], **data}
    with pytest.raises(ValueError, match="needs"):
        Notification.from_dict(complete)


def test_an_unknown_notification_kind_is_refused() -> None:
    data = Notification.post_message("U1", MESSAGE).to_dict()
    with pytest.raises(ValueError, match="sideways"):
        Notification.from_dict({**data, "kind": "sideways"})
    assert {kind.value for kind in NotificationKind} == {"update_view", "post_message"}
