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
from shared.approval import Ended
from shared.approval_flow import flush_with_approval
from shared.handoffs import FlushRequest, FlushSummary
from shared.orchestration import (
    deliver_all,
    flush_with_retries,
    plan_notifications,
    publish_home,
)


def orchestrate(context: df.DurableOrchestrationContext) -> Generator[Any, Any, dict[str, Any]]:
    """Flush, tell the user (modal, DM, channel on success), then refresh their Home tab."""
    request = FlushRequest.from_dict(context.get_input(expected_type=dict))
    if not context.is_replaying:
        audit.flush_requested(context.instance_id, request)
    if request.approval is not None:
        output = yield from flush_with_approval(context, request, request.approval)
    else:
        flushed = yield from flush_with_retries(context, request)
        context.set_custom_status(Ended.after_flush(flushed.last).status())
        deliveries = yield from deliver_all(context, request, plan_notifications(request, flushed))
        output = FlushSummary.of(flushed.last, deliveries).to_dict()
    yield from publish_home(context, request)
    return output


main = df.Orchestrator.create(orchestrate)
