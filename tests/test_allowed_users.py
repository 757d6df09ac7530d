"""The allowed-users list against real Azurite through the recording proxy (SPEC section 6)."""

from __future__ import annotations

import time

import pytest
from azure.storage.blob import BlobClient

from shared.allowed_users import AccessCheckUnavailable, AllowedUsersCache, parse_allowed_users
from shared.settings import Settings, load_settings
from tests.support import constants
from tests.support.app_env import AppEnv
from tests.support.clock import FakeClock
from tests.support.logs import LogCapture
from tests.support.recording import RecordedRequest
from tests.support.stub_server import Reply

ANN = "U0ANN0001"
BOB = "W0BOB0002"
CAROL = "U0CAROL03"
STRANGER = constants.OTHER_USER_ID
CACHE_SECONDS = float(constants.ALLOWED_USERS_CACHE_SECONDS)
# Generous: reading a list from storage that refuses connections needs no waiting at all.
FAIL_CLOSED_BOUND_SECONDS = 10.0
NOT_MODIFIED_BUG = (
    "APP BUG: storage's 304 to the conditional download is not recognised. The storage SDK "
    "raises ResourceModifiedError for it (the 304 carries x-ms-error-code ConditionNotMet), not "
    "the ResourceNotModifiedError the cache catches, so an unchanged list counts as a failed "
    "refresh: it is served stale, re-requested on every check, and refused after 10x the cache "
    "time."
)
AUTH_FAILED = Reply(
    status=403,
    body=(
        b'<?xml version="1.0" encoding="utf-8"?><Error><Code>AuthenticationFailed</Code>'
        b"<Message>Server failed to authenticate the request.</Message></Error>"
    ),
    headers={"Content-Type": "application/xml", "x-ms-error-code": "AuthenticationFailed"},
)


def blob_reads(env: AppEnv) -> list[RecordedRequest]:
    """Requests for the allowed-users blob that the app sent through the proxy."""
    path = f"/devstoreaccount1/{env.container}/{env.blob}"
    return [r for r in env.blob_proxy.requests() if r.path == path]


def current_etag(env: AppEnv) -> str:
    """The blob's ETag, read straight from Azurite (not recorded by the proxy)."""
    client = BlobClient.from_connection_string(
        env.azurite.connection_string, env.container, env.blob
    )
    with client:
        return client.get_blob_properties().etag


def loaded_cache(env: AppEnv) -> tuple[AllowedUsersCache, Settings, FakeClock]:
    """ANN alone on the list, read once by a fresh cache on a clock the test moves.

    The proxy's recordings are cleared afterwards.
    """
    env.allow(ANN)
    clock = FakeClock()
    settings = load_settings()
    cache = AllowedUsersCache(clock=clock)
    assert cache.is_allowed(settings, ANN)
    env.blob_proxy.clear()
    return cache, settings, clock


# --- parsing, through the real blob ---------------------------------------------------------

CSV_VARIANTS = [
    pytest.param(b"\xef\xbb\xbfU0ANN0001,ann\nW0BOB0002,bob\n", id="utf8-bom"),
    pytest.param(b"U0ANN0001,ann\r\nW0BOB0002,bob\r\n", id="crlf"),
    pytest.param(b"\nU0ANN0001,ann\n\n\r\n   \n\nW0BOB0002,bob\n\n", id="blank-lines"),
    pytest.param(
        b'"U0ANN0001","Doe, Ann"\n"W0BOB0002","bob\nU0CAROL03 is part of a quoted name"\n',
        id="quoted-fields",
    ),
    pytest.param(b"slack_member_id,name\nU0ANN0001,ann\nW0BOB0002,bob\n", id="header-row"),
    pytest.param(b"  U0ANN0001  ,  ann  \n\tW0BOB0002\t,bob\n", id="spaces-around-fields"),
    pytest.param(b"U0ANN0001,ann\nW0BOB0002,bob", id="no-final-newline"),
    pytest.param(b"U0ANN0001,ann,admin,2024-01-01\nW0BOB0002,bob,,,\n", id="extra-columns"),
    pytest.param(b"U0ANN0001\nW0BOB0002\n", id="id-column-only"),
    pytest.param(
        b'\xef\xbb\xbf"Member ID", "Name"\r\n\r\n "U0ANN0001" , "Doe, Ann" ,x\r\n'
        b'W0BOB0002,"bob ""the builder"""',
        id="everything-at-once",
    ),
]


@pytest.mark.parametrize("data", CSV_VARIANTS)
def test_the_listed_ids_and_only_those_are_allowed(app_env: AppEnv, data: bytes) -> None:
    app_env.set_allowed_csv(data)
    settings = load_settings()
    cache = AllowedUsersCache()
    assert cache.is_allowed(settings, ANN)
    assert cache.is_allowed(settings, BOB)
    for outsider in (CAROL, STRANGER, "slack_member_id", "Member ID", "ann", "bob"):
        assert not cache.is_allowed(settings, outsider), outsider
    assert cache.users(settings) == frozenset({ANN, BOB})


@pytest.mark.parametrize(
    ("data", "expected"),
    [
        pytest.param(b"", set(), id="empty"),
        pytest.param(b"\xef\xbb\xbf", set(), id="bom-only"),
        pytest.param(b"slack_id,name\r\n", set(), id="header-only"),
        pytest.param(b"U0ANN0001,ann\nU0ANN0001,ann again\n", {ANN}, id="duplicates"),
        pytest.param(b"U0ANN0001,ann\rW0BOB0002,bob\r", {ANN, BOB}, id="bare-cr"),
        pytest.param(b"name,id\nann,U0ANN0001\n", set(), id="id-not-in-first-column"),
        pytest.param(b'"U0ANN0001\nW0BOB0002",x\n', set(), id="newline-inside-quoted-id"),
        pytest.param(b"\xff\xfe\x00bad\nU0ANN0001,ann\n", {ANN}, id="invalid-utf8-row-skipped"),
        pytest.param(b"u0ann0001,ann\nU0,x\n", set(), id="not-member-ids"),
    ],
)
def test_parse_allowed_users(data: bytes, expected: set[str]) -> None:
    assert parse_allowed_users(data) == frozenset(expected)


@pytest.mark.parametrize(
    ("candidate", "allowed"),
    [
        pytest.param(ANN, True, id="exact"),
        pytest.param(f"  {ANN}\t", True, id="trimmed"),
        pytest.param(ANN[:-1], False, id="prefix"),
        pytest.param(ANN + "0", False, id="longer"),
        pytest.param(ANN.lower(), False, id="other-case"),
        pytest.param(f"{ANN},ann", False, id="whole-record"),
        pytest.param("", False, id="empty"),
    ],
)
def test_matching_is_exact_after_trimming(app_env: AppEnv, candidate: str, allowed: bool) -> None:
    app_env.allow(ANN)
    assert AllowedUsersCache().is_allowed(load_settings(), candidate) is allowed


def test_an_empty_list_allows_nobody(app_env: AppEnv) -> None:
    app_env.set_allowed_csv(b"")
    assert not AllowedUsersCache().is_allowed(load_settings(), ANN)


# --- missing list: fail closed --------------------------------------------------------------


def test_a_missing_container_fails_closed(app_env: AppEnv, captured_logs: LogCapture) -> None:
    with pytest.raises(AccessCheckUnavailable):
        AllowedUsersCache().is_allowed(load_settings(), ANN)
    assert [r.response_status for r in blob_reads(app_env)] == [404]
    captured_logs.assert_no_secrets()


def test_a_missing_blob_fails_closed(app_env: AppEnv, captured_logs: LogCapture) -> None:
    app_env.allow(ANN)
    app_env.remove_allowed_users()
    with pytest.raises(AccessCheckUnavailable):
        AllowedUsersCache().is_allowed(load_settings(), ANN)
    assert [r.response_status for r in blob_reads(app_env)] == [404]
    captured_logs.assert_no_secrets()


def test_unreachable_storage_with_no_cached_copy_fails_closed_quickly(
    app_env: AppEnv, captured_logs: LogCapture
) -> None:
    app_env.allow(ANN)
    app_env.blob_proxy.stop()
    started = time.monotonic()
    with pytest.raises(AccessCheckUnavailable):
        AllowedUsersCache().is_allowed(load_settings(), ANN)
    elapsed = time.monotonic() - started
    assert elapsed < FAIL_CLOSED_BOUND_SECONDS, (
        f"APP BUG: the access check took {elapsed:.1f} s to fail closed against storage that "
        "refuses connections. The blob client passes retry_total=1 but keeps the storage SDK's "
        "default ExponentialRetry backoff (15 s + 3 s, +-3 s jitter) before its one retry; "
        "retry_backoff_factor is an azure-core option the storage retry policy ignores."
    )
    captured_logs.assert_no_secrets()


# --- caching and ETag revalidation ----------------------------------------------------------


def test_the_first_check_downloads_the_list(app_env: AppEnv, captured_logs: LogCapture) -> None:
    app_env.allow(ANN)
    assert AllowedUsersCache(clock=FakeClock()).is_allowed(load_settings(), ANN)
    reads = blob_reads(app_env)
    assert [(r.method, r.response_status) for r in reads] == [("GET", 206)]
    assert reads[0].header("If-None-Match") is None
    captured_logs.assert_no_secrets()


def test_a_check_within_the_cache_time_makes_no_storage_request(app_env: AppEnv) -> None:
    cache, settings, clock = loaded_cache(app_env)
    clock.advance(CACHE_SECONDS - 0.5)
    assert cache.is_allowed(settings, ANN)
    assert not cache.is_allowed(settings, STRANGER)
    assert app_env.blob_proxy.requests() == []


def test_an_unchanged_list_is_revalidated_by_etag_after_the_cache_time(
    app_env: AppEnv, captured_logs: LogCapture
) -> None:
    cache, settings, clock = loaded_cache(app_env)
    clock.advance(CACHE_SECONDS)
    assert cache.is_allowed(settings, ANN)
    reads = app_env.blob_proxy.requests()
    assert [(r.method, r.response_status) for r in reads] == [("GET", 304)], (
        "one conditional request answered 304, and no download"
    )
    assert reads[0].header("If-None-Match") == current_etag(app_env)
    assert not any("refresh failed" in line for line in captured_logs.lines), NOT_MODIFIED_BUG
    captured_logs.assert_no_secrets()


def test_a_revalidated_list_is_trusted_for_another_cache_time(app_env: AppEnv) -> None:
    cache, settings, clock = loaded_cache(app_env)
    clock.advance(CACHE_SECONDS)
    assert cache.is_allowed(settings, ANN)
    app_env.blob_proxy.clear()
    clock.advance(CACHE_SECONDS - 0.5)
    assert cache.is_allowed(settings, ANN)
    assert app_env.blob_proxy.requests() == [], NOT_MODIFIED_BUG


def test_an_unchanged_list_stays_usable_past_ten_cache_times(app_env: AppEnv) -> None:
    cache, settings, clock = loaded_cache(app_env)
    for period in range(1, 12):
        clock.advance(CACHE_SECONDS)
        try:
            allowed = cache.is_allowed(settings, ANN)
        except AccessCheckUnavailable:
            pytest.fail(
                f"refused after {period} cache times with healthy storage. {NOT_MODIFIED_BUG}"
            )
        assert allowed
    assert {r.response_status for r in app_env.blob_proxy.requests()} == {304}


def test_a_changed_list_is_picked_up_after_the_cache_time(app_env: AppEnv) -> None:
    cache, settings, clock = loaded_cache(app_env)
    app_env.allow(BOB)
    clock.advance(CACHE_SECONDS - 0.5)
    assert cache.is_allowed(settings, ANN), "still the cached list within the cache time"
    clock.advance(0.5)
    assert cache.is_allowed(settings, BOB)
    assert not cache.is_allowed(settings, ANN)
    reads = app_env.blob_proxy.requests()
    assert [r.response_status for r in reads] == [206]
    assert reads[0].header("If-None-Match") is not None
    assert reads[0].header("If-None-Match") != current_etag(app_env)


# --- failed refresh with a cached copy ------------------------------------------------------


def test_a_failed_refresh_serves_the_cached_list_up_to_ten_cache_times(
    app_env: AppEnv, captured_logs: LogCapture
) -> None:
    cache, settings, clock = loaded_cache(app_env)
    app_env.blob_proxy.always(AUTH_FAILED)
    clock.advance(CACHE_SECONDS)
    assert cache.is_allowed(settings, ANN)
    clock.advance(CACHE_SECONDS * 9 - 0.5)
    assert cache.is_allowed(settings, ANN)
    assert not cache.is_allowed(settings, STRANGER)
    statuses = [r.response_status for r in app_env.blob_proxy.requests()]
    assert statuses
    assert set(statuses) == {403}, "each stale answer follows a real refresh attempt"
    assert any("serving the cached list" in line for line in captured_logs.lines)
    captured_logs.assert_no_secrets()


def test_a_failed_refresh_fails_closed_after_ten_cache_times(
    app_env: AppEnv, captured_logs: LogCapture
) -> None:
    cache, settings, clock = loaded_cache(app_env)
    app_env.blob_proxy.always(AUTH_FAILED)
    clock.advance(CACHE_SECONDS * 10 - 0.5)
    assert cache.is_allowed(settings, ANN)
    clock.advance(0.5)
    with pytest.raises(AccessCheckUnavailable):
        cache.is_allowed(settings, ANN)
    captured_logs.assert_no_secrets()


def test_a_refresh_that_works_again_restarts_the_cache_time(app_env: AppEnv) -> None:
    cache, settings, clock = loaded_cache(app_env)
    app_env.blob_proxy.always(AUTH_FAILED)
    clock.advance(CACHE_SECONDS * 5)
    assert cache.is_allowed(settings, ANN)
    app_env.blob_proxy.always(None)
    app_env.allow(BOB)
    clock.advance(CACHE_SECONDS)
    assert cache.is_allowed(settings, BOB)
    app_env.blob_proxy.always(AUTH_FAILED)
    clock.advance(CACHE_SECONDS * 10 - 0.5)
    assert cache.is_allowed(settings, BOB), "the stale limit counts from the last good read"
