"""Section 5: one allowed-users check against Azurite, in its three states.

``AllowedUsersCache`` is the app's own cache, driven by a clock the benchmark controls:
*cold* is a new cache (no list, no storage client, no connection yet) fetching the blob;
*cached* is a check within the cache time; *revalidation* is a check after the cache time,
which asks storage with the blob's ETag and gets 304 Not Modified.
"""

from __future__ import annotations

import time
from typing import Any

from bench.stats import across_runs
from shared.allowed_users import AllowedUsersCache
from shared.deadline import Deadline
from shared.settings import Settings


class _Clock:
    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now


def _timed_check(cache: AllowedUsersCache, settings: Settings, user: str) -> float:
    started = time.perf_counter()
    allowed = cache.read(settings, Deadline.for_slack_request()).may_flush(user)
    elapsed = time.perf_counter() - started
    if not allowed:
        raise RuntimeError("the benchmark user is not on the allowed-users list")
    return elapsed


def _run(
    settings: Settings, user: str, cold: int, cached: int, revalidated: int
) -> tuple[list[float], list[float], list[float]]:
    cold_samples = [_timed_check(AllowedUsersCache(), settings, user) for _ in range(cold)]
    clock = _Clock()
    cache = AllowedUsersCache(clock=clock)
    cache.read(settings, Deadline.for_slack_request())
    cached_samples = [_timed_check(cache, settings, user) for _ in range(cached)]
    revalidation_samples = []
    for _ in range(revalidated):
        clock.now += settings.allowed_users_cache_seconds + 1
        revalidation_samples.append(_timed_check(cache, settings, user))
    return cold_samples, cached_samples, revalidation_samples


def measure_allowed_users(
    settings: Settings, user: str, *, runs: int, cold: int, cached: int, revalidated: int
) -> dict[str, Any]:
    """Per run: ``cold`` first fetches, ``cached`` hits and ``revalidated`` ETag checks."""
    _run(settings, user, 1, 1, 1)  # imports the storage SDK and warms Azurite; not counted
    results = [_run(settings, user, cold, cached, revalidated) for _ in range(runs)]
    return {
        "cold_ms": across_runs([r[0] for r in results], 1000),
        "cached_us": across_runs([r[1] for r in results], 1_000_000),
        "revalidation_ms": across_runs([r[2] for r in results], 1000),
    }
