"""Every function loads and runs under Microsoft's own Python worker (azure-functions-runtime-v1).

The worker checks each function's parameter annotations against its function.json when it
loads it, and refuses the function otherwise: unit tests calling ``main`` directly cannot see
that. Here the worker (Python 3.13, in ``.venv-worker``) gets the messages the Functions host
sends: a load request for every folder with a function.json, then one invocation of each with
the data the host and the Durable extension pass, against the usual stand-ins and Azurite.
The invocations follow one flush through: the slash command, the submission that starts the
orchestration, the orchestrator's first episode with that input, the cache-flush activity it
schedules, its second episode with the activity's result, and one of the notifications it sends.
"""

from __future__ import annotations

import json
import re
import shutil
from pathlib import Path
from typing import Any

from devhost.standins.slack_requests import slack_headers, slash_command_body, view_submission_body
from shared.handoffs import FlushCall, FlushResult, Notification, NotificationKind
from shared.instance_ids import instance_id
from shared.orchestration import CACHE_FLUSH_ACTIVITY, NOTIFY_ACTIVITY
from tests.support import constants
from tests.support.app_env import AppEnv
from tests.support.histories import History, activity_calls
from tests.worker.worker_process import (
    ROOT,
    WorkerProcess,
    function_names,
    http_body,
    http_trigger,
    json_binding,
    needs_worker_venv,
    string_binding,
    typed_value,
    worker_env,
)

pytestmark = needs_worker_venv

USER = constants.USER_ID
VIEW_ID = "V0WORKER01"
URLS = ["https://www.nhs.uk/conditions/", "https://www.nhs.uk/service-search/"]
ORCHESTRATOR = "flush_orchestrator"
# As the Durable extension serialises its TimeSpans (.NET's "c" format): 6 and 3 days.
MAXIMUM_SHORT_TIMER = "6.00:00:00"
LONG_TIMER_INTERVAL = "3.00:00:00"
JSON = "application/json"
# What the worker says when it refuses `dict[str, Any]` as an activity's annotation.
REFUSED = (
    "FunctionLoadError: cannot load the {} function: "
    "binding request has invalid non-type annotation dict[str, typing.Any]"
)


# Activity -> [(input, expected output)] for the activities the flush test does not reach.
OTHER_ACTIVITIES: dict[str, list[tuple[dict[str, Any], dict[str, Any]]]] = {
    # AccessQuery -> AccessAnswer: the allowed-users list decides.
    "check_access_activity": [
        ({"user_id": USER}, {"allowed": True}),
        ({"user_id": constants.OTHER_USER_ID}, {"allowed": False}),
    ],
}


def signed(route: str, body: bytes) -> dict[str, Any]:
    """The ``req`` binding for ``body`` posted by Slack to ``route``, signed as Slack signs."""
    return http_trigger("req", route, body, slack_headers(constants.SLACK_SIGNING_SECRET, body))


def orchestration_context(history: History, input_json: str) -> str:
    """The orchestration trigger's payload as the Durable extension builds it for Python."""
    return json.dumps(
        {
            "history": history.events,
            "input": input_json,
            "instanceId": history.instance_id,
            "isReplaying": any(event["IsPlayed"] for event in history.events),
            "parentInstanceId": None,
            "upperSchemaVersion": 1,
            "upperSchemaVersionNew": 2,
            "longRunningTimerIntervalDuration": LONG_TIMER_INTERVAL,
            "maximumShortTimerDuration": MAXIMUM_SHORT_TIMER,
        }
    )


def run_orchestrator(worker: WorkerProcess, history: History, input_json: str) -> dict[str, Any]:
    """One episode of the orchestrator; return the state it hands back to the extension."""
    response = worker.invoke(
        ORCHESTRATOR, string_binding("context", orchestration_context(history, input_json))
    )
    state = typed_value(response["return_value"])
    return json.loads(state) if isinstance(state, str) else state


def activity_input(action: dict[str, Any]) -> Any:
    """An activity call's input as the orchestrator serialised it."""
    value = action["input"]
    return json.loads(value) if isinstance(value, str) else value


def run_activity(worker: WorkerProcess, name: str, payload: Any) -> Any:
    """Invoke activity ``name`` with ``payload`` (the JSON string the extension passes)."""
    response = worker.invoke(name, string_binding("request", json.dumps(payload)))
    return typed_value(response["return_value"])


def started_worker(app_dir: Path, tmp_path: Path) -> WorkerProcess:
    return WorkerProcess(app_dir, worker_env(), tmp_path / "worker-stderr.log")


def test_every_function_loads_and_runs_under_the_worker(app_env: AppEnv, tmp_path: Path) -> None:
    app_env.allow(USER)
    invoked: list[str] = []
    with started_worker(ROOT, tmp_path) as worker:
        assert set(worker.loads) == function_names()
        refused = [
            f"{name}: {r['exception']}" for name, r in worker.loads.items() if r["exception"]
        ]
        assert not refused, "the worker refused to load:\n" + "\n".join(refused)
        assert {r["status"] for r in worker.loads.values()} == {"Success"}

        # The slash command: the modal opens, then shows the form to an allowed user.
        trigger_id = "7000000001.1234567891.0123456789abcdef0123456789abcdef"
        answer = worker.invoke(
            "slash_start",
            signed("slash-start", slash_command_body(user_id=USER, trigger_id=trigger_id)),
        )
        invoked.append("slash_start")
        http = typed_value(answer["return_value"])
        assert http["statusCode"] == "200"
        assert http_body(http) == b""
        opened = app_env.slack.calls("views.open")
        assert [call.args["trigger_id"] for call in opened] == [trigger_id]
        assert opened[0].has_token(constants.SLACK_BOT_TOKEN)
        assert len(app_env.slack.calls("views.update")) == 1

        # The submission: one orchestration started, the modal says it is being processed.
        body = view_submission_body(urls_text="\n".join(URLS), view_id=VIEW_ID)
        answer = worker.invoke(
            "orchestrator_client",
            signed("orchestrator-client", body),
            string_binding("starter", app_env.durable_client_binding),
        )
        invoked.append("orchestrator_client")
        http = typed_value(answer["return_value"])
        assert http["statusCode"] == "200"
        shown = json.loads(http_body(http))
        assert shown["response_action"] == "update"
        assert "being processed" in json.dumps(shown["view"])
        [start] = app_env.durable_api.starts
        assert (start.name, start.accepted) == (ORCHESTRATOR, True)
        assert start.instance_id == instance_id(constants.TEAM_ID, constants.USER_ID, VIEW_ID)
        assert start.input["urls"] == URLS

        # The orchestrator's first episode, with that input: it schedules the cache flush.
        history = History(ORCHESTRATOR, start.input, instance_id=start.instance_id)
        state = run_orchestrator(worker, history, start.input_json)
        invoked.append(ORCHESTRATOR)
        assert state["isDone"] is False
        [flush_action] = activity_calls(state)
        assert flush_action["functionName"] == CACHE_FLUSH_ACTIVITY
        flush_input = activity_input(flush_action)
        assert flush_input == FlushCall("staging", tuple(URLS)).to_dict()

        # The cache-flush activity: cache-flush accepts the request.
        result = run_activity(worker, CACHE_FLUSH_ACTIVITY, flush_input)
        invoked.append(CACHE_FLUSH_ACTIVITY)
        flushed = FlushResult.from_dict(result)
        assert (flushed.ok, flushed.status, flushed.error) == (True, 201, None)
        assert flushed.body["urls"] == URLS
        [sent] = app_env.cache_flush.requests()
        assert sent.json == {"environment": "staging", "objects": URLS}

        # The second episode, with that result: it sends the requester's notifications.
        history.new_episode().scheduled(0, CACHE_FLUSH_ACTIVITY).completed(0, result)
        state = run_orchestrator(worker, history, start.input_json)
        calls = activity_calls(state)
        assert calls[0]["functionName"] == CACHE_FLUSH_ACTIVITY, "replayed from the history"
        assert {a["functionName"] for a in calls[1:]} == {NOTIFY_ACTIVITY}
        notifications = [Notification.from_dict(activity_input(a)) for a in calls[1:]]
        [dm] = [
            n
            for n in notifications
            if n.kind is NotificationKind.POST_MESSAGE and n.channel == USER
        ]

        # The notify activity delivers the direct message.
        delivery = run_activity(worker, NOTIFY_ACTIVITY, dm.to_dict())
        invoked.append(NOTIFY_ACTIVITY)
        assert delivery["delivered"] is True
        assert delivery["reason"] is None
        [posted] = app_env.slack.calls("chat.postMessage")
        assert posted.args["channel"] == USER
        assert posted.args["text"] == dm.text
        assert delivery["ts"]

        # The Events endpoint: the opener's Home tab is published, with their flush in it.
        body = json.dumps(
            {
                "type": "event_callback",
                "team_id": constants.TEAM_ID,
                "event": {"type": "app_home_opened", "user": USER, "tab": "home"},
            }
        ).encode()
        headers = {**slack_headers(constants.SLACK_SIGNING_SECRET, body), "Content-Type": JSON}
        answer = worker.invoke(
            "slack_events",
            http_trigger("req", "slack-events", body, headers),
            string_binding("starter", app_env.durable_client_binding),
        )
        invoked.append("slack_events")
        assert typed_value(answer["return_value"])["statusCode"] == "200"
        [home] = app_env.slack.calls("views.publish")
        assert home.args["user_id"] == USER

        # The Home tab activity, with its durable client, publishes it again.
        owner = json.dumps({"team_id": constants.TEAM_ID, "user_id": USER})
        answer = worker.invoke(
            "publish_home_activity",
            string_binding("request", owner),
            string_binding("starter", app_env.durable_client_binding),
        )
        invoked.append("publish_home_activity")
        assert typed_value(answer["return_value"]) is True
        assert len(app_env.slack.calls("views.publish")) == 2

        # The retention timer: nothing is old enough to purge; the flush stays.
        status = {"Last": "2026-12-02T03:30:00Z", "Next": "2026-12-04T03:30:00Z"}
        answer = worker.invoke(
            "purge_history",
            json_binding("timer", {"ScheduleStatus": status, "IsPastDue": False}),
            string_binding("starter", app_env.durable_client_binding),
        )
        invoked.append("purge_history")
        assert answer["result"]["status"] == "Success", answer["result"]
        assert app_env.durable_api.status(start.instance_id)

        # Activities this flush does not reach (approval steps), each with its real input.
        for name in sorted(function_names() - set(invoked)):
            for payload, expected in OTHER_ACTIVITIES.get(name, ()):
                assert run_activity(worker, name, payload) == expected, (name, payload)
                invoked.append(name)

    missing = function_names() - set(invoked)
    assert not missing, f"add an invocation of {sorted(missing)} to this test"


def copy_app(destination: Path) -> Path:
    """A copy of the function app (shared code, function folders, host.json) to alter."""
    for folder in ("shared", *sorted(function_names())):
        shutil.copytree(
            ROOT / folder, destination / folder, ignore=shutil.ignore_patterns("__pycache__")
        )
    shutil.copy2(ROOT / "host.json", destination / "host.json")
    return destination


def test_the_worker_refuses_an_activity_annotated_with_the_builtin_dict(tmp_path: Path) -> None:
    # The activities' annotation, ActivityPayload, made the builtin generic it must not be.
    app = copy_app(tmp_path / "app")
    handoffs = app / "shared" / "handoffs.py"
    source = handoffs.read_text(encoding="utf-8")
    altered, count = re.subn(
        r"^ActivityPayload = .*$", "ActivityPayload = dict[str, Any]", source, flags=re.M
    )
    assert count == 1, "shared/handoffs.py no longer defines ActivityPayload on one line"
    handoffs.write_text(altered, encoding="utf-8")
    activities = {
        name
        for name in function_names(app)
        if "ActivityPayload" in (app / name / "__init__.py").read_text(encoding="utf-8")
    }
    assert {CACHE_FLUSH_ACTIVITY, NOTIFY_ACTIVITY} <= activities

    with started_worker(app, tmp_path) as worker:
        refused = {name: r["exception"] for name, r in worker.loads.items() if r["exception"]}
        statuses = {name: r["status"] for name, r in worker.loads.items()}
    assert refused == {name: REFUSED.format(name) for name in activities}
    assert statuses == {
        name: "Failure" if name in activities else "Success" for name in function_names()
    }
