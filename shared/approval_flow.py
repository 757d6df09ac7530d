"""The flush orchestration's approval steps: ask, wait for the first decision, tell, flush.

The wait races a durable external event (`DECISION_EVENT`) against a durable timer at the
deadline (ADR 0011). Only the first decision that counts ends it; an event that is not a
decision, or breaks four eyes, is ignored and the wait goes on until the same deadline.
Replay-safe like `shared.orchestration`: the only clock is the context's.
"""

from __future__ import annotations

import logging
from collections.abc import Generator
from datetime import timedelta
from typing import Any

import azure.durable_functions as df

from shared import approval_views, audit, views
from shared.approval import (
    DECISION_EVENT,
    ApprovalRecord,
    ApprovalSummary,
    Decision,
    Ended,
    Place,
    Stage,
    WaitingPlaces,
    counted_decision,
)
from shared.handoffs import (
    AccessAnswer,
    AccessQuery,
    ApprovalPlan,
    Delivery,
    FlushRequest,
    FlushSummary,
    Notification,
)
from shared.orchestration import (
    deliver_all,
    flush_with_retries,
    plan_notifications,
    requester_notifications,
    retry_options,
    short_error,
)

logger = logging.getLogger(__name__)

# Events that are not decisions are ignored this many times at most; after that only the
# deadline ends the wait, so a flood of bad events cannot grow the history without bound.
MAX_IGNORED_EVENTS = 20
CHECK_ACCESS_ACTIVITY = "check_access_activity"
ACCESS_ATTEMPTS = 3


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

    The request is posted without buttons; the URLs it has no room for are replied in its
    thread, one reply after another; only then is it updated with Approve and Reject, and the
    requester sent a DM with Cancel request. An approved flush runs only if the requester may
    still flush. Returns the orchestration's output (`ApprovalSummary`); custom status shows
    each stage, and while waiting also where the request and the DM are (`WaitingPlaces`).
    """
    expires = context.current_utc_datetime + timedelta(minutes=plan.timeout_minutes)
    deadline = views.SlackTime.at(expires)
    context.set_custom_status(Stage.AWAITING_APPROVAL.status())
    opened = yield from _open_request(context, request, plan, deadline)
    if isinstance(opened, dict):
        return opened
    place, sent = opened

    decision = yield from wait_for_decision(context, request.user_id, expires)
    stage = decision.action.stage if decision else Stage.EXPIRED
    unavailable = False
    if decision is not None and stage is Stage.APPROVED:
        allowed = yield from still_allowed(context, request)
        if allowed is not True:
            stage, unavailable = Stage.NOT_ALLOWED, allowed is None
    decided_at = context.current_utc_datetime.isoformat()
    decider = (decision.user_id, decision.user_name) if decision else (None, None)
    context.set_custom_status(Ended(stage, None, *decider).status())
    if not context.is_replaying:
        audit.approval_ended(context.instance_id, request, stage.value, decision)

    after = (
        f":no_entry_sign: *Approved, but {approval_views.not_allowed_text(request, unavailable)}.*"
        if stage is Stage.NOT_ALLOWED
        else None
    )
    ended = approval_views.outcome_message(request, plan, deadline, stage, decision, after=after)
    planned = {"update": Notification.update_message(place.channel, place.ts, ended)}
    news = approval_views.requester_message(request, plan, stage, decision, unavailable=unavailable)
    pending = sent.get("pending_dm")
    if pending is not None and pending.delivered and pending.channel and pending.ts:
        planned["dm_update"] = Notification.update_message(pending.channel, pending.ts, news)
    planned.update(requester_notifications(request, news, flush_again=stage is not Stage.APPROVED))
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

    flushed = yield from flush_with_retries(context, request)
    result = flushed.last
    approver = views.person(decision.user_name, decision.user_id)
    finished = approval_views.outcome_message(
        request, plan, deadline, stage, decision, after=approval_views.flush_outcome_text(flushed)
    )
    context.set_custom_status(Ended.after_flush(result, *decider).status())
    results = plan_notifications(request, flushed, approver)
    results["request"] = Notification.update_message(place.channel, place.ts, finished)
    deliveries = yield from deliver_all(context, request, results)
    return ApprovalSummary(record, FlushSummary.of(result, deliveries)).to_dict()


def _open_request(
    context: df.DurableOrchestrationContext,
    request: FlushRequest,
    plan: ApprovalPlan,
    deadline: views.SlackTime,
) -> Generator[Any, Any, tuple[Place, dict[str, Delivery]] | dict[str, Any]]:
    """Post the request, list every URL, then add the buttons and DM the requester.

    Returns where the request is and every delivery so far; or, when the approvers could not
    be shown the request in full, the orchestration's output after telling the requester.
    """
    instance = context.instance_id
    quiet = approval_views.request_message(request, plan, instance, deadline, live=False)
    sent = yield from deliver_all(
        context, request, {"request": Notification.post_message(plan.channel, quiet)}
    )
    posted = sent["request"]
    if not (posted.delivered and posted.channel and posted.ts):
        return (yield from _request_failed(context, request, sent))
    place = Place(posted.channel, posted.ts)
    context.set_custom_status(WaitingPlaces(request=place).status())
    for number, reply in enumerate(approval_views.thread_replies(request), start=1):
        name = f"thread_{number}"
        note = Notification.post_message(place.channel, reply, thread_ts=place.ts)
        sent.update((yield from deliver_all(context, request, {name: note})))
        if not sent[name].delivered:
            return (yield from _withdraw(context, request, deadline, place, sent))
    live = approval_views.request_message(request, plan, instance, deadline)
    pending = approval_views.pending_message(request, plan, instance, deadline)
    sent.update(
        (
            yield from deliver_all(
                context,
                request,
                {
                    "buttons": Notification.update_message(place.channel, place.ts, live),
                    "pending_dm": Notification.post_message(request.user_id, pending),
                },
            )
        )
    )
    if not sent["buttons"].delivered:
        return (yield from _withdraw(context, request, deadline, place, sent))
    dm = sent["pending_dm"]
    dm_place = Place(dm.channel, dm.ts) if dm.delivered and dm.channel and dm.ts else None
    context.set_custom_status(WaitingPlaces(request=place, dm=dm_place).status())
    return place, sent


def still_allowed(
    context: df.DurableOrchestrationContext, request: FlushRequest
) -> Generator[Any, Any, bool | None]:
    """Whether the requester may still flush: True, False, or None when it could not be read.

    Read through the access activity, under the request's retry policy; None (fail closed)
    once every attempt failed.
    """
    retry = retry_options(request, ACCESS_ATTEMPTS)
    query = AccessQuery(request.user_id).to_dict()
    try:
        answer = yield context.call_activity_with_retry(
            CHECK_ACCESS_ACTIVITY, retry, query, expected_type=dict
        )
    except Exception as error:  # the Durable SDK raises a bare Exception for a failed activity
        if not context.is_replaying:
            logger.error("The requester's access could not be checked: %s", short_error(error))
        return None
    return AccessAnswer.from_dict(answer).allowed


def _withdraw(
    context: df.DurableOrchestrationContext,
    request: FlushRequest,
    deadline: views.SlackTime,
    place: Place,
    sent: dict[str, Delivery],
) -> Generator[Any, Any, dict[str, Any]]:
    """The request could not be shown in full: withdraw it, and the DM's Cancel if posted."""
    withdrawn = approval_views.withdrawn_message(request, deadline)
    planned = {"withdrawn": Notification.update_message(place.channel, place.ts, withdrawn)}
    dm = sent.get("pending_dm")
    if dm is not None and dm.delivered and dm.channel and dm.ts:
        news = approval_views.request_failed_message(request)
        planned["dm_withdrawn"] = Notification.update_message(dm.channel, dm.ts, news)
    sent.update((yield from deliver_all(context, request, planned)))
    return (yield from _request_failed(context, request, sent))


def _request_failed(
    context: df.DurableOrchestrationContext, request: FlushRequest, sent: dict[str, Delivery]
) -> Generator[Any, Any, dict[str, Any]]:
    """End without a flush when the request could not be shown: tell the requester."""
    failed_at = context.current_utc_datetime.isoformat()
    context.set_custom_status(Stage.REQUEST_FAILED.status())
    if not context.is_replaying:
        reasons = sorted({d.reason or "not delivered" for d in sent.values() if not d.delivered})
        logger.error("The approval request could not be shown: %s", ", ".join(reasons))
    news = approval_views.request_failed_message(request)
    told = yield from deliver_all(context, request, requester_notifications(request, news))
    record = ApprovalRecord(
        outcome=Stage.REQUEST_FAILED,
        by=None,
        by_name=None,
        at=failed_at,
        notifications={name: d.outcome() for name, d in {**sent, **told}.items()},
    )
    return ApprovalSummary(record).to_dict()
