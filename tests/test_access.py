"""The one access decision: the CSV (with its role column) and Slack user groups.

Real Azurite behind the recording proxy holds the CSV; the Slack stand-in answers
`usergroups.users.list`. Each test uses a fresh checker, so no cache leaks between tests.
"""

from __future__ import annotations

import json
import time
from typing import Any

import azure.functions as func
import pytest

import orchestrator_client
import slash_start
from devhost.simulate.faults import Fault
from devhost.standins.slack_requests import (
    SLACK_SIGNING_SECRET,
    slack_headers,
    slash_command_body,
    view_submission_body,
)
from devhost.standins.stub_server import Reply
from shared.access import Access, AccessChecker, Permission, UsergroupMembers
from shared.allowed_users import AllowedUsersCache
from shared.deadline import Deadline
from shared.settings import load_settings
from shared.stale_cache import MAX_STALE_SECONDS
from tests.support.app_env import AppEnv
from tests.support.clock import FakeClock
from tests.support.logs import LogCapture
from tests.support.loop import run
from tests.support.requests import http_request

ANN = "U0ANN0001"  # on the CSV, approver
BOB = "W0BOB0002"  # on the CSV
GROUPIE = "U0GROUP01"  # in the Slack user groups only
NOBODY = "U0NOBODY1"
FLUSHERS = "S0FLUSHERS"
APPROVERS = "S0APPROVER"
CSV = f"{ANN},ann,Approver\n{BOB},bob\n"
GROUP_LIST = "usergroups.users.list"
# Generous for a loaded machine, far below what a storage or Slack timeout would take.
DEADLINE_SECONDS = 0.8
DEADLINE_SLACK_SECONDS = 0.7


def decide(
    checker: AccessChecker, user_id: str, permission: Permission = Permission.FLUSH
) -> Access:
    return checker.check(load_settings(), user_id, permission, Deadline.for_slack_request())


@pytest.fixture
def groups_on(app_env: AppEnv, monkeypatch: pytest.MonkeyPatch) -> AppEnv:
    """The CSV above, both user group settings on, the groups holding GROUPIE."""
    app_env.set_allowed_csv(CSV)
    monkeypatch.setenv("ALLOWED_USERGROUPS", FLUSHERS)
    monkeypatch.setenv("APPROVER_USERGROUPS", APPROVERS)
    app_env.slack.always(GROUP_LIST, Fault(status=200, body={"ok": True, "users": [GROUPIE]}))
    return app_env


def test_the_csv_decides_who_may_flush_and_who_may_approve(app_env: AppEnv) -> None:
    app_env.set_allowed_csv(CSV)
    checker = AccessChecker()
    assert decide(checker, ANN) is Access.GRANTED
    assert decide(checker, BOB) is Access.GRANTED
    assert decide(checker, NOBODY) is Access.DENIED
    assert decide(checker, ANN, Permission.APPROVE) is Access.GRANTED
    assert decide(checker, BOB, Permission.APPROVE) is Access.DENIED
    assert decide(checker, NOBODY, Permission.APPROVE) is Access.DENIED
    assert app_env.slack.calls() == [], "no user group configured: Slack is never asked"


def test_an_unreadable_csv_is_unavailable_not_denied(
    app_env: AppEnv, captured_logs: LogCapture
) -> None:
    assert decide(AccessChecker(), ANN) is Access.UNAVAILABLE
    assert decide(AccessChecker(), ANN, Permission.APPROVE) is Access.UNAVAILABLE
    assert any(r.levelname == "ERROR" for r in captured_logs.records)


def test_group_members_may_flush(groups_on: AppEnv) -> None:
    checker = AccessChecker()
    assert decide(checker, GROUPIE) is Access.GRANTED
    [call] = groups_on.slack.calls(GROUP_LIST)
    assert call.args["usergroup"] == FLUSHERS
    assert call.has_token(groups_on.values["SLACK_BOT_USER_OAUTH_ACCESS_TOKEN"])


def test_approver_group_members_may_approve(groups_on: AppEnv) -> None:
    checker = AccessChecker()
    assert decide(checker, GROUPIE, Permission.APPROVE) is Access.GRANTED
    assert decide(checker, BOB, Permission.APPROVE) is Access.DENIED, "BOB is in no group"
    calls = groups_on.slack.calls(GROUP_LIST)
    assert [c.args["usergroup"] for c in calls] == [APPROVERS], "asked once, then cached"


def test_a_flusher_group_does_not_make_an_approver(groups_on: AppEnv) -> None:
    groups_on.slack.always(GROUP_LIST, None)
    groups_on.slack.reply(GROUP_LIST, Fault(status=200, body={"ok": True, "users": []}))
    checker = AccessChecker()
    assert decide(checker, GROUPIE, Permission.APPROVE) is Access.DENIED
    assert [c.args["usergroup"] for c in groups_on.slack.calls(GROUP_LIST)] == [APPROVERS]


def test_csv_users_never_wait_for_slack(groups_on: AppEnv) -> None:
    groups_on.slack.always(GROUP_LIST, Fault(delay=30))
    checker = AccessChecker()
    started = time.monotonic()
    assert decide(checker, BOB) is Access.GRANTED
    assert decide(checker, ANN, Permission.APPROVE) is Access.GRANTED
    assert time.monotonic() - started < 1.0
    assert groups_on.slack.calls(GROUP_LIST) == [], "the CSV granted: no group lookup"


@pytest.mark.parametrize(
    "failure",
    [
        pytest.param(Fault(error="missing_scope"), id="missing-scope"),
        pytest.param(Fault(error="no_such_subteam"), id="unknown-group"),
        pytest.param(Fault(status=500), id="http-500"),
        pytest.param(Fault(status=429, retry_after=30), id="rate-limited"),
        pytest.param(Reply(body=b"<html>"), id="not-json"),
        pytest.param(Fault(status=200, body={"ok": True}), id="no-user-list"),
        pytest.param(Fault(drop=True), id="connection-dropped"),
    ],
)
def test_a_slack_failure_grants_nothing_and_blocks_no_csv_user(
    groups_on: AppEnv, captured_logs: LogCapture, failure: Fault | Reply
) -> None:
    groups_on.slack.always(GROUP_LIST, failure)
    checker = AccessChecker()
    assert decide(checker, GROUPIE) is Access.DENIED
    assert decide(checker, NOBODY) is Access.DENIED
    assert decide(checker, BOB) is Access.GRANTED
    assert any("grants nothing" in line for line in captured_logs.lines)
    captured_logs.assert_no_secrets()


def test_a_stalled_slack_is_abandoned_at_the_deadline(groups_on: AppEnv) -> None:
    groups_on.slack.always(GROUP_LIST, Fault(delay=30))
    settings = load_settings()
    started = time.monotonic()
    decision = AccessChecker().check(
        settings, GROUPIE, Permission.FLUSH, Deadline.after(DEADLINE_SLACK_SECONDS)
    )
    elapsed = time.monotonic() - started
    assert decision is Access.DENIED
    assert elapsed < DEADLINE_SLACK_SECONDS + 0.3


def test_group_members_count_when_the_csv_is_unreadable(
    app_env: AppEnv, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("ALLOWED_USERGROUPS", FLUSHERS)
    app_env.slack.always(GROUP_LIST, Fault(status=200, body={"ok": True, "users": [GROUPIE]}))
    checker = AccessChecker()
    assert decide(checker, GROUPIE) is Access.GRANTED
    assert decide(checker, NOBODY) is Access.UNAVAILABLE, "still fails closed for the rest"


def test_group_members_are_cached_for_the_cache_time(groups_on: AppEnv) -> None:
    clock = FakeClock()
    checker = AccessChecker(usergroups=UsergroupMembers(clock=clock))
    assert decide(checker, GROUPIE) is Access.GRANTED
    assert decide(checker, NOBODY) is Access.DENIED
    assert len(groups_on.slack.calls(GROUP_LIST)) == 1
    clock.advance(float(groups_on.values["ALLOWED_USERS_CACHE_SECONDS"]))
    groups_on.slack.always(GROUP_LIST, Fault(status=200, body={"ok": True, "users": [NOBODY]}))
    assert decide(checker, NOBODY) is Access.GRANTED
    assert decide(checker, GROUPIE) is Access.DENIED, "removed from the group"
    assert len(groups_on.slack.calls(GROUP_LIST)) == 2


def test_a_failed_group_refresh_keeps_the_cached_members_up_to_ten_cache_times(
    groups_on: AppEnv,
) -> None:
    clock = FakeClock()
    checker = AccessChecker(usergroups=UsergroupMembers(clock=clock))
    ttl = float(groups_on.values["ALLOWED_USERS_CACHE_SECONDS"])
    assert decide(checker, GROUPIE) is Access.GRANTED
    groups_on.slack.always(GROUP_LIST, Fault(status=500))
    clock.advance(ttl * 10 - 0.5)
    assert decide(checker, GROUPIE) is Access.GRANTED
    clock.advance(0.5)
    assert decide(checker, GROUPIE) is Access.DENIED


def test_cache_seconds_zero_asks_slack_every_time(
    groups_on: AppEnv, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("ALLOWED_USERS_CACHE_SECONDS", "0")
    checker = AccessChecker(usergroups=UsergroupMembers(clock=FakeClock()))
    for _ in range(3):
        assert decide(checker, GROUPIE) is Access.GRANTED
    assert len(groups_on.slack.calls(GROUP_LIST)) == 3


def test_a_stalled_csv_read_is_abandoned_at_the_deadline(
    groups_on: AppEnv,
) -> None:
    groups_on.blob_proxy.delay = 30
    checker = AccessChecker(allowed_users=AllowedUsersCache())
    started = time.monotonic()
    decision = checker.check(
        load_settings(), NOBODY, Permission.FLUSH, Deadline.after(DEADLINE_SECONDS)
    )
    assert decision is Access.UNAVAILABLE
    assert time.monotonic() - started < DEADLINE_SECONDS + 0.3


# --- through both endpoints -------------------------------------------------------------------


def slash(user_id: str) -> func.HttpResponse:
    body = slash_command_body(user_id=user_id)
    return slash_start.main(
        http_request("slash-start", body, slack_headers(SLACK_SIGNING_SECRET, body))
    )


def submit(env: AppEnv, user_id: str, view_id: str) -> dict[str, Any]:
    body = view_submission_body(urls_text="https://www.nhs.uk/a", view_id=view_id, user_id=user_id)
    request = http_request("orchestrator-client", body, slack_headers(SLACK_SIGNING_SECRET, body))
    response = run(orchestrator_client.main(request, env.durable_client_binding))
    assert response.status_code == 200
    return json.loads(response.get_body())


def test_a_group_member_gets_the_form_and_can_flush(groups_on: AppEnv) -> None:
    assert slash(GROUPIE).status_code == 200
    updated = groups_on.slack.calls("views.update")[-1]
    assert updated.args["view"]["callback_id"] == "cache_flush_request"
    answer = submit(groups_on, GROUPIE, "V0GROUP001")
    assert "being processed" in json.dumps(answer["view"])
    [start] = groups_on.durable_api.starts
    assert start.input["user_id"] == GROUPIE


def test_a_failing_slack_group_lookup_shows_not_allowed(groups_on: AppEnv) -> None:
    groups_on.slack.always(GROUP_LIST, Fault(error="missing_scope"))
    assert slash(GROUPIE).status_code == 200
    updated = groups_on.slack.calls("views.update")[-1]
    assert "callback_id" not in updated.args["view"]
    assert GROUPIE in json.dumps(updated.args["view"])
    answer = submit(groups_on, GROUPIE, "V0GROUP002")
    assert GROUPIE in json.dumps(answer["view"])
    assert groups_on.durable_api.starts == []


def test_cache_seconds_zero_works_on_both_endpoints(
    app_env: AppEnv, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("ALLOWED_USERS_CACHE_SECONDS", "0")
    app_env.set_allowed_csv(CSV)
    for _ in range(2):
        assert slash(BOB).status_code == 200
    forms = [c.args["view"] for c in app_env.slack.calls("views.update")]
    assert [view.get("callback_id") for view in forms] == ["cache_flush_request"] * 2
    answer = submit(app_env, BOB, "V0NOCACHE1")
    assert "being processed" in json.dumps(answer["view"])
    statuses = [r.response_status for r in app_env.blob_proxy.requests() if r.method == "GET"]
    assert statuses[-2:] == [304, 304], "each check revalidated by ETag"


@pytest.mark.parametrize("cache_seconds", ["300", "86400"])
def test_a_long_cache_time_keeps_failed_group_members_at_most_ten_minutes(
    groups_on: AppEnv, monkeypatch: pytest.MonkeyPatch, cache_seconds: str
) -> None:
    monkeypatch.setenv("ALLOWED_USERS_CACHE_SECONDS", cache_seconds)
    clock = FakeClock()
    checker = AccessChecker(usergroups=UsergroupMembers(clock=clock))
    assert decide(checker, GROUPIE) is Access.GRANTED
    groups_on.slack.always(GROUP_LIST, Fault(status=500))
    clock.advance(MAX_STALE_SECONDS - 0.5)
    assert decide(checker, GROUPIE) is Access.GRANTED
    clock.advance(0.5)
    assert decide(checker, GROUPIE) is Access.DENIED, "ten minutes at most, whatever Slack does"


def test_a_long_cache_time_still_drops_a_removed_group_member_within_ten_minutes(
    groups_on: AppEnv, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("ALLOWED_USERS_CACHE_SECONDS", "86400")
    clock = FakeClock()
    checker = AccessChecker(usergroups=UsergroupMembers(clock=clock))
    assert decide(checker, GROUPIE) is Access.GRANTED
    groups_on.slack.always(GROUP_LIST, Fault(status=200, body={"ok": True, "users": [NOBODY]}))
    clock.advance(MAX_STALE_SECONDS)
    assert decide(checker, GROUPIE) is Access.DENIED
