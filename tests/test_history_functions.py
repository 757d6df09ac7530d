"""The retention timer (`purge_history`), the Home tab activity, and the pieces they share:
instance IDs and the links a message holds."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta

import pytest
from azure.functions.timer import TimerRequest

import publish_home_activity
import purge_history
from shared.approval import Ended, Stage
from shared.handoffs import HomeOwner
from shared.instance_ids import belongs_to, instance_id, is_instance_id, user_prefix
from shared.message_links import links_in
from tests.support import constants
from tests.support.app_env import AppEnv
from tests.support.flushes import MESSAGE_LINKS, MESSAGE_WITH_LINKS, flush_request, store_flush
from tests.support.logs import LogCapture
from tests.support.loop import run

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
