"""Approvals: the plan, the decision event, the stages and the record of who decided.

A flush of an environment that needs approval waits for a second person's decision
(doc/behaviour.md, "Approvals and user groups"; ADR 0011). The HTTP side builds the
`ApprovalPlan` into the orchestration's input and raises each valid click as a `Decision`
under `DECISION_EVENT`; the orchestrator checks every decision again (four eyes) and reports
its stage as custom status. Nothing here reads a clock, the environment or the network, so
the orchestrator may use it during replay.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from enum import Enum
from typing import TYPE_CHECKING, Any

from shared.handoffs import ApprovalPlan, Fields, FlushResult, FlushSummary, JsonObject, Outcome

if TYPE_CHECKING:
    from shared.settings import Settings

DECISION_EVENT = "approval_decision"
APPROVE_ACTION = "approve_flush"
REJECT_ACTION = "reject_flush"
CANCEL_ACTION = "cancel_flush"
NAME_CHARS = 200
_SLACK_ID = re.compile(r"[A-Z0-9]{2,40}")


class Stage(Enum):
    """Where a request that needs approval stands, shown as custom status `{"stage": ...}`."""

    AWAITING_APPROVAL = "awaiting_approval"
    APPROVED = "approved"
    REJECTED = "rejected"
    CANCELLED = "cancelled"
    EXPIRED = "expired"
    REQUEST_FAILED = "approval_request_failed"
    NOT_ALLOWED = "not_allowed"
    FLUSHED = "flushed"
    FLUSH_FAILED = "flush_failed"

    def status(self) -> JsonObject:
        """The custom status for this stage."""
        return {"stage": self.value}

    @classmethod
    def of_status(cls, custom_status: Any) -> Stage | None:
        """The stage an instance's custom status shows, or None if it shows none."""
        value = custom_status.get("stage") if isinstance(custom_status, Mapping) else None
        try:
            return cls(value)
        except ValueError:
            return None


class DecisionAction(Enum):
    """What a decision does: approve or reject (an approver), or cancel (the requester)."""

    APPROVE = "approve"
    REJECT = "reject"
    CANCEL = "cancel"

    @property
    def action_id(self) -> str:
        """The `action_id` of the button that makes this decision."""
        return _ACTION_IDS[self]

    @property
    def stage(self) -> Stage:
        """The stage this decision ends the wait in."""
        return _STAGES[self]

    @classmethod
    def for_action_id(cls, action_id: str) -> DecisionAction | None:
        """The decision a button's `action_id` makes, or None for any other action."""
        return next((action for action in cls if action.action_id == action_id), None)


_ACTION_IDS = {
    DecisionAction.APPROVE: APPROVE_ACTION,
    DecisionAction.REJECT: REJECT_ACTION,
    DecisionAction.CANCEL: CANCEL_ACTION,
}
_STAGES = {
    DecisionAction.APPROVE: Stage.APPROVED,
    DecisionAction.REJECT: Stage.REJECTED,
    DecisionAction.CANCEL: Stage.CANCELLED,
}


@dataclass(frozen=True)
class Place(Fields):
    """Where a posted message is: the channel ID Slack answered with (`C…`, `D…`) and its ts."""

    channel: str
    ts: str

    @classmethod
    def from_dict(cls, data: Any) -> Place | None:
        """Rebuild from a custom status; None for anything that is not a place."""
        if not isinstance(data, Mapping):
            return None
        channel, ts = data.get("channel"), data.get("ts")
        if isinstance(channel, str) and channel and isinstance(ts, str) and ts:
            return cls(channel, ts)
        return None


@dataclass(frozen=True)
class WaitingPlaces:
    """Where a waiting request's buttons are: the request message and the requester's DM.

    The orchestrator records them in its custom status while it waits, so a click is
    honoured only from these messages (or the requester's modal, for Cancel).
    """

    request: Place | None = None
    dm: Place | None = None

    def status(self) -> JsonObject:
        """The custom status while waiting: the stage and the recorded places."""
        status = Stage.AWAITING_APPROVAL.status()
        for name, place in (("request", self.request), ("dm", self.dm)):
            if place is not None:
                status[name] = place.to_dict()
        return status

    @classmethod
    def of_status(cls, custom_status: Any) -> WaitingPlaces:
        """The places a custom status records (none for a status without them)."""
        if not isinstance(custom_status, Mapping):
            return cls()
        return cls(
            Place.from_dict(custom_status.get("request")), Place.from_dict(custom_status.get("dm"))
        )


@dataclass(frozen=True)
class Ended:
    """How a flush ended, kept as its custom status so its history needs nothing else.

    Set before the last notifications go out, so a Home tab published then already shows
    the outcome: the stage, the purge ID cache-flush gave, and who approved (or decided).
    """

    stage: Stage
    purge_id: str | None = None
    decided_by: str | None = None
    decided_by_name: str | None = None

    def status(self) -> JsonObject:
        """The custom status: the stage, and each detail that is known."""
        status = self.stage.status()
        details = (
            ("purge_id", self.purge_id),
            ("decided_by", self.decided_by),
            ("decided_by_name", self.decided_by_name),
        )
        status.update((name, value) for name, value in details if value)
        return status

    @classmethod
    def after_flush(
        cls, result: FlushResult, decided_by: str | None = None, decided_by_name: str | None = None
    ) -> Ended:
        """How a flush ended once cache-flush answered: flushed (with its purge ID) or not."""
        stage = Stage.FLUSHED if result.ok else Stage.FLUSH_FAILED
        return cls(stage, result.purge_id, decided_by, decided_by_name)

    @classmethod
    def of_status(cls, custom_status: Any) -> Ended | None:
        """The ending a custom status records, or None while the flush has not ended."""
        stage = Stage.of_status(custom_status)
        if stage is None or stage in (Stage.AWAITING_APPROVAL, Stage.APPROVED):
            return None
        details = custom_status if isinstance(custom_status, Mapping) else {}

        def text(name: str) -> str | None:
            value = details.get(name)
            return value if isinstance(value, str) and value else None

        return cls(stage, text("purge_id"), text("decided_by"), text("decided_by_name"))


def plan_for(settings: Settings, environment: str, approvers: str) -> ApprovalPlan | None:
    """The approval plan for a flush of `environment`, or None if it needs no approval."""
    channel = settings.approval_channel_for(environment)
    if channel is None:
        return None
    return ApprovalPlan(channel, settings.approval_timeout_minutes, approvers)


@dataclass(frozen=True)
class Decision(Fields):
    """One click on a request: who made it and what it does (the external event's payload)."""

    action: DecisionAction
    user_id: str
    user_name: str

    @classmethod
    def from_dict(cls, data: Any) -> Decision:
        """Rebuild from an event's payload; ValueError for anything that is not a decision."""
        if not isinstance(data, Mapping):
            raise ValueError("a decision must be an object")
        user_id, user_name = data.get("user_id"), data.get("user_name")
        if not isinstance(user_id, str) or not _SLACK_ID.fullmatch(user_id):
            raise ValueError("a decision needs the member ID of who made it")
        if not isinstance(user_name, str):
            raise ValueError("a decision needs the name of who made it")
        return cls(DecisionAction(data.get("action")), user_id, user_name[:NAME_CHARS])

    def counts_for(self, requester_id: str) -> bool:
        """Whether this decision may end the request of `requester_id`.

        Four eyes: approve and reject come from someone other than the requester; cancel
        comes from the requester alone.
        """
        if self.action is DecisionAction.CANCEL:
            return self.user_id == requester_id
        return self.user_id != requester_id


def counted_decision(payload: Any, requester_id: str) -> Decision | None:
    """The decision an event carries if it counts for this request, otherwise None.

    The Python durable client serializes event data before posting it as JSON, so the
    extension hands the orchestrator the decision as JSON text: that text is decoded here.
    """
    try:
        decision = Decision.from_dict(json.loads(payload) if isinstance(payload, str) else payload)
    except (ValueError, RecursionError):
        return None
    return decision if decision.counts_for(requester_id) else None


@dataclass(frozen=True)
class ApprovalRecord(Fields):
    """How the wait for a decision ended, as the orchestration's output records it.

    `outcome` is an ending stage; `by` and `by_name` name who decided (None on expiry or
    when the request could not be posted); `at` is the ISO time the ending was processed;
    `notifications` are the outcomes of the request and of the messages about its ending.
    """

    outcome: Stage
    by: str | None
    by_name: str | None
    at: str
    notifications: Mapping[str, Outcome] = field(default_factory=dict)


@dataclass(frozen=True)
class ApprovalSummary:
    """The output of a flush that needed approval: the approval, then the flush if it ran.

    Its JSON is the plain flush summary plus an `approval` key; `flush` is null, and there
    are no flush notifications, when the flush did not run.
    """

    approval: ApprovalRecord
    flush: FlushSummary | None = None

    def to_dict(self) -> JsonObject:
        """JSON-ready form, as the durable status endpoint shows it."""
        ran = self.flush.to_dict() if self.flush else {"flush": None, "error": None}
        return {"approval": self.approval.to_dict(), "notifications": {}, **ran}
