"""The audit trail: who asked to flush, who decided, and what was flushed.

Every record goes to the one `audit` logger at INFO, with a readable message and the same
facts as structured fields (`extra`), so they can be queried rather than parsed. The worker
passes the message on to the host as text; where Application Insights is configured,
`shared.audit_export` (installed when this module is imported) also sends each record there
with its fields as custom dimensions (doc/deployment.md, Operations). Each record's
`audit_event` names what happened; every record carries the orchestration's `instance_id`.

Fields are strings, integers or booleans only, and never hold a token, secret or key.
The orchestrator writes its records only when it is not replaying.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from typing import TYPE_CHECKING, Protocol

from shared import audit_export

if TYPE_CHECKING:
    from shared.handoffs import FlushAttempts, FlushRequest

AUDIT_LOGGER = "audit"
FLUSH_REQUESTED = "flush_requested"
DECISION_RAISED = "decision_raised"
APPROVAL_ENDED = "approval_ended"
FLUSHED = "flushed"

Field = str | int | bool

_logger = logging.getLogger(AUDIT_LOGGER)
audit_export.install(AUDIT_LOGGER)


def _record(event: str, fields: Mapping[str, Field], message: str, *args: object) -> None:
    _logger.info(message, *args, extra={"audit_event": event, **fields})


class Person(Protocol):
    """Who asked or decided (a flush request, a decision, a click)."""

    @property
    def user_id(self) -> str: ...

    @property
    def user_name(self) -> str: ...


def _what(instance_id: str, request: FlushRequest) -> dict[str, Field]:
    return {
        "instance_id": instance_id,
        "requester_id": request.user_id,
        "requester_name": request.user_name,
        "environment": request.environment,
        "urls": " ".join(request.urls),
        "url_count": len(request.urls),
    }


def flush_requested(instance_id: str, request: FlushRequest) -> None:
    """A submitted flush request has started its orchestration."""
    fields = _what(instance_id, request) | {"needs_approval": request.approval is not None}
    _record(
        FLUSH_REQUESTED,
        fields,
        "%s (%s) asked to flush %d URL(s) in %s: %s",
        request.user_name,
        request.user_id,
        len(request.urls),
        request.environment,
        fields["urls"],
    )


def decision_raised(instance_id: str, decider: Person, action: str) -> None:
    """A click's decision (approve, reject, cancel) was raised on the waiting request."""
    _record(
        DECISION_RAISED,
        {
            "instance_id": instance_id,
            "decider_id": decider.user_id,
            "decider_name": decider.user_name,
            "action": action,
        },
        "%s (%s) clicked %s on %s",
        decider.user_name,
        decider.user_id,
        action,
        instance_id,
    )


def approval_ended(instance_id: str, request: Person, outcome: str, decider: Person | None) -> None:
    """A request that needed approval stopped waiting: decided, expired or refused."""
    fields: dict[str, Field] = {
        "instance_id": instance_id,
        "requester_id": request.user_id,
        "requester_name": request.user_name,
        "outcome": outcome,
    }
    by = ""
    if decider is not None:
        fields |= {"decider_id": decider.user_id, "decider_name": decider.user_name}
        by = f" by {decider.user_name} ({decider.user_id})"
    _record(
        APPROVAL_ENDED,
        fields,
        "The flush request of %s (%s) ended as %s%s",
        request.user_name,
        request.user_id,
        outcome,
        by,
    )


def flushed(instance_id: str, request: FlushRequest, flushed: FlushAttempts) -> None:
    """cache-flush gave its last answer for the request (or none was had).

    When attempts after that answer got no response, it says how many and the final one's
    network error: they may have gone through.
    """
    answer, attempts = flushed.last, flushed.count
    fields = _what(instance_id, request) | {"ok": answer.ok, "attempts": attempts}
    if answer.status is not None:
        fields["status"] = answer.status
    if answer.error is not None:
        fields["error"] = answer.error
    said = f"HTTP {answer.status}" if answer.status is not None else f"no answer ({answer.error})"
    if flushed.unanswered_later:
        fields["unanswered_later"] = flushed.unanswered_later
        said += f", then {flushed.unanswered_later} unanswered"
        if flushed.later_error is not None:
            fields["later_error"] = flushed.later_error
            said += f" ({flushed.later_error})"
    _record(
        FLUSHED,
        fields,
        "Flush of %d URL(s) in %s for %s: %s after %d attempt(s)",
        len(request.urls),
        request.environment,
        request.user_id,
        said,
        attempts,
    )
