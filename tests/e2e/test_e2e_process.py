"""devhost as a process in the whole app's life: a crash in mid-flush, and refusing to start."""

from __future__ import annotations

import json
import signal
from pathlib import Path
from typing import Any

from devhost.simulate.client import DEADLINE_SECONDS, DevhostClient, wait_until
from tests.e2e.harness import assert_flushed_with_the_modal_gone, instance_for, start_devhost
from tests.e2e.launcher import AppLauncher

ALICE = "U0E2EALICE"
URL = "https://www.nhs.uk/conditions/"
CACHE_FLUSH_ACTIVITY = "call_cache_flush_activity"


def _is_flush_scheduled(event: dict[str, Any]) -> bool:
    return event["EventType"] == "TaskScheduled" and event["FunctionName"] == CACHE_FLUSH_ACTIVITY


def _cache_flush_in_flight(slack: DevhostClient, instance_id: str) -> bool:
    """True once the activity is scheduled, unfinished, and its request reached cache-flush."""
    status = slack.status(instance_id, history=True)
    if status is None or status["runtimeStatus"] != "Running":
        return False
    events = status.get("historyEvents") or []
    scheduled = any(_is_flush_scheduled(e) for e in events)
    answered = any(e["EventType"] in ("TaskCompleted", "TaskFailed") for e in events)
    # The simulator takes a fault off its queue when the request arrives, then holds it.
    holding = slack.get("/sim/cache-flush/faults")["faults"] == []
    return scheduled and not answered and holding


def test_flush_in_flight_when_devhost_is_killed_resumes_after_restart(
    launcher: AppLauncher,
) -> None:
    launcher.allow(ALICE)
    first = launcher.start()
    slack = first.slack
    slack.flush_fault(delay=60)
    assert slack.command(ALICE, URL)["status"] == 200
    view_id = slack.only_view(ALICE)["id"]
    answer = slack.submit(ALICE, environment="staging")
    assert answer["response_action"] == "update", answer
    instance = wait_until(lambda: instance_for(slack, view_id), "the orchestration")
    instance_id = instance["instanceId"]
    wait_until(lambda: _cache_flush_in_flight(slack, instance_id), "cache-flush to be called")

    assert first.process.kill() == -signal.SIGKILL

    # Same state directory, same port, same settings: as after `make run` is restarted.
    second = launcher.start(port=first.port, state_dir=first.state_dir)
    assert "Resumed 1 orchestration instance(s)" in second.process.output
    # The simulators' memory died with the first process; the result DM is what survives.
    dms = second.slack.wait_dms(ALICE)
    assert [m["text"] for m in dms] == ["Cache flush succeeded"], dms
    status = second.slack.wait_status(instance_id)
    # The new simulator never saw the modal, so the modal update finds no view.
    assert_flushed_with_the_modal_gone(status)
    assert status["output"]["notifications"]["dm"]["delivered"] is True, status
    flushes = second.slack.flush_calls()
    assert [(f["objects"], f["answer"]["status"]) for f in flushes] == [([URL], 201)], flushes
    scheduled = [e for e in status["historyEvents"] if _is_flush_scheduled(e)]
    assert len(scheduled) == 1, scheduled


def test_devhost_refuses_an_app_with_an_unsupported_binding(tmp_path: Path) -> None:
    app_root = tmp_path / "app"
    function = app_root / "queue_reader"
    function.mkdir(parents=True)
    (app_root / "host.json").write_text(json.dumps({"version": "2.0"}), encoding="utf-8")
    (function / "__init__.py").write_text("def main(msg: str) -> None:\n    pass\n")
    (function / "function.json").write_text(
        json.dumps(
            {
                "bindings": [
                    {
                        "type": "queueTrigger",
                        "direction": "in",
                        "name": "msg",
                        "queueName": "flush-requests",
                        "connection": "AzureWebJobsStorage",
                    }
                ]
            }
        ),
        encoding="utf-8",
    )
    process = start_devhost(app_root, tmp_path / "state", {}, cwd=tmp_path)
    try:
        assert process.wait_listening(DEADLINE_SECONDS) is None, process.output
        assert process.wait(DEADLINE_SECONDS) == 2, process.output
    finally:
        process.stop()
    refusal = [line for line in process.stderr_lines if line.strip()]
    assert len(refusal) == 1, process.output
    assert "queue_reader" in refusal[0], refusal
    assert "queueTrigger" in refusal[0], refusal
