"""The retention timer (`purge_history`), the Home tab activity, and the pieces they share:
instance IDs, the history read back page by page, and the links a message holds."""

from __future__ import annotations

import json
import threading
import urllib.request
from datetime import UTC, datetime, timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest
from azure.durable_functions import DurableOrchestrationClient
from azure.functions.timer import TimerRequest

import publish_home_activity
import purge_history
from shared.approval import Ended, Stage, WaitingPlaces
from shared.handoffs import ApprovalPlan, HomeOwner
from shared.history import (
    CONTINUATION_HEADER,
    PAGE_SIZE,
    History,
    QueryError,
    recent_flushes,
    waiting_flushes,
)
from shared.instance_ids import belongs_to, instance_id, is_instance_id, team_prefix, user_prefix
from shared.message_links import links_in
from tests.support import constants
from tests.support.app_env import AppEnv
from tests.support.flushes import MESSAGE_LINKS, MESSAGE_WITH_LINKS, flush_request, store_flush
from tests.support.logs import LogCapture
from tests.support.loop import run
from tests.test_slack_events import action_ids, call, event_body, published

TEAM = constants.TEAM_ID
USER = constants.USER_ID


def timer(past_due: bool = False) -> TimerRequest:
    return TimerRequest(past_due=past_due)


def add(env: AppEnv, view: str, status: str, age: timedelta) -> str:
    instance = instance_id(TEAM, USER, view)
    env.durable_api.set_status(
        instance,
        status,
        input=json.dumps({"user_id": USER}),
        created=datetime.now(UTC) - age,
    )
    return instance


@pytest.mark.parametrize("days", ["90", "7"])
def test_the_purge_removes_finished_flushes_past_retention_only(
    app_env: AppEnv, captured_logs: LogCapture, monkeypatch: pytest.MonkeyPatch, days: str
) -> None:
    monkeypatch.setenv("HISTORY_RETENTION_DAYS", days)
    old = timedelta(days=int(days) + 1)
    gone = [add(app_env, f"V0OLD{state}", state, old) for state in ("Completed", "Failed")]
    gone.append(add(app_env, "V0OLDTERM", "Terminated", old))
    kept = [
        add(app_env, "V0OLDRUN", "Running", old),
        add(app_env, "V0RECENT", "Completed", timedelta(days=int(days) - 1)),
    ]
    run(purge_history.main(timer(), app_env.durable_client_binding))
    assert [app_env.durable_api.status(i) for i in gone] == [None, None, None]
    assert all(app_env.durable_api.status(i) for i in kept)
    assert "Purged 3 finished flush(es)" in captured_logs.text


def test_a_purge_with_nothing_to_remove_logs_zero(
    app_env: AppEnv, captured_logs: LogCapture
) -> None:
    run(purge_history.main(timer(past_due=True), app_env.durable_client_binding))
    assert "Purged 0 finished flush(es)" in captured_logs.text
    assert "running late" in captured_logs.text


def test_the_home_activity_publishes_the_owners_tab(app_env: AppEnv) -> None:
    app_env.allow(USER)
    request = flush_request(user_id=USER, user_name="me", team_id=TEAM, view_id="V0ENDED001")
    store_flush(app_env, request, "Running", custom_status=Ended(Stage.FLUSHED, "P-42").status())
    owner = HomeOwner(TEAM, USER).to_dict()
    assert run(publish_home_activity.main(owner, app_env.durable_client_binding)) is True
    [home] = app_env.slack.calls("views.publish")
    view = json.dumps(home.args["view"])
    assert "P-42" in view, "a flush that has just ended shows its outcome"
    assert "Flushed" in view


HISTORY = History.of(retention_days=90, approval_timeout_minutes=60)
WAITING = WaitingPlaces().status()


def durable_client(env: AppEnv) -> DurableOrchestrationClient:
    return DurableOrchestrationClient(env.durable_client_binding)


def store_flushes(
    env: AppEnv, times: list[datetime], *, user: str = USER, waiting: bool = False
) -> list[str]:
    """Store a flush created at each time, ended or waiting for approval; their instance IDs.

    The view IDs sort as the times are given, so listed oldest first the newest flushes
    have the IDs that come last, on the last page of an instance ID order.
    """
    return [
        store_flush(
            env,
            flush_request(
                user_id=user,
                view_id=f"V0MANY{number:04d}",
                environment="production" if waiting else "staging",
                approval=ApprovalPlan("C0APPROVAL", 60, "x") if waiting else None,
            ),
            "Running" if waiting else "Completed",
            custom_status=WAITING if waiting else Ended(Stage.FLUSHED).status(),
            created=created,
        )
        for number, created in enumerate(times)
    ]


def newest_first(instances: list[str], count: int) -> list[str]:
    return list(reversed(instances))[:count]


def test_the_ten_newest_of_a_day_with_more_than_a_page_are_listed_newest_first(
    app_env: AppEnv,
) -> None:
    now = datetime.now(UTC)
    count = PAGE_SIZE + 30
    stored = store_flushes(app_env, [now - timedelta(minutes=5 * n) for n in range(count, 0, -1)])
    found = run(recent_flushes(durable_client(app_env), HISTORY, TEAM, USER, now))
    assert [flush.instance_id for flush in found] == newest_first(stored, 10)


def test_more_than_a_page_created_within_a_minute_is_read_page_by_page(app_env: AppEnv) -> None:
    now = datetime.now(UTC)
    older = [now - timedelta(seconds=40) + timedelta(seconds=0.2) * n for n in range(PAGE_SIZE)]
    newest = [now - timedelta(seconds=10 - n) for n in range(10)]
    stored = store_flushes(app_env, older + newest)
    found = run(recent_flushes(durable_client(app_env), HISTORY, TEAM, USER, now))
    assert [flush.instance_id for flush in found] == newest_first(stored, 10)


def test_a_short_last_day_is_made_up_from_the_newest_of_a_full_week(app_env: AppEnv) -> None:
    now = datetime.now(UTC)
    week = [now - timedelta(days=2) - timedelta(minutes=30 * n) for n in range(PAGE_SIZE + 20)]
    day = [now - timedelta(hours=n) for n in (5, 4, 3, 2, 1)]
    stored = store_flushes(app_env, list(reversed(week)) + day)
    found = run(recent_flushes(durable_client(app_env), HISTORY, TEAM, USER, now))
    assert [flush.instance_id for flush in found] == newest_first(stored, 10)


def test_every_waiting_request_is_read_however_many_pages(app_env: AppEnv) -> None:
    now = datetime.now(UTC)
    count = 2 * PAGE_SIZE + 10
    stored = store_flushes(
        app_env, [now - timedelta(seconds=10 * n) for n in range(count, 0, -1)], waiting=True
    )
    found = run(waiting_flushes(durable_client(app_env), HISTORY, team_prefix(TEAM), now))
    assert [flush.instance_id for flush in found] == newest_first(stored, count)


@pytest.mark.usefixtures("approvals_on")
def test_a_pending_request_behind_a_page_of_others_is_on_the_home_tab(app_env: AppEnv) -> None:
    app_env.allow(USER)
    now = datetime.now(UTC)
    times = [now - timedelta(minutes=1) - timedelta(seconds=n) for n in range(PAGE_SIZE + 5)]
    store_flushes(app_env, times, user="U0AAAAAAA1", waiting=True)
    [mine] = store_flushes(app_env, [now - timedelta(hours=1)], waiting=True)
    call(app_env, event_body())
    assert ("cancel_flush", mine) in action_ids(published(app_env))


class EarlyStops:
    """The extension's instance query as it may answer a busy task hub: an empty first page
    that names a next one (a query stopped early), then everything, with no token."""

    def __init__(self, everything: bytes) -> None:
        self.reads = 0
        stand_in = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:
                stand_in.reads += 1
                token = self.headers.get(CONTINUATION_HEADER)
                body = everything if token else b"[]"
                self.send_response(200)
                self.send_header("Content-Type", "application/json")
                if not token:
                    self.send_header(CONTINUATION_HEADER, "the-rest")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, *args: object) -> None:
                """Quiet."""

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def binding(self, real: str) -> str:
        """The client binding ``real``, its queries sent here."""
        port = self.server.server_address[1]
        return json.dumps(
            {**json.loads(real), "rpcBaseUrl": f"http://127.0.0.1:{port}/durabletask/"}
        )


def test_a_short_page_with_a_token_is_followed_not_split(app_env: AppEnv) -> None:
    now = datetime.now(UTC)
    stored = store_flushes(app_env, [now - timedelta(hours=n) for n in (3, 2, 1)])
    base = json.loads(app_env.durable_client_binding)["rpcBaseUrl"]
    listed = f"{base}instances?showInput=true"
    with urllib.request.urlopen(listed) as answer:
        everything = answer.read()
    stand_in = EarlyStops(everything)
    try:
        client = DurableOrchestrationClient(stand_in.binding(app_env.durable_client_binding))
        found = run(recent_flushes(client, HISTORY, TEAM, USER, now))
    finally:
        stand_in.server.shutdown()
    assert [flush.instance_id for flush in found] == newest_first(stored, 3)
    assert stand_in.reads == 2 * len(HISTORY.windows()), "two reads a window, no splitting"


def test_an_error_answer_to_a_page_is_not_taken_for_an_empty_history(app_env: AppEnv) -> None:
    app_env.durable_api.force("list", 503)
    with pytest.raises(QueryError, match="503"):
        run(recent_flushes(durable_client(app_env), HISTORY, TEAM, USER, datetime.now(UTC)))


def test_instance_ids_are_made_and_read_in_one_place() -> None:
    made = instance_id("T0TEAM", "U0USER", "V0VIEW")
    assert made == "flush-T0TEAM-U0USER-V0VIEW"
    assert made.startswith(user_prefix("T0TEAM", "U0USER"))
    assert belongs_to(made, "T0TEAM", "U0USER")
    assert not belongs_to(made, "T0TEAM", "U0OTHER")
    assert is_instance_id(instance_id("T-1", "", "V/../x"))
    assert not is_instance_id("flush-T0TEAM-V0VIEW")
    assert not is_instance_id("../../instances")


@pytest.mark.parametrize(
    ("message", "links"),
    [
        (
            {"text": "<https://a.nhs.uk/x|label> then <http://b.nhs.uk/>"},
            ["https://a.nhs.uk/x", "http://b.nhs.uk/"],
        ),
        ({"text": "<mailto:a@b.c> <@U0X> <#C0X|general> <!here>"}, []),
        ({"text": "<https://a.nhs.uk/?a=1&amp;b=2>"}, ["https://a.nhs.uk/?a=1&b=2"]),
        (MESSAGE_WITH_LINKS, MESSAGE_LINKS),
        ({"blocks": "not a list", "text": 7}, []),
    ],
)
def test_links_in_a_message(message: dict[str, object], links: list[str]) -> None:
    assert links_in(message) == links
