"""Orchestrations through devhost: the SDK's client and replay engine against devhost's engine."""

from __future__ import annotations

import json
import logging
import time
import uuid
from datetime import datetime, timedelta

import pytest

from devhost.simulate.client import WEBHOOK, wait_until
from tests.support.loop import LOOP_THREAD_NAME


def _unique(prefix: str) -> str:
    return f"{prefix}-{uuid.uuid4().hex[:12]}"


def _time(text: str) -> datetime:
    return datetime.fromisoformat(text)


def _of_type(history: list[dict], event_type: str) -> list[dict]:
    return [e for e in history if e["EventType"] == event_type]


def _wait_custom_status(client, instance_id: str, value) -> dict:
    def reached():
        body = client.status(instance_id)
        return body if body["customStatus"] == value else None

    return wait_until(reached, f"custom status {value!r}")


def _assert_ids_follow_the_sdk_numbering(history: list[dict]) -> None:
    """Every TaskScheduled/TimerCreated has the next ID; completions name existing ones."""
    allocated = [
        e["EventId"] for e in history if e["EventType"] in ("TaskScheduled", "TimerCreated")
    ]
    assert allocated == list(range(len(allocated)))
    scheduled = {e["EventId"] for e in _of_type(history, "TaskScheduled")}
    timers = {e["EventId"] for e in _of_type(history, "TimerCreated")}
    for event in history:
        if event["EventType"] in ("TaskCompleted", "TaskFailed"):
            assert event["TaskScheduledId"] in scheduled
        if event["EventType"] == "TimerFired":
            assert event["TimerId"] in timers


def test_the_older_orchestration_client_binding_type_works_as_durable_client(toy):
    started = toy.client.send("POST", "/api/legacy/start/toy_flow", json={"n": 2})
    assert started.status_code == 202, started.text
    status = toy.client.wait_status(started.json()["id"])
    assert status["runtimeStatus"] == "Completed"
    assert status["output"] == {"first": 4, "rest": [8, 10, 12]}


def test_activity_then_three_way_fan_out_completes_in_milliseconds(toy):
    instance_id = toy.client.start("toy_flow", {"n": 5})
    status = toy.client.wait_status(instance_id)

    assert status["runtimeStatus"] == "Completed"
    assert status["name"] == "toy_flow"
    assert status["output"] == {"first": 10, "rest": [20, 22, 24]}
    assert status["customStatus"] == {"stage": "fan-out", "first": 10}
    # The Python client posts its input serialized; the status shows it as the extension does.
    assert status["input"] == json.dumps({"n": 5})
    history = toy.client.history(instance_id)
    scheduled = _of_type(history, "TaskScheduled")
    assert [e["FunctionName"] for e in scheduled] == ["toy_double"] * 4
    assert [e["Input"] for e in scheduled] == ["5", "10", "11", "12"]
    _assert_ids_follow_the_sdk_numbering(history)
    started = _time(_of_type(history, "ExecutionStarted")[0]["Timestamp"])
    completed = _time(_of_type(history, "ExecutionCompleted")[0]["Timestamp"])
    assert completed - started < timedelta(seconds=1)


def test_coroutine_activities_run_off_the_host_loop(toy, loop_thread):
    status = toy.client.wait_status(toy.client.start("toy_async_caller", 21))
    assert status["output"]["doubled"] == 42
    assert status["output"]["thread"].startswith("devhost")
    assert status["output"]["thread"] != LOOP_THREAD_NAME


def test_sdk_client_sees_status_and_a_falsy_status_for_unknown_instances(toy):
    instance_id = toy.client.start("toy_flow", {"n": 1})
    toy.client.wait_status(instance_id)
    known = toy.client.send("GET", f"/api/status/{instance_id}").json()
    assert known == {
        "exists": True,
        "runtimeStatus": "Completed",
        "output": {"first": 2, "rest": [4, 6, 8]},
    }
    unknown = toy.client.send("GET", "/api/status/no-such-instance").json()
    assert unknown == {"exists": False, "runtimeStatus": None, "output": None}


def test_unknown_instance_is_404_with_an_empty_body(toy):
    response = toy.client.send("GET", f"{WEBHOOK}/instances/no-such-instance")
    assert response.status_code == 404
    assert response.content == b""


def test_status_codes_and_management_urls(toy):
    instance_id = _unique("urls")
    response = toy.client.send(
        "POST", f"/api/start/toy_wait?id={instance_id}", json={"who": "urls"}
    )
    assert response.status_code == 202
    payload = response.json()
    assert payload["id"] == instance_id
    assert response.headers["Location"] == payload["statusQueryGetUri"]
    running = toy.client.session.get(payload["statusQueryGetUri"], timeout=30)
    assert running.status_code == 202
    assert running.json()["instanceId"] == instance_id
    event_url = payload["sendEventPostUri"].replace("{eventName}", "Approval")
    assert toy.client.session.post(event_url, json=1, timeout=30).status_code == 202
    toy.client.wait_status(instance_id)
    assert toy.client.session.get(payload["statusQueryGetUri"], timeout=30).status_code == 200


def test_starting_an_unknown_orchestrator_or_with_invalid_json_is_400(toy):
    unknown = toy.client.send("POST", f"{WEBHOOK}/orchestrators/no_such_function", json="{}")
    assert unknown.status_code == 400
    assert "doesn't exist" in unknown.json()["ExceptionMessage"]
    invalid = toy.client.send("POST", f"{WEBHOOK}/orchestrators/toy_flow", data=b"{not json")
    assert invalid.status_code == 400


def test_timer_fires_after_its_time(toy):
    instance_id = toy.client.start("toy_timer", {"ms": 150})
    status = toy.client.wait_status(instance_id)
    assert status["runtimeStatus"] == "Completed"
    assert status["output"]["fired"] is True
    assert status["output"]["elapsed_ms"] >= 150
    history = toy.client.history(instance_id)
    (created,) = _of_type(history, "TimerCreated")
    (fired,) = _of_type(history, "TimerFired")
    assert fired["TimerId"] == created["EventId"]
    assert _time(fired["Timestamp"]) >= _time(created["FireAt"])


def test_external_event_resumes_the_orchestrator(toy):
    instance_id = toy.client.start("toy_wait", {"who": "me"})
    waiting = _wait_custom_status(toy.client, instance_id, "waiting")
    assert waiting["runtimeStatus"] == "Running"

    response = toy.client.send(
        "POST", f"{WEBHOOK}/instances/{instance_id}/raiseEvent/Approval", json={"ok": True}
    )
    assert response.status_code == 202
    status = toy.client.wait_status(instance_id)
    assert status["runtimeStatus"] == "Completed"
    assert status["output"] == {"input": {"who": "me"}, "event": {"ok": True}}
    assert status["customStatus"] == "approved"

    late = toy.client.send("POST", f"{WEBHOOK}/instances/{instance_id}/raiseEvent/Approval", json=1)
    assert late.status_code == 410
    missing = toy.client.send("POST", f"{WEBHOOK}/instances/nobody/raiseEvent/Approval", json=1)
    assert missing.status_code == 404


def test_sdk_client_raises_events_as_the_extension_delivers_them(toy):
    instance_id = toy.client.start("toy_wait", {"who": "sdk"})
    _wait_custom_status(toy.client, instance_id, "waiting")
    assert toy.client.send("POST", f"/api/raise/{instance_id}", json={"ok": 1}).status_code == 202
    status = toy.client.wait_status(instance_id)
    # The SDK serializes the data itself before posting it as JSON, so the orchestrator
    # receives the JSON text, as it does on Azure.
    assert status["output"]["event"] == json.dumps({"ok": 1})


def test_raise_event_needs_json_content(toy):
    instance_id = toy.client.start("toy_wait", {"who": "content"})
    _wait_custom_status(toy.client, instance_id, "waiting")
    url = f"{WEBHOOK}/instances/{instance_id}/raiseEvent/Approval"
    not_json = toy.client.send("POST", url, data=b"1", headers={"Content-Type": "text/plain"})
    assert not_json.status_code == 400
    invalid = toy.client.send("POST", url, data=b"{", headers={"Content-Type": "application/json"})
    assert invalid.status_code == 400
    empty = toy.client.send("POST", url, data=b"", headers={"Content-Type": "application/json"})
    assert empty.status_code == 202
    assert toy.client.wait_status(instance_id)["output"]["event"] is None


def test_orchestrator_code_sees_is_replaying(toy, caplog):
    with caplog.at_level(logging.INFO):
        instance_id = toy.client.start("toy_audit")
        assert toy.client.wait_status(instance_id)["output"] == 4
    audits = [r for r in caplog.records if r.getMessage() == f"audit {instance_id}"]
    assert len(audits) == 1
    executions = [
        r for r in caplog.records if r.getMessage().startswith("Executed 'Functions.toy_audit'")
    ]
    assert len(executions) == 3


def test_task_any_with_a_timer_that_wins(toy):
    status = toy.client.wait_status(toy.client.start("toy_race", {"ms": 100}))
    assert status["output"] == {"winner": "timer"}


def test_task_any_with_an_event_that_wins_and_a_cancelled_timer(toy):
    instance_id = toy.client.start("toy_race", {"ms": 60_000})
    _wait_custom_status(toy.client, instance_id, "racing")
    url = f"{WEBHOOK}/instances/{instance_id}/raiseEvent/Go"
    assert toy.client.send("POST", url, json="now").status_code == 202
    status = toy.client.wait_status(instance_id)
    assert status["output"] == {"winner": "event", "value": "now"}
    assert not _of_type(toy.client.history(instance_id), "TimerFired")


def test_terminate(toy):
    instance_id = toy.client.start("toy_wait", {"who": "terminated"})
    _wait_custom_status(toy.client, instance_id, "waiting")

    response = toy.client.send("POST", f"{WEBHOOK}/instances/{instance_id}/terminate?reason=enough")
    assert response.status_code == 202
    status = toy.client.wait_status(instance_id)
    assert status["runtimeStatus"] == "Terminated"
    assert status["output"] == "enough"
    assert (
        toy.client.send("POST", f"{WEBHOOK}/instances/{instance_id}/terminate").status_code == 410
    )
    assert toy.client.send("POST", f"{WEBHOOK}/instances/nobody/terminate").status_code == 404
    event = toy.client.send(
        "POST", f"{WEBHOOK}/instances/{instance_id}/raiseEvent/Approval", json=1
    )
    assert event.status_code == 410


def test_status_list_filters_by_runtime_status(toy):
    running = toy.client.start("toy_wait", {"who": "list"})
    _wait_custom_status(toy.client, running, "waiting")
    done = toy.client.start("toy_flow", {"n": 2})
    toy.client.wait_status(done)

    only_running = toy.client.send(
        "GET", f"{WEBHOOK}/instances", params={"runtimeStatus": "Running"}
    )
    assert only_running.status_code == 200
    ids = {s["instanceId"] for s in only_running.json()}
    assert running in ids
    assert done not in ids
    assert {s["runtimeStatus"] for s in only_running.json()} == {"Running"}

    finished = toy.client.send("GET", f"{WEBHOOK}/instances?runtimeStatus=Completed,Failed").json()
    ids = {s["instanceId"] for s in finished}
    assert done in ids
    assert running not in ids

    everything = {s["instanceId"] for s in toy.client.instances()}  # every page
    assert {running, done} <= everything
    toy.client.send("POST", f"{WEBHOOK}/instances/{running}/terminate")
    toy.client.wait_status(running)


def test_orchestrator_exception_fails_the_instance_with_the_error(toy):
    instance_id = toy.client.start("toy_broken")
    status = toy.client.wait_status(instance_id)
    assert status["runtimeStatus"] == "Failed"
    assert status["output"].startswith("Orchestrator function 'toy_broken' failed: ")
    assert "orchestrator broke after 2" in status["output"]


def test_unsupported_action_fails_the_instance(toy):
    status = toy.client.wait_status(toy.client.start("toy_unsupported"))
    assert status["runtimeStatus"] == "Failed"
    assert "does not support the CALL_SUB_ORCHESTRATOR action" in status["output"]


def test_failed_activity_without_retry_fails_the_instance(toy):
    spec = {"dir": str(toy.work_dir), "key": _unique("unretried"), "failures": 1}
    status = toy.client.wait_status(toy.client.start("toy_unretried", spec))
    assert status["runtimeStatus"] == "Failed"
    assert (
        f"Activity function 'toy_flaky' failed: RuntimeError: boom {spec['key']}"
        in (status["output"])
    )


def test_flaky_activity_succeeds_under_retry_with_the_hosts_retry_timers(toy):
    spec = {"dir": str(toy.work_dir), "key": _unique("flaky"), "failures": 2}
    instance_id = toy.client.start("toy_retry", {"spec": spec, "attempts": 3, "interval": 50})
    status = toy.client.wait_status(instance_id)

    assert status["runtimeStatus"] == "Completed"
    assert status["output"] == {"ok": {"key": spec["key"], "attempts": 3}}
    history = toy.client.history(instance_id)
    work = [
        (e["EventType"], e.get("EventId", -1), e.get("TaskScheduledId", e.get("TimerId")))
        for e in history
        if e["EventType"]
        in ("TaskScheduled", "TaskFailed", "TaskCompleted", "TimerCreated", "TimerFired")
    ]
    assert work == [
        ("TaskScheduled", 0, None),
        ("TaskFailed", -1, 0),
        ("TimerCreated", 1, None),
        ("TimerFired", -1, 1),
        ("TaskScheduled", 2, None),
        ("TaskFailed", -1, 2),
        ("TimerCreated", 3, None),
        ("TimerFired", -1, 3),
        ("TaskScheduled", 4, None),
        ("TaskCompleted", -1, 4),
    ]
    for failed, created in zip(
        _of_type(history, "TaskFailed"), _of_type(history, "TimerCreated"), strict=True
    ):
        interval = _time(created["FireAt"]) - _time(failed["Timestamp"])
        assert interval >= timedelta(milliseconds=45)


def test_exhausted_retries_surface_the_last_failure_after_one_more_timer(toy):
    spec = {"dir": str(toy.work_dir), "key": _unique("hopeless"), "failures": 10}
    instance_id = toy.client.start("toy_retry", {"spec": spec, "attempts": 2, "interval": 50})
    status = toy.client.wait_status(instance_id)

    assert status["runtimeStatus"] == "Completed"
    assert f"boom {spec['key']} attempt 2" in status["output"]["error"]
    assert (toy.work_dir / f"{spec['key']}.attempts").read_text() == "2"
    history = toy.client.history(instance_id)
    assert len(_of_type(history, "TaskScheduled")) == 2
    assert len(_of_type(history, "TaskFailed")) == 2
    assert len(_of_type(history, "TimerCreated")) == 2
    assert len(_of_type(history, "TimerFired")) == 2
    _assert_ids_follow_the_sdk_numbering(history)


@pytest.mark.parametrize("round_", range(3))
def test_fan_out_of_retried_calls_failing_together_keeps_each_result_with_its_caller(toy, round_):
    failures = [2, 1, 2, 0, 1]
    base = _unique(f"fan{round_}")
    specs = [
        {"dir": str(toy.work_dir), "key": f"{base}-{i}", "failures": f}
        for i, f in enumerate(failures)
    ]
    job = {"specs": specs, "attempts": 3, "interval": 50}
    instance_id = toy.client.start("toy_retry_fanout", job)
    status = toy.client.wait_status(instance_id)

    assert status["runtimeStatus"] == "Completed", status["output"]
    results = status["output"]["results"]
    expected = [{"key": s["key"], "attempts": s["failures"] + 1} for s in specs]
    assert results == [*expected, 42]
    assert status["output"]["after"] == 2 * len(results)

    history = toy.client.history(instance_id)
    _assert_ids_follow_the_sdk_numbering(history)
    inputs = {e["EventId"]: json.loads(e["Input"]) for e in _of_type(history, "TaskScheduled")}
    for completed in _of_type(history, "TaskCompleted"):
        result = json.loads(completed["Result"])
        scheduled_input = inputs[completed["TaskScheduledId"]]
        if isinstance(result, dict):
            assert scheduled_input["key"] == result["key"]
        else:
            assert result == 2 * scheduled_input
    assert len(_of_type(history, "TaskFailed")) == sum(failures)
    assert len(_of_type(history, "TimerFired")) == sum(failures)


def test_slow_activity_does_not_block_http(toy):
    payload = {"dir": str(toy.work_dir), "key": _unique("slow")}
    instance_id = toy.client.start("toy_block", payload)
    started = toy.work_dir / f"{payload['key']}.started"
    wait_until(started.exists, "the slow activity to start")

    before = time.monotonic()
    assert toy.client.send("GET", "/api/text").status_code == 200
    assert toy.client.status(instance_id)["runtimeStatus"] == "Running"
    assert time.monotonic() - before < 5

    (toy.work_dir / f"{payload['key']}.release").write_text("go")
    assert toy.client.wait_status(instance_id)["output"] == "released"


def test_any_state_replaces_an_existing_instance(toy):
    instance_id = _unique("replace")
    toy.client.start("toy_wait", {"v": 1}, instance_id=instance_id)
    _wait_custom_status(toy.client, instance_id, "waiting")

    assert toy.client.start("toy_wait", {"v": 2}, instance_id=instance_id) == instance_id

    def replaced():
        body = toy.client.status(instance_id)
        return body["input"] == json.dumps({"v": 2}) and body["customStatus"] == "waiting"

    wait_until(replaced, "the replacement instance to wait")
    toy.client.send("POST", f"{WEBHOOK}/instances/{instance_id}/raiseEvent/Approval", json="yes")
    status = toy.client.wait_status(instance_id)
    assert status["output"] == {"input": {"v": 2}, "event": "yes"}
    assert len(_of_type(toy.client.history(instance_id), "ExecutionStarted")) == 1


def test_non_running_states_refuses_to_replace_a_running_instance(strict):
    client = strict.client
    instance_id = _unique("strict")
    assert client.send("POST", f"/api/strict/{instance_id}", json={"v": 1}).status_code == 202
    client.wait_status(instance_id, ("Running",))

    refused = client.send("POST", f"/api/strict/{instance_id}", json={"v": 2})
    assert refused.status_code == 409
    assert "An Orchestration instance with the status Running already exists." in refused.text
    direct = client.send("POST", f"{WEBHOOK}/orchestrators/strict_wait/{instance_id}", json="{}")
    assert direct.status_code == 409
    assert "already exists" in direct.json()["Message"]
    assert client.status(instance_id)["input"] == json.dumps({"v": 1})

    client.send("POST", f"{WEBHOOK}/instances/{instance_id}/raiseEvent/Go", json="first")
    assert client.wait_status(instance_id)["output"] == {"input": {"v": 1}, "event": "first"}

    assert client.send("POST", f"/api/strict/{instance_id}", json={"v": 3}).status_code == 202

    def restarted():
        body = client.status(instance_id)
        return body["runtimeStatus"] == "Running" and body["input"] == json.dumps({"v": 3})

    wait_until(restarted, "the instance to start again")
    client.send("POST", f"{WEBHOOK}/instances/{instance_id}/raiseEvent/Go", json="second")
    assert client.wait_status(instance_id)["output"] == {"input": {"v": 3}, "event": "second"}


def test_purge_removes_a_finished_instance(toy):
    instance_id = toy.client.start("toy_flow", {"n": 3})
    toy.client.wait_status(instance_id)
    purged = toy.client.send("DELETE", f"{WEBHOOK}/instances/{instance_id}")
    assert purged.status_code == 200
    assert purged.json() == {"instancesDeleted": 1}
    assert toy.client.status(instance_id) is None
