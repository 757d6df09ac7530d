"""A small cache for values read from elsewhere: trusted for a time, served stale for longer.

Both the allowed-users list (storage) and Slack user-group members use it (doc/behaviour.md,
Allowed users): a value is trusted for the cache time, then refreshed; when a refresh fails,
the last value is served again for one more cache time, but never longer than `stale_limit`
after it was last read or confirmed. After that the caller fails closed.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Hashable
from dataclasses import dataclass
from typing import Generic, TypeVar

STALE_FACTOR = 10
# However long the cache time, no copy is served longer than this after it was last read or
# confirmed: a user removed from the list loses access within it, whatever storage does.
MAX_STALE_SECONDS = 600.0

KeyT = TypeVar("KeyT", bound=Hashable)
ValueT = TypeVar("ValueT")


def stale_limit(cache_seconds: float) -> float:
    """How long after its last read or confirmation a cached copy may still be served.

    Ten cache times, capped at MAX_STALE_SECONDS: a long cache time never stretches how
    long a removed user keeps access when storage (or Slack) cannot answer.
    """
    return min(cache_seconds * STALE_FACTOR, MAX_STALE_SECONDS)


@dataclass
class _Entry(Generic[ValueT]):
    value: ValueT
    checked_at: float
    due_at: float


class StaleCache(Generic[KeyT, ValueT]):
    """Values by key, each with when it was last read or confirmed and when it is due again.

    Thread-safe. The cache time is passed to each call, as it comes from the settings of the
    request at hand.
    """

    def __init__(self, clock: Callable[[], float] = time.monotonic) -> None:
        self.clock = clock
        self._entries: dict[KeyT, _Entry[ValueT]] = {}
        self._lock = threading.Lock()

    def _servable(self, key: KeyT, ttl: float, now: float) -> _Entry[ValueT] | None:
        with self._lock:
            entry = self._entries.get(key)
        if entry is None or now - entry.checked_at >= stale_limit(ttl):
            return None
        return entry

    def last(self, key: KeyT) -> ValueT | None:
        """The value last stored, however old (to revalidate it, never to serve it)."""
        with self._lock:
            entry = self._entries.get(key)
        return entry.value if entry is not None else None

    def fresh(self, key: KeyT, ttl: float, now: float) -> ValueT | None:
        """The value, if it is still within its cache time (no refresh is due)."""
        entry = self._servable(key, ttl, now)
        return entry.value if entry is not None and now < entry.due_at else None

    def servable(self, key: KeyT, ttl: float, now: float) -> ValueT | None:
        """The value, if it may still be served (within `stale_limit` of its last check)."""
        entry = self._servable(key, ttl, now)
        return entry.value if entry is not None else None

    def store(self, key: KeyT, value: ValueT, checked_at: float, ttl: float) -> None:
        """Keep a value read (or confirmed) at `checked_at`, trusted for the cache time."""
        with self._lock:
            self._entries[key] = _Entry(value, checked_at, checked_at + ttl)

    def serve_stale(self, key: KeyT, ttl: float, now: float) -> ValueT | None:
        """After a failed refresh: the value if still servable, trusted for one more cache time.

        Its last check is not moved, so it is never served past `stale_limit`.
        """
        entry = self._servable(key, ttl, now)
        if entry is None:
            return None
        with self._lock:
            entry.due_at = now + ttl
        return entry.value
