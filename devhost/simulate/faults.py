"""Fault injection shared by the simulators: make the next calls fail, stall or vanish."""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Any

from aiohttp import web

from devhost.simulate import fields

MAX_DELAY_SECONDS = 120.0
_EFFECTS = ("status", "retry_after", "error", "body", "delay", "drop", "non_json")


@dataclass(frozen=True)
class Fault:
    """One injected fault: what to do to the matching calls, and how many of them."""

    times: int = 1
    method: str | None = None
    status: int | None = None
    retry_after: float | None = None
    error: str | None = None
    body: Any = None
    delay: float = 0.0
    drop: bool = False
    non_json: bool = False

    @property
    def replaces_answer(self) -> bool:
        """Tell whether the fault answers in place of the simulator (not just a delay)."""
        return (
            self.drop
            or self.non_json
            or self.status is not None
            or self.error is not None
            or self.body is not None
            or self.retry_after is not None
        )

    def describe(self) -> dict[str, Any]:
        """Return the fault's settings that differ from the defaults, for records."""
        defaults = Fault()
        return {
            key: value
            for key, value in asdict(self).items()
            if key != "times" and value != getattr(defaults, key)
        }


def parse_fault(data: Any, allowed: frozenset[str]) -> Fault:
    """Build a `Fault` from a request's JSON, accepting only the `allowed` keys.

    Raise `ValueError` with a one-line reason when the JSON is not a valid fault.
    """
    if not isinstance(data, dict):
        raise ValueError("a fault must be a JSON object")
    unknown = sorted(set(data) - allowed)
    if unknown:
        raise ValueError(f"unknown fault properties: {', '.join(unknown)}")
    if not any(key in data for key in _EFFECTS):
        raise ValueError(
            f"a fault needs at least one of: {', '.join(sorted(allowed & set(_EFFECTS)))}"
        )
    times = data.get("times", 1)
    if isinstance(times, bool) or not isinstance(times, int) or times < 1:
        raise ValueError("'times' must be a positive integer")
    status = fields.number(data, "status", 100, 599)
    return Fault(
        times=times,
        method=fields.text(data, "method"),
        status=None if status is None else int(status),
        retry_after=fields.number(data, "retry_after", 0, 3600),
        error=fields.text(data, "error"),
        body=data.get("body"),
        delay=fields.number(data, "delay", 0, MAX_DELAY_SECONDS) or 0.0,
        drop=fields.flag(data, "drop"),
        non_json=fields.flag(data, "non_json"),
    )


class FaultQueue:
    """Pending faults in the order they were added; loop-confined."""

    def __init__(self) -> None:
        """Create an empty queue."""
        self._pending: list[list[Any]] = []

    def add(self, fault: Fault) -> None:
        """Queue a fault for its next `times` matching calls."""
        self._pending.append([fault, fault.times])

    def take(self, method: str | None = None) -> Fault | None:
        """Consume one use of the first fault matching `method` (or any method); None if none."""
        for entry in self._pending:
            fault = entry[0]
            if fault.method is None or fault.method == method:
                entry[1] -= 1
                if entry[1] == 0:
                    self._pending.remove(entry)
                return fault
        return None

    def clear(self) -> None:
        """Forget every pending fault."""
        self._pending.clear()

    def describe(self) -> list[dict[str, Any]]:
        """Return the pending faults with their remaining use counts."""
        return [{**fault.describe(), "remaining": remaining} for fault, remaining in self._pending]


def drop_connection(request: web.Request) -> web.StreamResponse:
    """Close the client's connection without answering; return a response aiohttp never sends."""
    if request.transport is not None:
        request.transport.close()
    return web.Response(status=444)
