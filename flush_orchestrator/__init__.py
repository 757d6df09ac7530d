"""Orchestrator: call cache-flush (retrying transient failures), then notify the user.

When the input carries an approval plan, a second person's decision comes first
(`shared.approval_flow`).

Replay-safe: everything it needs is in its input; it reads no clock, environment or
randomness and does no I/O of its own.
"""

from __future__ import annotations

from collections.abc import Generator
from typing import Any

import azure.durable_functions as df

from shared import audit
from shared.approval_flow import flush_with_approval
from shared.handoffs import FlushSummary
from shared.orchestration import (
    FlushRequest,
    deliver_all,
    flush_with_retries,
    plan_notifications,
)


def orchestrate(context: df.DurableOrchestrationContext) -> Generator[Any, Any, dict[str, Any]]:
    """Flush, then update the modal, DM the user and (on success) post to the channel."""
    request = FlushRequest.from_dict(context.get_input(expected_type=dict))
    if not context.is_replaying:
        audit.flush_requested(
            context.instance_id, request, needs_approval=request.approval is not None
        )
    if request.approval is not None:
        return (yield from flush_with_approval(context, request, request.approval))
    flushed = yield from flush_with_retries(context, request)
    planned = plan_notifications(request, flushed)
    deliveries = yield from deliver_all(context, request, planned)
    return FlushSummary.of(flushed.last, deliveries).to_dict()


main = df.Orchestrator.create(orchestrate)
