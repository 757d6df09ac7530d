"""The flush orchestration's steps: its input, the cache-flush retries, the notifications.

Replay-safe: the orchestrator runs this code again on every replay, so nothing here reads a
clock (only the context's), the environment or randomness, or does I/O of its own
(doc/behaviour.md, "The orchestration").
"""

from __future__ import annotations

import logging
from collections.abc import Generator, Mapping
from dataclasses import replace
from typing import Any

import azure.durable_functions as df

from shared import audit, result_views, views
from shared.handoffs import (
    Delivery,
    FlushAttempts,
    FlushCall,
    FlushRequest,
    FlushResult,
    HomeOwner,
    Notification,
)

logger = logging.getLogger(__name__)

ORCHESTRATOR = "flush_orchestrator"
CACHE_FLUSH_ACTIVITY = "call_cache_flush_activity"
NOTIFY_ACTIVITY = "notify_user_activity"
PUBLISH_HOME_ACTIVITY = "publish_home_activity"
FLUSH_ATTEMPTS = 3
NOTIFY_ATTEMPTS = 3
ERROR_CHARS = 300
ACTIVITY_FAILED = "the app hit an unexpected error while calling cache-flush"
NOTIFY_FAILED = "{method} failed after {attempts} attempts; see the instance history"


def retry_options(request: FlushRequest, attempts: int) -> df.RetryOptions:
    """A durable retry policy: `attempts` in all, the first retry after the request's interval."""
    return df.RetryOptions(request.retry_interval_ms, attempts)


def short_error(error: BaseException | str) -> str:
    """The first line of an error, bounded, for log lines; its text decides nothing."""
    lines = [line.strip() for line in str(error).splitlines() if line.strip()]
    fallback = "unknown error" if isinstance(error, str) else type(error).__name__
    return (lines[0] if lines else fallback)[:ERROR_CHARS]


def _unanswered(result: FlushResult) -> bool:
    """Whether nothing answered the attempt (a timeout or a network error)."""
    return result.status is None and result.transient


def flush_with_retries(
    context: df.DurableOrchestrationContext, request: FlushRequest
) -> Generator[Any, Any, FlushAttempts]:
    """Call cache-flush up to FLUSH_ATTEMPTS times; return the answer to report and the attempts.

    A transient result (no response, 429, 502, 503, 504) is tried again after a durable
    timer of the request's retry interval; any other result is final. When the final attempt
    got no response but an earlier one was answered, that earlier answer is reported (what
    cache-flush last said), with the unanswered attempts after it. The activity returns a
    result for every answer, so an exception from it is unexpected: it ends the retries as a
    result that was not sent, without reading the exception's text.
    """
    call = FlushCall(request.environment, request.urls).to_dict()
    attempt = 1
    received: FlushAttempts | None = None
    unconfirmed = False
    while True:
        try:
            answer = yield context.call_activity(CACHE_FLUSH_ACTIVITY, call, expected_type=dict)
            result = FlushResult.from_dict(answer)
        except Exception as error:  # the Durable SDK raises a bare Exception for a failed activity
            if not context.is_replaying:
                logger.error("The cache-flush activity failed: %s", short_error(error))
            result = FlushResult.not_sent(ACTIVITY_FAILED)
        if not result.transient or attempt == FLUSH_ATTEMPTS:
            flushed = FlushAttempts(result, attempt, unconfirmed)
            if _unanswered(result) and received is not None:
                flushed = replace(
                    received,
                    count=attempt,
                    unanswered_later=attempt - received.count,
                    later_error=result.error,
                )
            if not context.is_replaying:
                audit.flushed(context.instance_id, request, flushed)
            return flushed
        if result.status is not None:
            received = FlushAttempts(result, attempt, unconfirmed)
        unconfirmed = unconfirmed or result.unconfirmed
        if not context.is_replaying:
            logger.warning(
                "cache-flush attempt %d of %d: %s; trying again",
                attempt,
                FLUSH_ATTEMPTS,
                f"HTTP {result.status}" if result.status is not None else result.error,
            )
        yield context.create_timer(context.current_utc_datetime + request.retry_interval)
        attempt += 1


def result_message(
    request: FlushRequest, flushed: FlushAttempts, approved_by: str | None = None
) -> views.Message:
    """The success or failure content for the last cache-flush result.

    `approved_by` names the approver (mrkdwn) when the flush needed approval.
    """
    result = flushed.last
    if result.ok:
        return result_views.success_message(
            request.user_name,
            request.user_id,
            request.environment,
            request.urls,
            result.body,
            approved_by=approved_by,
        )
    return result_views.failure_message(
        result,
        request.environment,
        request.urls,
        flushed.count,
        approved_by=approved_by,
        contact=request.support_contact,
        unconfirmed_earlier=flushed.unconfirmed_earlier,
        unanswered_later=flushed.unanswered_later,
        later_error=flushed.later_error,
    )


def requester_notifications(
    request: FlushRequest, message: views.Message, *, flush_again: bool = True
) -> dict[str, Notification]:
    """The requester's two copies of `message`: the modal ("modal") and a DM ("dm").

    Both carry a Flush again button unless `flush_again` is False (the flush still runs).
    """
    if flush_again:
        message = views.with_flush_again(message, request.instance_id)
    return {
        "modal": Notification.update_view(request.view_id, result_views.result_view(message)),
        "dm": Notification.post_message(request.user_id, message),
    }


def plan_notifications(
    request: FlushRequest, flushed: FlushAttempts, approved_by: str | None = None
) -> dict[str, Notification]:
    """Each notification by name: the modal, the DM, and on success the channel."""
    message = result_message(request, flushed, approved_by)
    planned = requester_notifications(request, message)
    if flushed.last.ok and request.channel:
        planned["channel"] = Notification.post_message(request.channel, message)
    return planned


def deliver_all(
    context: df.DurableOrchestrationContext,
    request: FlushRequest,
    planned: Mapping[str, Notification],
) -> Generator[Any, Any, dict[str, Delivery]]:
    """Send every notification at once, each under a retry policy; one failure stops none."""
    retry = retry_options(request, NOTIFY_ATTEMPTS)
    tasks = {
        name: context.call_activity_with_retry(
            NOTIFY_ACTIVITY, retry, notification.to_dict(), expected_type=dict
        )
        for name, notification in planned.items()
    }
    try:
        yield context.task_all(list(tasks.values()))
    except Exception:  # the Durable SDK raises a bare Exception for a failed activity
        if not context.is_replaying:
            logger.warning("A notification failed; waiting for the others")
    deliveries: dict[str, Delivery] = {}
    for name, task in tasks.items():
        try:
            deliveries[name] = Delivery.from_dict((yield task))
        except Exception:  # the Durable SDK raises a bare Exception for a failed activity
            reason = NOTIFY_FAILED.format(
                method=planned[name].slack_method, attempts=NOTIFY_ATTEMPTS
            )
            deliveries[name] = Delivery(delivered=False, reason=reason)
    return deliveries


def publish_home(
    context: df.DurableOrchestrationContext, request: FlushRequest
) -> Generator[Any, Any, None]:
    """Publish the requester's Home tab again, now that the flush has ended (best effort).

    Called once the ending is the custom status, so the tab shows it. A failure is logged:
    the tab is published afresh whenever the user opens it.
    """
    owner = HomeOwner(request.team_id, request.user_id).to_dict()
    try:
        yield context.call_activity_with_retry(
            PUBLISH_HOME_ACTIVITY, retry_options(request, NOTIFY_ATTEMPTS), owner
        )
    except Exception as error:  # the Durable SDK raises a bare Exception for a failed activity
        if not context.is_replaying:
            logger.warning("The Home tab was not published again: %s", short_error(error))
