"""The allowed-users list against real Azurite through the recording proxy (doc/behaviour.md)."""

from __future__ import annotations

import logging
import time
from concurrent.futures import ThreadPoolExecutor

import pytest
from azure.storage.blob import BlobClient

from devhost.standins.recording import RecordedRequest
from devhost.standins.stub_server import Reply
from shared.allowed_users import (
    AllowedUsers,
    AllowedUsersCache,
    parse_allowed_users,
)
from shared.deadline import Deadline
from shared.errors import AccessCheckUnavailable
from shared.settings import Settings, load_settings
from shared.stale_cache import MAX_STALE_SECONDS
from tests.support import constants
from tests.support.app_env import AppEnv
from tests.support.clock import FakeClock
from tests.support.logs import LogCapture
from tests.support.stalled_server import StalledServer

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


def is_allowed(cache: AllowedUsersCache, settings: Settings, user_id: str) -> bool:
    """One access check with a fresh request deadline."""
    return cache.read(settings, Deadline.for_slack_request()).may_flush(user_id)


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
    assert is_allowed(cache, settings, ANN)
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
    assert is_allowed(cache, settings, ANN)
    assert is_allowed(cache, settings, BOB)
    for outsider in (CAROL, STRANGER, "slack_member_id", "Member ID", "ann", "bob"):
        assert not is_allowed(cache, settings, outsider), outsider
    assert cache.read(settings, Deadline.for_slack_request()).members == frozenset({ANN, BOB})


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
    assert parse_allowed_users(data).members == frozenset(expected)


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
    assert is_allowed(AllowedUsersCache(), load_settings(), candidate) is allowed


def test_an_empty_list_allows_nobody(app_env: AppEnv) -> None:
    app_env.set_allowed_csv(b"")
    assert not is_allowed(AllowedUsersCache(), load_settings(), ANN)


# --- missing list: fail closed --------------------------------------------------------------


def test_a_missing_container_fails_closed(app_env: AppEnv, captured_logs: LogCapture) -> None:
    with pytest.raises(AccessCheckUnavailable):
        is_allowed(AllowedUsersCache(), load_settings(), ANN)
    assert [r.response_status for r in blob_reads(app_env)] == [404]
    captured_logs.assert_no_secrets()


def test_a_missing_blob_fails_closed(app_env: AppEnv, captured_logs: LogCapture) -> None:
    app_env.allow(ANN)
    app_env.remove_allowed_users()
    with pytest.raises(AccessCheckUnavailable):
        is_allowed(AllowedUsersCache(), load_settings(), ANN)
    assert [r.response_status for r in blob_reads(app_env)] == [404]
    captured_logs.assert_no_secrets()


def test_unreachable_storage_with_no_cached_copy_fails_closed_quickly(
    app_env: AppEnv, captured_logs: LogCapture
) -> None:
    app_env.allow(ANN)
    app_env.blob_proxy.stop()
    started = time.monotonic()
    with pytest.raises(AccessCheckUnavailable):
        is_allowed(AllowedUsersCache(), load_settings(), ANN)
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
    assert is_allowed(AllowedUsersCache(clock=FakeClock()), load_settings(), ANN)
    reads = blob_reads(app_env)
    assert [(r.method, r.response_status) for r in reads] == [("GET", 206)]
    assert reads[0].header("If-None-Match") is None
    captured_logs.assert_no_secrets()


def test_a_check_within_the_cache_time_makes_no_storage_request(app_env: AppEnv) -> None:
    cache, settings, clock = loaded_cache(app_env)
    clock.advance(CACHE_SECONDS - 0.5)
    assert is_allowed(cache, settings, ANN)
    assert not is_allowed(cache, settings, STRANGER)
    assert app_env.blob_proxy.requests() == []


def test_an_unchanged_list_is_revalidated_by_etag_after_the_cache_time(
    app_env: AppEnv, captured_logs: LogCapture
) -> None:
    cache, settings, clock = loaded_cache(app_env)
    clock.advance(CACHE_SECONDS)
    assert is_allowed(cache, settings, ANN)
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
    assert is_allowed(cache, settings, ANN)
    app_env.blob_proxy.clear()
    clock.advance(CACHE_SECONDS - 0.5)
    assert is_allowed(cache, settings, ANN)
    assert app_env.blob_proxy.requests() == [], NOT_MODIFIED_BUG


def test_an_unchanged_list_stays_usable_past_ten_cache_times(app_env: AppEnv) -> None:
    cache, settings, clock = loaded_cache(app_env)
    for period in range(1, 12):
        clock.advance(CACHE_SECONDS)
        try:
            allowed = is_allowed(cache, settings, ANN)
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
    assert is_allowed(cache, settings, ANN), "still the cached list within the cache time"
    clock.advance(0.5)
    assert is_allowed(cache, settings, BOB)
    assert not is_allowed(cache, settings, ANN)
    reads = app_env.blob_proxy.requests()
    assert [r.response_status for r in reads] == [206]
    assert reads[0].header("If-None-Match") is not None
    assert reads[0].header("If-None-Match") != current_etag(app_env)


def test_a_list_the_csv_reader_refuses_fails_closed(
    app_env: AppEnv, captured_logs: LogCapture
) -> None:
    """An unclosed quote in a large list runs a field past the reader's size limit."""
    app_env.set_allowed_csv(b'U0ANN0001,"ann\n' + b"x" * 140_000 + b"\n")
    with pytest.raises(AccessCheckUnavailable):
        is_allowed(AllowedUsersCache(), load_settings(), ANN)
    captured_logs.assert_no_secrets()


def test_a_refused_refresh_serves_the_cached_list(app_env: AppEnv) -> None:
    cache, settings, clock = loaded_cache(app_env)
    app_env.set_allowed_csv(b'U0ANN0001,"ann\n' + b"x" * 140_000 + b"\n")
    clock.advance(CACHE_SECONDS)
    assert is_allowed(cache, settings, ANN)
    assert app_env.blob_proxy.requests(), "the refresh was tried"


# --- failed refresh with a cached copy ------------------------------------------------------


def test_a_failed_refresh_serves_the_cached_list_up_to_ten_cache_times(
    app_env: AppEnv, captured_logs: LogCapture
) -> None:
    cache, settings, clock = loaded_cache(app_env)
    app_env.blob_proxy.always(AUTH_FAILED)
    clock.advance(CACHE_SECONDS)
    assert is_allowed(cache, settings, ANN)
    clock.advance(CACHE_SECONDS * 9 - 0.5)
    assert is_allowed(cache, settings, ANN)
    assert not is_allowed(cache, settings, STRANGER)
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
    assert is_allowed(cache, settings, ANN)
    clock.advance(0.5)
    with pytest.raises(AccessCheckUnavailable):
        is_allowed(cache, settings, ANN)
    captured_logs.assert_no_secrets()


def test_a_refresh_that_works_again_restarts_the_cache_time(app_env: AppEnv) -> None:
    cache, settings, clock = loaded_cache(app_env)
    app_env.blob_proxy.always(AUTH_FAILED)
    clock.advance(CACHE_SECONDS * 5)
    assert is_allowed(cache, settings, ANN)
    app_env.blob_proxy.always(None)
    app_env.allow(BOB)
    clock.advance(CACHE_SECONDS)
    assert is_allowed(cache, settings, BOB)
    app_env.blob_proxy.always(AUTH_FAILED)
    clock.advance(CACHE_SECONDS * 10 - 0.5)
    assert is_allowed(cache, settings, BOB), "the stale limit counts from the last good read"


# --- the role column --------------------------------------------------------------------


@pytest.mark.parametrize(
    ("data", "approvers"),
    [
        pytest.param(b"U0ANN0001,ann,approver\nW0BOB0002,bob\n", {ANN}, id="lower-case"),
        pytest.param(
            b"U0ANN0001,ann,APPROVER\nW0BOB0002,bob,Approver\n", {ANN, BOB}, id="any-case"
        ),
        pytest.param(b'U0ANN0001,ann,  "approver"  \r\n', {ANN}, id="quoted-and-spaced"),
        pytest.param(
            b"\xef\xbb\xbfid,name,role\r\nU0ANN0001,ann,approver\r\nW0BOB0002,bob,",
            {ANN},
            id="header",
        ),
        pytest.param(b"U0ANN0001,ann,approver,since 2024,x\n", {ANN}, id="further-columns"),
        pytest.param(b"U0ANN0001,approver\n", set(), id="role-in-the-name-column"),
        pytest.param(b"U0ANN0001,ann,approvers\nW0BOB0002,bob,admin\n", set(), id="other-roles"),
        pytest.param(b"ann,U0ANN0001,approver\n", set(), id="not-a-member-row"),
        pytest.param(b"U0ANN0001,ann\nU0ANN0001,ann,approver\n", {ANN}, id="any-row-counts"),
    ],
)
def test_the_third_column_marks_approvers(data: bytes, approvers: set[str]) -> None:
    parsed = parse_allowed_users(data)
    assert parsed.approvers == frozenset(approvers)
    assert parsed.approvers <= parsed.members, "an approver is on the list"
    for member in parsed.members:
        assert parsed.may_flush(member)
        assert parsed.may_approve(member) is (member in approvers)


def test_roles_are_read_from_the_real_blob(app_env: AppEnv) -> None:
    app_env.set_allowed_csv("slack_id,name,role\nU0ANN0001,ann,Approver\nW0BOB0002,bob\n")
    listed = AllowedUsersCache().read(load_settings(), Deadline.for_slack_request())
    assert listed == AllowedUsers(frozenset({ANN, BOB}), frozenset({ANN}))
    assert listed.may_approve(f" {ANN} ")
    assert not listed.may_approve(BOB)


# --- no caching (ALLOWED_USERS_CACHE_SECONDS=0) ---------------------------------------------


def test_cache_seconds_zero_revalidates_by_etag_on_every_check(
    app_env: AppEnv, monkeypatch: pytest.MonkeyPatch, captured_logs: LogCapture
) -> None:
    monkeypatch.setenv("ALLOWED_USERS_CACHE_SECONDS", "0")
    app_env.allow(ANN)
    settings = load_settings()
    cache = AllowedUsersCache(clock=FakeClock())
    for _ in range(3):
        assert is_allowed(cache, settings, ANN)
    reads = blob_reads(app_env)
    assert [(r.method, r.response_status) for r in reads] == [
        ("GET", 206),
        ("GET", 304),
        ("GET", 304),
    ]
    assert reads[1].header("If-None-Match") == current_etag(app_env)
    app_env.allow(BOB)
    assert is_allowed(cache, settings, BOB), "a change is seen on the very next check"
    assert not is_allowed(cache, settings, ANN)
    assert not any("refresh failed" in line for line in captured_logs.lines)


def test_cache_seconds_zero_never_serves_a_stale_copy(
    app_env: AppEnv, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("ALLOWED_USERS_CACHE_SECONDS", "0")
    app_env.allow(ANN)
    settings = load_settings()
    cache = AllowedUsersCache(clock=FakeClock())
    assert is_allowed(cache, settings, ANN)
    app_env.blob_proxy.always(AUTH_FAILED)
    with pytest.raises(AccessCheckUnavailable):
        is_allowed(cache, settings, ANN)


# --- the request's deadline -----------------------------------------------------------------

STALLED_SECONDS = 30.0
SHORT_DEADLINE_SECONDS = 0.5
# What the machine may add to the deadline (thread hand-over, a loaded CI runner).
SLACK_SECONDS = 0.3


def test_a_stalled_read_is_abandoned_at_the_deadline(
    app_env: AppEnv, monkeypatch: pytest.MonkeyPatch, captured_logs: LogCapture
) -> None:
    with StalledServer() as stalled:
        monkeypatch.setenv("AZURE_STORAGE_CONNECTION_STRING", stalled.blob_connection_string)
        started = time.monotonic()
        with pytest.raises(AccessCheckUnavailable):
            AllowedUsersCache().read(load_settings(), Deadline.after(SHORT_DEADLINE_SECONDS))
        elapsed = time.monotonic() - started
        assert stalled.connections == 1, "one attempt, no retry inside the deadline"
    assert SHORT_DEADLINE_SECONDS - 0.05 <= elapsed < SHORT_DEADLINE_SECONDS + SLACK_SECONDS
    assert any("is unreadable" in line for line in captured_logs.lines)
    captured_logs.assert_no_secrets()


def test_an_expired_deadline_fails_closed_without_waiting(app_env: AppEnv) -> None:
    app_env.allow(ANN)
    app_env.blob_proxy.delay = STALLED_SECONDS
    started = time.monotonic()
    with pytest.raises(AccessCheckUnavailable):
        AllowedUsersCache().read(load_settings(), Deadline.after(0))
    assert time.monotonic() - started < SLACK_SECONDS


def test_a_stalled_refresh_serves_the_cached_list_within_the_deadline(
    app_env: AppEnv, captured_logs: LogCapture
) -> None:
    cache, settings, clock = loaded_cache(app_env)
    app_env.blob_proxy.delay = STALLED_SECONDS
    clock.advance(CACHE_SECONDS)
    started = time.monotonic()
    listed = cache.read(settings, Deadline.after(SHORT_DEADLINE_SECONDS))
    assert time.monotonic() - started < SHORT_DEADLINE_SECONDS + SLACK_SECONDS
    assert listed.may_flush(ANN)
    assert any("serving the cached list" in line for line in captured_logs.lines)
    clock.advance(CACHE_SECONDS * 9)
    with pytest.raises(AccessCheckUnavailable):
        cache.read(settings, Deadline.after(SHORT_DEADLINE_SECONDS))


def test_concurrent_checks_share_one_storage_request(app_env: AppEnv) -> None:
    app_env.allow(ANN)
    app_env.blob_proxy.delay = STALLED_SECONDS
    cache = AllowedUsersCache()
    settings = load_settings()
    deadline = Deadline.after(SHORT_DEADLINE_SECONDS)

    def check(_: int) -> str:
        try:
            cache.read(settings, deadline)
        except AccessCheckUnavailable:
            return "unavailable"
        return "read"

    with ThreadPoolExecutor(max_workers=3) as pool:
        outcomes = list(pool.map(check, range(3)))
    assert outcomes == ["unavailable"] * 3
    assert len(blob_reads(app_env)) == 1, "one storage request, not one per check"


# --- a list that grants nobody, or is mostly unreadable, is an error ----------------------


def parse_logs(data: bytes) -> list[tuple[int, str]]:
    with LogCapture() as capture:
        parse_allowed_users(data)
    return [
        (record.levelno, record.getMessage())
        for record in capture.records
        if record.name == "shared.allowed_users"
    ]


@pytest.mark.parametrize(
    "data",
    [
        pytest.param("member_id,name\nU0ANN0001,ann\n".encode("utf-16"), id="utf-16"),
        pytest.param(b"", id="empty"),
        pytest.param(b"member_id,name\n", id="header-only"),
        pytest.param(b"ann,U0ANN0001\nbob,W0BOB0002\n", id="columns-swapped"),
    ],
)
def test_a_list_that_grants_nobody_is_logged_as_an_error(data: bytes) -> None:
    [(level, message)] = parse_logs(data)
    assert level == logging.ERROR
    assert "nobody may flush" in message


def test_a_utf_16_list_says_how_to_fix_it() -> None:
    [(_, message)] = parse_logs("U0ANN0001,ann\n".encode("utf-16"))
    assert "UTF-16" in message


def test_an_unterminated_quote_swallowing_the_list_is_logged_as_an_error() -> None:
    data = b'U0ANN0001,ann\n"W0BOB0002,bob\nU0CAROL03,carol\nU0DAN0004,dan\n'
    assert parse_allowed_users(data).members == {ANN}
    [(level, message)] = parse_logs(data)
    assert level == logging.ERROR
    assert "3 line(s) without a member ID, more than the 1 member(s)" in message


def test_a_header_row_is_not_a_skipped_row() -> None:
    assert parse_logs(b"slack_member_id,name\nU0ANN0001,ann\n") == []
    assert parse_logs(b"\n\nMember ID,Name\r\nU0ANN0001,ann\r\n") == []


def test_a_few_skipped_rows_among_many_members_are_only_noted() -> None:
    data = b"id,name\nU0ANN0001,ann\nnot-an-id,x\nW0BOB0002,bob\nU0CAROL03,carol\n"
    assert parse_logs(data) == [
        (logging.INFO, "Allowed-users list: skipped 1 row(s) without a member ID")
    ]


# --- however long the cache time, ten minutes at most ----------------------------------------


@pytest.mark.parametrize("cache_seconds", ["300", "86400"])
def test_a_long_cache_time_never_serves_a_copy_older_than_ten_minutes(
    app_env: AppEnv, monkeypatch: pytest.MonkeyPatch, cache_seconds: str
) -> None:
    monkeypatch.setenv("ALLOWED_USERS_CACHE_SECONDS", cache_seconds)
    cache, settings, clock = loaded_cache(app_env)
    app_env.blob_proxy.always(AUTH_FAILED)
    clock.advance(MAX_STALE_SECONDS - 0.5)
    assert is_allowed(cache, settings, ANN)
    clock.advance(0.5)
    with pytest.raises(AccessCheckUnavailable):
        is_allowed(cache, settings, ANN)


def test_a_long_cache_time_still_ends_a_removed_user_s_access_within_ten_minutes(
    app_env: AppEnv, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("ALLOWED_USERS_CACHE_SECONDS", "86400")
    cache, settings, clock = loaded_cache(app_env)
    app_env.allow(BOB)
    clock.advance(MAX_STALE_SECONDS)
    assert not is_allowed(cache, settings, ANN)
    assert is_allowed(cache, settings, BOB)
