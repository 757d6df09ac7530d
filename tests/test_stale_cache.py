"""The cache both access sources share: trusted for the cache time, served stale for longer."""

from __future__ import annotations

import pytest

from shared.stale_cache import MAX_STALE_SECONDS, StaleCache, stale_limit
from tests.support.clock import FakeClock

TTL = 30.0
KEY = "list"


def stored(value: str = "v1") -> tuple[StaleCache[str, str], FakeClock]:
    clock = FakeClock()
    cache: StaleCache[str, str] = StaleCache(clock)
    cache.store(KEY, value, clock(), TTL)
    return cache, clock


@pytest.mark.parametrize(
    ("ttl", "limit"), [(0.0, 0.0), (1.0, 10.0), (30.0, 300.0), (60.0, 600.0), (3600.0, 600.0)]
)
def test_the_stale_limit_is_ten_cache_times_and_never_over_ten_minutes(
    ttl: float, limit: float
) -> None:
    assert stale_limit(ttl) == limit
    assert stale_limit(ttl) <= MAX_STALE_SECONDS


def test_nothing_is_cached_at_first() -> None:
    cache: StaleCache[str, str] = StaleCache(FakeClock())
    assert cache.last(KEY) is None
    assert cache.fresh(KEY, TTL, 0.0) is None
    assert cache.servable(KEY, TTL, 0.0) is None
    assert cache.serve_stale(KEY, TTL, 0.0) is None


def test_a_value_is_fresh_for_the_cache_time_then_due() -> None:
    cache, clock = stored()
    assert cache.fresh(KEY, TTL, clock.now + TTL - 0.01) == "v1"
    assert cache.fresh(KEY, TTL, clock.now + TTL) is None
    assert cache.servable(KEY, TTL, clock.now + TTL) == "v1", "due, but still servable"


def test_a_zero_cache_time_is_never_fresh_and_never_served_stale() -> None:
    cache, clock = stored()
    assert cache.fresh(KEY, 0.0, clock.now) is None
    assert cache.serve_stale(KEY, 0.0, clock.now) is None
    assert cache.last(KEY) == "v1", "kept to revalidate"


def test_a_failed_refresh_trusts_the_value_for_one_more_cache_time() -> None:
    cache, clock = stored()
    failed_at = clock.now + TTL * 2
    assert cache.serve_stale(KEY, TTL, failed_at) == "v1"
    assert cache.fresh(KEY, TTL, failed_at + TTL - 0.01) == "v1"
    assert cache.fresh(KEY, TTL, failed_at + TTL) is None


def test_serving_stale_never_outlasts_the_stale_limit() -> None:
    cache, clock = stored()
    limit = stale_limit(TTL)
    assert cache.serve_stale(KEY, TTL, clock.now + limit - 0.01) == "v1"
    assert cache.fresh(KEY, TTL, clock.now + limit) is None, "the extension stops at the limit"
    assert cache.servable(KEY, TTL, clock.now + limit) is None
    assert cache.serve_stale(KEY, TTL, clock.now + limit) is None
    assert cache.last(KEY) == "v1"


def test_a_confirmation_restarts_the_stale_limit() -> None:
    cache, clock = stored()
    clock.advance(stale_limit(TTL) - 1)
    cache.store(KEY, "v1", clock(), TTL)
    assert cache.servable(KEY, TTL, clock.now + stale_limit(TTL) - 0.01) == "v1"


def test_keys_are_cached_apart() -> None:
    cache, clock = stored()
    cache.store("other", "v2", clock(), TTL)
    assert cache.fresh(KEY, TTL, clock.now) == "v1"
    assert cache.fresh("other", TTL, clock.now) == "v2"
