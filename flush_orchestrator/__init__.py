"""Orchestrator: call cache-flush under a retry policy, then fan out the notifications.

Replay-safe: everything it needs is in its input; it reads no clock, environment or
randomness and does no I/O of its own.
"""

from __future__ import annotations

import logging
from collections.abc import Generator
from typing import Any

import azure.durable_functions as df

from shared.orchestration import (
    CACHE_FLUSH_ACTIVITY,
    FLUSH_ATTEMPTS,
    NOTIFY_ACTIVITY,
    NOTIFY_ATTEMPTS,
    FlushRequest,
    failed_flush,
    notifications,
    short_error,
    summary,
)

logger = logging.getLogger(__name__)


def orchestrate(context: df.DurableOrchestrationContext) -> Generator[Any, Any, dict[str, Any]]:
    """Flush, then update the modal, DM the user and (on success) post to the channel."""
    request = FlushRequest.from_dict(context.get_input(expected_type=dict))
    if not context.is_replaying:
        logger.info(
            "Audit: %s (%s) asked to flush %d URL(s) in %s: %s",
            request.user_name,
            request.user_id,
            len(request.urls),
            request.environment,
            " ".join(request.urls),
        )
    flush_retry = df.RetryOptions(request.retry_interval_ms, FLUSH_ATTEMPTS)
    try:
        result = yield context.call_activity_with_retry(
            CACHE_FLUSH_ACTIVITY,
            flush_retry,
            {"environment": request.environment, "urls": list(request.urls)},
        )
    except Exception as error:
        result = failed_flush(error)

    notify_retry = df.RetryOptions(request.retry_interval_ms, NOTIFY_ATTEMPTS)
    planned = notifications(request, result)
    tasks = [
        context.call_activity_with_retry(NOTIFY_ACTIVITY, notify_retry, payload)
        for _, payload in planned
    ]
    try:
        yield context.task_all(tasks)
    except Exception:
        if not context.is_replaying:
            logger.warning("A notification failed; waiting for the others")
    outcomes: dict[str, dict[str, Any]] = {}
    for (target, _), task in zip(planned, tasks, strict=True):
        try:
            outcomes[target] = yield task
        except Exception as error:
            outcomes[target] = {"delivered": False, "reason": short_error(error)}
    return summary(result, outcomes)


main = df.Orchestrator.create(orchestrate)
