"""The flush orchestration's approval steps: ask, wait for the first decision, tell, flush.

The wait races a durable external event (`DECISION_EVENT`) against a durable timer at the
deadline (ADR 0011). Only the first decision that counts ends it; an event that is not a
decision, or breaks four eyes, is ignored and the wait goes on until the same deadline.
Replay-safe like `shared.orchestration`: the only clock is the context's.
"""

from __future__ import annotations

import calendar
import logging
from collections.abc import Generator
from datetime import timedelta
from typing import Any

import azure.durable_functions as df

from shared import approval_views, views
from shared.approval import (
    DECISION_EVENT,
    ApprovalPlan,
    ApprovalRecord,
    ApprovalSummary,
    Deadline,
    Decision,
    Stage,
    counted_decision,
)
from shared.handoffs import Delivery, FlushSummary, Notification
from shared.orchestration import (
    FlushRequest,
    deliver_all,
    flush_with_retries,
    plan_notifications,
    requester_notifications,
)

logger = logging.getLogger(__name__)

# Events that are not decisions are ignored this many times at most; after that only the
# deadline ends the wait, so a flood of bad events cannot grow the history without bound.
MAX_IGNORED_EVENTS = 20
DEADLINE_FALLBACK_FORMAT = "%Y-%m-%d %H:%M UTC"


def wait_for_decision(
    context: df.DurableOrchestrationContext, requester_id: str, expires: Any
) -> Generator[Any, Any, Decision | None]:
    """The first decision that counts for this request, or None once `expires` has passed.

    `expires` is a datetime derived from the context's clock. A decision cancels the timer;
    later events are never read, as the orchestration moves on.
    """
    timer = context.create_timer(expires)
    for _ in range(MAX_IGNORED_EVENTS + 1):
        event = context.wait_for_external_event(DECISION_EVENT)
        winner = yield context.task_any([event, timer])
        if winner is timer:
            return None
        decision = counted_decision(winner.result, requester_id)
        if decision is not None:
            if not timer.is_completed:
                timer.cancel()
            return decision
        if not context.is_replaying:
            logger.warning("Ignored an approval event that is not a decision for this request")
    yield timer
    return None


def flush_with_approval(
    context: df.DurableOrchestrationContext, request: FlushRequest, plan: ApprovalPlan
) -> Generator[Any, Any, dict[str, Any]]:
    """Post the request, wait for a decision or the deadline, tell everyone, flush if approved.

    Returns the orchestration's output (`ApprovalSummary`); custom status shows each stage.
    """
    expires = context.current_utc_datetime + timedelta(minutes=plan.timeout_minutes)
    deadline = Deadline(
        calendar.timegm(expires.utctimetuple()), expires.strftime(DEADLINE_FALLBACK_FORMAT)
    )
    context.set_custom_status(Stage.AWAITING_APPROVAL.status())
    ask = approval_views.request_message(request, plan, context.instance_id, deadline)
    sent = yield from deliver_all(
        context, request, {"request": Notification.post_message(plan.channel, ask)}
    )
    posted = sent["request"]
    if not posted.delivered:
        return (yield from _request_failed(context, request, posted))

    decision = yield from wait_for_decision(context, request.user_id, expires)
    stage = decision.action.stage if decision else Stage.EXPIRED
    decided_at = context.current_utc_datetime.isoformat()
    context.set_custom_status(stage.status())
    if not context.is_replaying:
        logger.info(
            "Audit: the flush request of %s (%s) ended as %s%s",
            request.user_name,
            request.user_id,
            stage.value,
            f" by {decision.user_name} ({decision.user_id})" if decision else "",
        )

    planned: dict[str, Notification] = {}
    if posted.channel and posted.ts:
        ended = approval_views.outcome_message(request, plan, deadline, stage, decision)
        planned["update"] = Notification.update_message(posted.channel, posted.ts, ended)
    news = approval_views.requester_message(request, plan, stage, decision)
    planned.update(requester_notifications(request, news))
    told = yield from deliver_all(context, request, planned)
    record = ApprovalRecord(
        outcome=stage,
        by=decision.user_id if decision else None,
        by_name=decision.user_name if decision else None,
        at=decided_at,
        notifications={name: d.outcome() for name, d in {**sent, **told}.items()},
    )
    if decision is None or stage is not Stage.APPROVED:
        return ApprovalSummary(record).to_dict()

    result, attempts = yield from flush_with_retries(context, request)
    approver = views.person(decision.user_name, decision.user_id)
    deliveries = yield from deliver_all(
        context, request, plan_notifications(request, result, attempts, approver)
    )
    context.set_custom_status((Stage.FLUSHED if result.ok else Stage.FLUSH_FAILED).status())
    return ApprovalSummary(record, FlushSummary.of(result, deliveries)).to_dict()


def _request_failed(
    context: df.DurableOrchestrationContext, request: FlushRequest, posted: Delivery
) -> Generator[Any, Any, dict[str, Any]]:
    """End without a flush when the request could not be posted: tell the requester."""
    failed_at = context.current_utc_datetime.isoformat()
    context.set_custom_status(Stage.REQUEST_FAILED.status())
    if not context.is_replaying:
        logger.error("The approval request could not be posted: %s", posted.reason)
    news = approval_views.request_failed_message(request)
    told = yield from deliver_all(context, request, requester_notifications(request, news))
    record = ApprovalRecord(
        outcome=Stage.REQUEST_FAILED,
        by=None,
        by_name=None,
        at=failed_at,
        notifications={name: d.outcome() for name, d in {"request": posted, **told}.items()},
    )
    return ApprovalSummary(record).to_dict()
