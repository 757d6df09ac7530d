"""An ordered, pollable log of everything the simulators see and do."""

from __future__ import annotations

import asyncio
import bisect
import copy
from datetime import UTC, datetime
from typing import Any

MAX_EVENTS = 5000
MAX_WAIT_SECONDS = 30.0


def utc_now_iso() -> str:
    """Return the current wall-clock time as an ISO 8601 UTC string with milliseconds."""
    return datetime.now(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


class EventLog:
    """Sequence-numbered events shared by the simulators; loop-confined.

    Every event gets the next sequence number, so a reader that remembers the
    last number it saw can ask for what happened since. Only the newest
    `MAX_EVENTS` are kept; sequence numbers never restart, even after a reset.
    """

    def __init__(self) -> None:
        """Create an empty log."""
        self._events: list[dict[str, Any]] = []
        self._seq = 0
        self._arrived = asyncio.Event()

    @property
    def last_seq(self) -> int:
        """Return the sequence number of the newest event (0 when none yet)."""
        return self._seq

    def add(self, source: str, kind: str, data: dict[str, Any]) -> int:
        """Append a snapshot of `data` and wake any waiting readers; return its sequence number."""
        self._seq += 1
        self._events.append(
            {
                "seq": self._seq,
                "time": utc_now_iso(),
                "source": source,
                "kind": kind,
                "data": copy.deepcopy(data),
            }
        )
        del self._events[:-MAX_EVENTS]
        self._arrived.set()
        self._arrived = asyncio.Event()
        return self._seq

    def since(self, seq: int, source: str | None = None) -> list[dict[str, Any]]:
        """Return the events newer than `seq`, optionally only those from `source`."""
        # Events are kept in sequence order, so the newer ones are found by bisection: a
        # reader polling for what is new does not rescan the whole log each time.
        first = bisect.bisect_right(self._events, seq, key=lambda event: event["seq"])
        return [
            event for event in self._events[first:] if source is None or event["source"] == source
        ]

    async def wait_since(
        self, seq: int, source: str | None, timeout: float
    ) -> list[dict[str, Any]]:
        """Like `since`, but wait up to `timeout` seconds for a first new event."""
        deadline = asyncio.get_running_loop().time() + min(max(timeout, 0.0), MAX_WAIT_SECONDS)
        while not (events := self.since(seq, source)):
            remaining = deadline - asyncio.get_running_loop().time()
            if remaining <= 0:
                break
            try:
                await asyncio.wait_for(self._arrived.wait(), remaining)
            except TimeoutError:
                break
        return events

    def forget(self, source: str) -> None:
        """Drop the events of one source (sequence numbers keep increasing)."""
        self._events = [event for event in self._events if event["source"] != source]
