"""The audit trail: who asked to flush, who decided, and what was flushed.

Every record goes to the one `audit` logger at INFO, with a readable message and the same
facts as structured fields (`extra`), so they can be queried rather than parsed: with
OpenTelemetry enabled in the Functions worker they become custom dimensions in Application
Insights (doc/deployment.md, Operations). Each record's `audit_event` names what happened;
every record carries the orchestration's `instance_id`.

Fields are strings, integers or booleans only, and never hold a token, secret or key.
The orchestrator writes its records only when it is not replaying.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping, Sequence

AUDIT_LOGGER = "audit"
FLUSH_REQUESTED = "flush_requested"
DECISION_RAISED = "decision_raised"
APPROVAL_ENDED = "approval_ended"
FLUSHED = "flushed"

Field = str | int | bool

_logger = logging.getLogger(AUDIT_LOGGER)


def _record(event: str, fields: Mapping[str, Field], message: str, *args: object) -> None:
    _logger.info(message, *args, extra={"audit_event": event, **fields})


def flush_requested(
    *,
    instance_id: str,
    requester_id: str,
    requester_name: str,
    environment: str,
    urls: Sequence[str],
    needs_approval: bool,
) -> None:
    """A submitted flush request has started its orchestration."""
    joined = " ".join(urls)
    _record(
        FLUSH_REQUESTED,
        {
            "instance_id": instance_id,
            "requester_id": requester_id,
            "requester_name": requester_name,
            "environment": environment,
            "urls": joined,
            "url_count": len(urls),
            "needs_approval": needs_approval,
        },
        "%s (%s) asked to flush %d URL(s) in %s: %s",
        requester_name,
        requester_id,
        len(urls),
        environment,
        joined,
    )


def decision_raised(*, instance_id: str, decider_id: str, decider_name: str, action: str) -> None:
    """A click's decision (approve, reject, cancel) was raised on the waiting request."""
    _record(
        DECISION_RAISED,
        {
            "instance_id": instance_id,
            "decider_id": decider_id,
            "decider_name": decider_name,
            "action": action,
        },
        "%s (%s) clicked %s on %s",
        decider_name,
        decider_id,
        action,
        instance_id,
    )


def approval_ended(
    *,
    instance_id: str,
    requester_id: str,
    requester_name: str,
    outcome: str,
    decider_id: str | None,
    decider_name: str | None,
) -> None:
    """A request that needed approval stopped waiting: decided, expired or refused."""
    fields: dict[str, Field] = {
        "instance_id": instance_id,
        "requester_id": requester_id,
        "requester_name": requester_name,
        "outcome": outcome,
    }
    by = ""
    if decider_id is not None:
        fields |= {"decider_id": decider_id, "decider_name": decider_name or ""}
        by = f" by {decider_name} ({decider_id})"
    _record(
        APPROVAL_ENDED,
        fields,
        "The flush request of %s (%s) ended as %s%s",
        requester_name,
        requester_id,
        outcome,
        by,
    )


def flushed(
    *,
    instance_id: str,
    requester_id: str,
    environment: str,
    urls: Sequence[str],
    ok: bool,
    status: int | None,
    error: str | None,
    attempts: int,
) -> None:
    """cache-flush gave its last answer for the request (or none was had)."""
    fields: dict[str, Field] = {
        "instance_id": instance_id,
        "requester_id": requester_id,
        "environment": environment,
        "urls": " ".join(urls),
        "url_count": len(urls),
        "ok": ok,
        "attempts": attempts,
    }
    if status is not None:
        fields["status"] = status
    if error is not None:
        fields["error"] = error
    answer = f"HTTP {status}" if status is not None else f"no answer ({error})"
    _record(
        FLUSHED,
        fields,
        "Flush of %d URL(s) in %s for %s: %s after %d attempt(s)",
        len(urls),
        environment,
        requester_id,
        answer,
        attempts,
    )
