"""The flush orchestration's data: its input, the notifications it sends, its summary.

Pure functions only: the orchestrator calls them during replay, so they must not read a
clock, the environment, randomness or the network (SPEC section 10).
"""

from __future__ import annotations

import re
from dataclasses import asdict, dataclass
from typing import Any

from shared import views

ORCHESTRATOR = "flush_orchestrator"
CACHE_FLUSH_ACTIVITY = "call_cache_flush_activity"
NOTIFY_ACTIVITY = "notify_user_activity"
FLUSH_ATTEMPTS = 3
NOTIFY_ATTEMPTS = 3
ERROR_CHARS = 300
HOST_ERROR_PREFIX = re.compile(
    r"^(?:Activity function '[^']*' failed:\s*)?(?:[\w.]*(?:Error|Exception):\s*)*"
)


@dataclass(frozen=True)
class FlushRequest:
    """The orchestration's input: who asked, where to report, and what to flush."""

    user_id: str
    user_name: str
    team_id: str
    view_id: str
    environment: str
    urls: tuple[str, ...]
    channel: str | None
    retry_interval_ms: int

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready form."""
        return {**asdict(self), "urls": list(self.urls)}

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> FlushRequest:
        """Rebuild from the orchestration input."""
        return cls(
            user_id=data["user_id"],
            user_name=data["user_name"],
            team_id=data["team_id"],
            view_id=data["view_id"],
            environment=data["environment"],
            urls=tuple(data["urls"]),
            channel=data.get("channel"),
            retry_interval_ms=int(data["retry_interval_ms"]),
        )


def instance_id(team_id: str, view_id: str) -> str:
    """A deterministic instance ID for one submitted view, so a repeat never flushes twice."""
    safe = re.sub(r"[^A-Za-z0-9_-]", "_", f"{team_id or 'noteam'}-{view_id}")
    return f"flush-{safe}"[:100]


def short_error(error: BaseException | str) -> str:
    """The first line of an error, bounded, for messages and the summary.

    The host reports a failed activity as "Activity function 'name' failed: Type: message";
    only the message is meant for people.
    """
    lines = [line.strip() for line in str(error).splitlines() if line.strip()]
    first = HOST_ERROR_PREFIX.sub("", lines[0]) if lines else ""
    fallback = "unknown error" if isinstance(error, str) else type(error).__name__
    return (first or fallback)[:ERROR_CHARS]


def failed_flush(error: BaseException) -> dict[str, Any]:
    """The flush result when every attempt failed: no response, with the last error."""
    return {"ok": False, "status": None, "body": None, "error": short_error(error)}


def result_message(request: FlushRequest, result: dict[str, Any]) -> views.Message:
    """The success or failure content for a cache-flush result."""
    if result.get("ok"):
        return views.success_message(
            request.user_name,
            request.user_id,
            request.environment,
            request.urls,
            result.get("body"),
        )
    return views.failure_message(result.get("status"), result.get("body"), result.get("error"))


def notifications(
    request: FlushRequest, result: dict[str, Any]
) -> list[tuple[str, dict[str, Any]]]:
    """Each notification as (target, activity input): modal, DM, and channel on success."""
    message = result_message(request, result)
    planned = [
        ("modal", {"kind": "view", "view_id": request.view_id, "view": views.result_view(message)}),
        ("dm", {"kind": "message", "channel": request.user_id, **message}),
    ]
    if result.get("ok") and request.channel:
        planned.append(("channel", {"kind": "message", "channel": request.channel, **message}))
    return planned


def summary(result: dict[str, Any], outcomes: dict[str, dict[str, Any]]) -> dict[str, Any]:
    """The orchestration's output: the flush outcome and each notification's outcome."""
    return {
        "flush": {"ok": bool(result.get("ok")), "status": result.get("status")},
        "error": result.get("error"),
        "notifications": outcomes,
    }
