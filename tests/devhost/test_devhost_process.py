"""``python -m devhost`` as a real process: refusal to start, logging, signals, crash recovery."""

from __future__ import annotations

import json
import signal

import pytest

from devhost.process import DevhostProcess
from devhost.simulate.client import wait_until
from tests.devhost.toolkit import (
    DEADLINE_SECONDS,
    ORCHESTRATOR_JSON,
    activity_json,
    http_function,
    start_devhost,
    wait_client,
    write_app,
)

ECHO = """
import json
import logging
import os

import azure.functions as func


def main(req: func.HttpRequest) -> func.HttpResponse:
    logging.info("handled echo for %s", req.method)
    body = {"setting": os.environ.get("PROC_SETTING"), "override": os.environ.get("PROC_OVERRIDE")}
    return func.HttpResponse(json.dumps(body), mimetype="application/json")
"""

BOOM = """
import azure.functions as func


def main(req: func.HttpRequest) -> func.HttpResponse:
    raise RuntimeError(f"cannot reach {req.url}")
"""

LEAK = """
import logging
import os

import azure.functions as func


def main(req: func.HttpRequest):
    logging.warning("the signing secret is %s", os.environ["SLACK_SIGNING_SECRET"])
"""

STARTER = """
import azure.durable_functions as df
import azure.functions as func


async def main(req: func.HttpRequest, starter: str) -> func.HttpResponse:
    client = df.DurableOrchestrationClient(starter)
    instance_id = await client.start_new("proc_slow", None, req.get_json())
    return client.create_check_status_response(req, instance_id)
"""

SLOW = """
from datetime import timedelta

import azure.durable_functions as df


def orchestrator(context: df.DurableOrchestrationContext):
    yield context.create_timer(context.current_utc_datetime + timedelta(milliseconds=400))
    result = yield context.call_activity("proc_slow_activity", context.get_input())
    return result


main = df.Orchestrator.create(orchestrator)
"""

SLOW_ACTIVITY = """
import time
from pathlib import Path


def main(payload: dict) -> str:
    work = Path(payload["dir"])
    with (work / "started.txt").open("a") as log:
        log.write("started\\n")
    deadline = time.monotonic() + 60
    while not (work / "release").exists() and time.monotonic() < deadline:
        time.sleep(0.01)
    return "done" if (work / "release").exists() else "gave up"
"""

# An activity annotated as the app's were before: Microsoft's worker refuses to load it.
OLD_ACTIVITY = """
from __future__ import annotations

from typing import Any


def main(request: dict[str, Any]) -> dict[str, Any]:
    return request
"""


def _run_to_exit(app_root, state_dir) -> tuple[int, list[str], list[str]]:
    """Run devhost until it exits by itself: its status, stdout lines and stderr lines."""
    args = ["--app-root", str(app_root), "--state-dir", str(state_dir), "--port", "0"]
    with DevhostProcess(args, separate_stderr=True) as process:
        code = process.wait(DEADLINE_SECONDS)
    return code, process.lines, process.stderr_lines


@pytest.mark.parametrize(
    ("files", "expected"),
    [
        pytest.param(
            {
                "proc_queue/function.json": {
                    "bindings": [
                        {"type": "queueTrigger", "direction": "in", "name": "msg", "queueName": "q"}
                    ]
                },
                "proc_queue/__init__.py": "def main(msg):\n    return None\n",
            },
            ("function 'proc_queue'", "queueTrigger", "does not support"),
            id="unsupported-binding",
        ),
        pytest.param(
            {
                "proc_broken/function.json": '{"bindings": [',
                "proc_broken/__init__.py": "def main(req):\n    return None\n",
            },
            ("function 'proc_broken'", "invalid function.json"),
            id="invalid-function-json",
        ),
        pytest.param(
            {
                "proc_activity/function.json": {
                    "bindings": [{"type": "activityTrigger", "direction": "in", "name": "request"}]
                },
                "proc_activity/__init__.py": OLD_ACTIVITY,
            },
            (
                "cannot load the proc_activity function: binding request has invalid non-type "
                "annotation dict[str, typing.Any]",
            ),
            id="annotation-the-worker-refuses",
        ),
    ],
)
def test_refuses_to_start_with_a_one_line_reason_naming_the_function(tmp_path, files, expected):
    app = write_app(tmp_path / "app", {"host.json": {"version": "2.0"}, **files})
    code, stdout, stderr = _run_to_exit(app, tmp_path / "state")
    assert code != 0
    lines = "".join(stderr).strip().splitlines()
    assert len(lines) == 1, stderr
    for fragment in expected:
        assert fragment in lines[0]
    assert "listening" not in "".join(stdout)


def test_serves_logs_without_secrets_and_stops_cleanly_on_sigterm(tmp_path):
    app = write_app(
        tmp_path / "app",
        {
            "host.json": {"version": "2.0"},
            "local.settings.json": {
                "IsEncrypted": False,
                "Values": {
                    "PROC_SETTING": "from-settings",
                    "PROC_OVERRIDE": "from-settings",
                    "SLACK_SIGNING_SECRET": "settings-secret-5f2a9c",
                },
            },
            "proc_echo/function.json": http_function("echo", ["get", "post"]),
            "proc_echo/__init__.py": ECHO,
            "proc_boom/function.json": http_function("boom", ["get"]),
            "proc_boom/__init__.py": BOOM,
            "proc_leak/function.json": http_function("leak", ["get"]),
            "proc_leak/__init__.py": LEAK,
        },
    )
    process = start_devhost(app, tmp_path / "state", env={"PROC_OVERRIDE": "from-env"})
    try:
        client = wait_client(process)
        echo = client.send("POST", "/api/echo?code=SECRETVALUE&x=1", data=b"BODYSECRET")
        assert echo.json() == {"setting": "from-settings", "override": "from-env"}
        assert client.send("GET", "/api/boom?code=SECRETVALUE").status_code == 500
        assert client.send("GET", "/api/leak").status_code == 204
        code = process.stop(signal.SIGTERM, DEADLINE_SECONDS)
    finally:
        process.kill()

    output = process.output
    assert code == 0, output
    assert "not a production server" in output
    assert f"proc_echo: [GET,POST] {client.base_url}/api/echo" in output
    assert "Executing 'Functions.proc_echo' (Reason=" in output
    assert "Executed 'Functions.proc_echo' (Succeeded, Id=" in output
    assert "Executed 'Functions.proc_boom' (Failed, Id=" in output
    assert "handled echo for POST" in output
    assert "cannot reach" in output
    assert "the signing secret is ***" in output
    assert "devhost stopped" in output
    for secret in ("SECRETVALUE", "BODYSECRET", "settings-secret-5f2a9c"):
        assert secret not in output


SETTING = """
import os

import azure.functions as func


def main(req: func.HttpRequest) -> str:
    return os.environ.get("SLACK_API_URL", "unset")
"""


def test_simulate_serves_the_simulators_and_points_unset_settings_at_them(tmp_path):
    app = write_app(
        tmp_path / "app",
        {
            "host.json": {"version": "2.0"},
            "proc_setting/function.json": http_function("setting", ["get"]),
            "proc_setting/__init__.py": SETTING,
        },
    )
    process = start_devhost(app, tmp_path / "state", args=("--simulate",), unset=("SLACK_API_URL",))
    try:
        client = wait_client(process)
        assert client.send("GET", "/api/setting").text == f"{client.base_url}/sim/slack/api/"
        assert client.send("GET", "/sim/events").status_code == 200
        assert process.stop(signal.SIGTERM, DEADLINE_SECONDS) == 0
    finally:
        process.kill()


def test_orchestration_survives_sigkill_and_sigterm_and_completes_after_restart(tmp_path):
    app = write_app(
        tmp_path / "app",
        {
            "host.json": {"version": "2.0"},
            "proc_start/function.json": http_function("start", ["post"], client=True),
            "proc_start/__init__.py": STARTER,
            "proc_slow/function.json": ORCHESTRATOR_JSON,
            "proc_slow/__init__.py": SLOW,
            "proc_slow_activity/function.json": activity_json(),
            "proc_slow_activity/__init__.py": SLOW_ACTIVITY,
        },
    )
    work = tmp_path / "work"
    work.mkdir()
    state = tmp_path / "state"
    started = work / "started.txt"

    # Run 1: killed while the orchestration's timer is pending.
    first = start_devhost(app, state)
    try:
        client = wait_client(first)
        instance_id = client.send("POST", "/api/start", json={"dir": str(work)}).json()["id"]

        def timer_created() -> bool:
            events = client.history(instance_id)
            return any(e["EventType"] == "TimerCreated" for e in events)

        wait_until(timer_created, "the timer to be created")
        first.kill()
    finally:
        first.kill()
    assert not started.exists()

    # Run 2: the timer is re-armed and fires; SIGTERM arrives while the activity runs.
    second = start_devhost(app, state)
    try:
        wait_client(second)
        wait_until(started.exists, "the activity to start after the restart")
        assert second.stop(signal.SIGTERM, DEADLINE_SECONDS) == 0, second.output
    finally:
        second.kill()
    assert "Resumed 1 orchestration instance(s)" in second.output

    # Run 3: the unfinished activity runs again (at-least-once) and the instance completes.
    (work / "release").write_text("go")
    third = start_devhost(app, state)
    try:
        client = wait_client(third)
        status = client.wait_status(instance_id)
    finally:
        third.stop(signal.SIGTERM, DEADLINE_SECONDS)
        third.kill()
    assert status["runtimeStatus"] == "Completed", json.dumps(status)
    assert status["output"] == "done"
    assert started.read_text().splitlines() == ["started", "started"]
