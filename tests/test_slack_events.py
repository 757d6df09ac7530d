"""`/api/slack-events` at the function level: the gate, the URL check, the Home tab.

The durable client is the real `DurableOrchestrationClient`, listing instances over HTTP from
a stand-in that filters them as the Durable extension's API does; Slack is a stand-in too.
"""

from __future__ import annotations

import json
import time
from datetime import UTC, datetime, timedelta
from typing import Any

import azure.functions as func
import pytest

import slack_events
from devhost.simulate.slack_surfaces import event_envelope
from devhost.standins.slack_requests import LEGACY_VERIFICATION_TOKEN, slack_headers
from shared.approval import Ended, Stage, WaitingPlaces
from shared.handoffs import ApprovalPlan, FlushRequest
from shared.instance_ids import instance_id
from tests.support import constants
from tests.support.app_env import AppEnv
from tests.support.flushes import flush_request, store_flush
from tests.support.logs import LogCapture
from tests.support.loop import run
from tests.support.requests import FORGED_HEADERS, http_request

USER = constants.USER_ID
OTHER = constants.OTHER_USER_ID
TEAM = constants.TEAM_ID
SECRET = constants.SLACK_SIGNING_SECRET


def event_body(user: str = USER, *, tab: str = "home", kind: str = "app_home_opened") -> bytes:
    """An Events API delivery as Slack sends it."""
    event = {
        "type": kind,
        "user": user,
        "channel": "D0HOMEDM01",
        "tab": tab,
        "event_ts": f"{time.time():.6f}",
    }
    return json.dumps(event_envelope(event, verification_token=LEGACY_VERIFICATION_TOKEN)).encode()


def call(env: AppEnv, body: bytes, headers: dict[str, str] | None = None) -> func.HttpResponse:
    signed = headers if headers is not None else json_headers(body)
    request = http_request("slack-events", body, signed)
    return run(slack_events.main(request, env.durable_client_binding))


def json_headers(body: bytes, **extra: str) -> dict[str, str]:
    return {**slack_headers(SECRET, body), "Content-Type": "application/json", **extra}


def users_request(user: str, view: str, *, approval: bool) -> FlushRequest:
    return flush_request(
        user_id=user,
        user_name=f"name_{user.lower()}",
        view_id=view,
        environment="production" if approval else "staging",
        urls=tuple(f"https://www.nhs.uk/{view.lower()}/{n}" for n in range(5)),
        approval=ApprovalPlan("C0APPROVAL", 60, "x") if approval else None,
    )


def add_flush(
    env: AppEnv,
    view: str,
    *,
    user: str = USER,
    status: str = "Completed",
    custom: Any = None,
    age: timedelta = timedelta(hours=1),
    approval: bool = False,
) -> str:
    return store_flush(
        env,
        users_request(user, view, approval=approval),
        status,
        custom_status=custom,
        created=datetime.now(UTC) - age,
    )


def published(env: AppEnv, user: str = USER) -> dict[str, Any]:
    [call_] = env.slack.calls("views.publish")
    assert call_.args["user_id"] == user
    view = call_.args["view"]
    return json.loads(view) if isinstance(view, str) else view


def texts(view: dict[str, Any]) -> str:
    return json.dumps(view["blocks"])


def action_ids(view: dict[str, Any]) -> list[tuple[str, str]]:
    return [
        (element["action_id"], element.get("value", ""))
        for block in view["blocks"]
        if block["type"] == "actions"
        for element in block["elements"]
    ]


def test_url_verification_answers_the_challenge(app_env: AppEnv) -> None:
    body = json.dumps({"token": "t", "challenge": "3eZbrw1aB", "type": "url_verification"})
    response = call(app_env, body.encode())
    assert response.status_code == 200
    assert json.loads(response.get_body()) == {"challenge": "3eZbrw1aB"}
    assert app_env.slack.calls() == []


def test_url_verification_without_a_challenge_is_a_400(app_env: AppEnv) -> None:
    response = call(app_env, b'{"type": "url_verification"}')
    assert response.status_code == 400


@pytest.mark.parametrize("headers", FORGED_HEADERS)
def test_an_unsigned_or_stale_event_gets_401_and_nothing_is_published(
    app_env: AppEnv, headers: Any
) -> None:
    app_env.allow(USER)
    body = event_body()
    response = call(app_env, body, headers(body))
    assert response.status_code == 401
    assert app_env.slack.calls() == []
    assert app_env.durable_api.requests() == []


@pytest.mark.parametrize("body", [b"not json", b"[1, 2]", b'"text"', b"[" * 5_000])
def test_a_body_that_is_not_a_json_object_is_a_400(app_env: AppEnv, body: bytes) -> None:
    assert call(app_env, body).status_code == 400
    assert app_env.slack.calls() == []


def test_a_retried_delivery_is_acknowledged_and_does_nothing(app_env: AppEnv) -> None:
    app_env.allow(USER)
    body = event_body()
    headers = json_headers(body, **{"X-Slack-Retry-Num": "1", "X-Slack-Retry-Reason": "timeout"})
    response = call(app_env, body, headers)
    assert (response.status_code, response.get_body()) == (200, b"")
    assert app_env.slack.calls() == []


@pytest.mark.parametrize(
    "body",
    [
        pytest.param(event_body(kind="app_mention"), id="other-event"),
        pytest.param(event_body(tab="messages"), id="messages-tab"),
        pytest.param(json.dumps({"type": "app_rate_limited"}).encode(), id="other-type"),
    ],
)
def test_other_events_get_200_and_a_log_line(
    app_env: AppEnv, captured_logs: LogCapture, body: bytes
) -> None:
    response = call(app_env, body)
    assert (response.status_code, response.get_body()) == (200, b"")
    assert app_env.slack.calls() == []
    assert any("Ignored" in line for line in captured_logs.lines)


def test_opening_the_home_tab_publishes_new_flush_and_recent_flushes(app_env: AppEnv) -> None:
    app_env.allow(USER)
    ok = add_flush(app_env, "V0OLDOK001", custom=Ended(Stage.FLUSHED, "P-1234").status())
    failed = add_flush(
        app_env, "V0NEWFAIL1", custom=Ended(Stage.FLUSH_FAILED).status(), age=timedelta(minutes=5)
    )
    add_flush(app_env, "V0THEIRS01", user=OTHER, custom=Ended(Stage.FLUSHED).status())
    response = call(app_env, event_body())
    assert (response.status_code, response.get_body()) == (200, b"")
    view = published(app_env)
    assert view["type"] == "home"
    shown = texts(view)
    assert ("open_flush_form", "") in action_ids(view)
    assert action_ids(view).count(("flush_again", ok)) == 1
    assert action_ids(view).count(("flush_again", failed)) == 1
    assert shown.index("v0newfail1") < shown.index("v0oldok001"), "newest first"
    assert "P-1234" in shown
    assert "URLs (5)" in shown
    assert "and 2 more" in shown
    assert "v0theirs01" not in shown, "nobody sees another person's flushes"


def test_only_the_ten_newest_are_shown(app_env: AppEnv) -> None:
    app_env.allow(USER)
    for n in range(14):
        add_flush(
            app_env,
            f"V0MANY{n:04d}",
            custom=Ended(Stage.FLUSHED).status(),
            age=timedelta(hours=n + 1),
        )
    call(app_env, event_body())
    again = [value for action, value in action_ids(published(app_env)) if action == "flush_again"]
    assert again == [instance_id(TEAM, USER, f"V0MANY{n:04d}") for n in range(10)]


def test_older_flushes_are_read_window_by_window_each_once(app_env: AppEnv) -> None:
    app_env.allow(USER)
    ages = [timedelta(hours=3), timedelta(hours=20)] + [timedelta(days=d) for d in range(2, 20)]
    for n, age in enumerate(ages):
        add_flush(app_env, f"V0AGED{n:04d}", custom=Ended(Stage.FLUSHED).status(), age=age)
    call(app_env, event_body())
    again = [value for action, value in action_ids(published(app_env)) if action == "flush_again"]
    assert again == [instance_id(TEAM, USER, f"V0AGED{n:04d}") for n in range(10)]
    reads = [r.query for r in app_env.durable_api.requests() if r.query.get("instanceIdPrefix")]
    own = [q for q in reads if q["instanceIdPrefix"].startswith(f"flush-{TEAM}-{USER}-")]
    assert [("createdTimeTo" in q) for q in own] == [False, True, True], "1, 7 and 30 days"
    assert own[1]["createdTimeTo"] == own[0]["createdTimeFrom"], "no day is read twice"


def test_flushes_past_retention_are_not_shown(
    app_env: AppEnv, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("HISTORY_RETENTION_DAYS", "7")
    app_env.allow(USER)
    add_flush(app_env, "V0ANCIENT1", custom=Ended(Stage.FLUSHED).status(), age=timedelta(days=8))
    call(app_env, event_body())
    view = published(app_env)
    assert "flush_again" not in [action for action, _ in action_ids(view)]
    assert "No flushes in the last 7 days" in texts(view)


def test_someone_who_may_not_flush_sees_how_to_ask_not_the_button(app_env: AppEnv) -> None:
    app_env.allow(OTHER)
    call(app_env, event_body())
    view = published(app_env)
    assert "open_flush_form" not in [action for action, _ in action_ids(view)]
    assert "You do not have access to flush the cache" in texts(view)
    assert f"Please add Slack member {USER} to the" in texts(view)


@pytest.mark.usefixtures("approvals_on")
def test_pending_requests_and_requests_to_decide(app_env: AppEnv) -> None:
    app_env.set_allowed_csv(f"member_id,name,role\n{USER},me,approver\n{OTHER},them\n")
    waiting = WaitingPlaces().status()
    mine = add_flush(app_env, "V0MINE0001", status="Running", custom=waiting, approval=True)
    theirs = add_flush(
        app_env, "V0THEIRS02", user=OTHER, status="Running", custom=waiting, approval=True
    )
    call(app_env, event_body())
    view = published(app_env)
    actions = action_ids(view)
    assert ("cancel_flush", mine) in actions
    assert ("approve_flush", theirs) in actions
    assert ("reject_flush", theirs) in actions
    assert ("approve_flush", mine) not in actions, "four eyes"
    shown = texts(view)
    assert "Waiting for your approval" in shown
    assert "Your pending requests" in shown


@pytest.mark.usefixtures("approvals_on")
def test_someone_who_may_not_approve_sees_no_requests_to_decide(app_env: AppEnv) -> None:
    app_env.allow(USER, OTHER)
    add_flush(
        app_env,
        "V0THEIRS03",
        user=OTHER,
        status="Running",
        custom=WaitingPlaces().status(),
        approval=True,
    )
    call(app_env, event_body())
    view = published(app_env)
    assert "approve_flush" not in [action for action, _ in action_ids(view)]
    assert "v0theirs03" not in texts(view)


def test_a_history_that_cannot_be_read_still_publishes_the_tab(app_env: AppEnv) -> None:
    app_env.allow(USER)
    app_env.durable_api.delay("list", 5.0)
    started = time.monotonic()
    response = call(app_env, event_body())
    assert response.status_code == 200
    assert time.monotonic() - started < 3.0, "within Slack's 3 seconds"
    view = published(app_env)
    assert ("open_flush_form", "") in action_ids(view)
    assert "could not be read" in texts(view)


def test_an_event_missing_its_user_is_a_400(app_env: AppEnv) -> None:
    body = json.loads(event_body())
    del body["event"]["user"]
    assert call(app_env, json.dumps(body).encode()).status_code == 400
    assert app_env.slack.calls() == []
