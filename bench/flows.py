"""Sections 4 and 6: whole flows through ``devhost --simulate``, one user at a time and many.

A flow is what a person does: the slash command (``/sim/slack/command``; the simulator sends
the signed command to ``/api/slash-start`` and the form opens), then the submission
(``/sim/slack/submit``; the simulator sends the signed ``view_submission`` to
``/api/orchestrator-client``), then the orchestration flushes through the cache-flush
simulator and reports back. End-to-end time runs from sending the submission to the result DM
reaching the simulated Slack (seen through the ``/sim/events`` long poll).
"""

from __future__ import annotations

import json
import statistics
import threading
import time
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from bench.appenv import FLUSH_URL, user_id
from bench.devhost_proc import Devhost, Invocation
from bench.slack_events import SlackEvents
from bench.stats import across_runs, distribution, repeated
from devhost.simulate.client import WEBHOOK, DevhostClient
from devhost.simulate.slack_workspace import TEAM_ID as SIM_TEAM_ID
from shared.instance_ids import instance_id

SUCCESS_TEXT = "Cache flush succeeded"
RESULT_TIMEOUT_SECONDS = 30.0
STATUS_PATH = f"{WEBHOOK}/instances"
LATENCY_CLIMB_FACTOR = 1.5
WINDOWS = 3


@dataclass
class Flow:
    """One flow's outcome; times are monotonic seconds, ``wall_submitted`` epoch seconds."""

    user: str
    ok: bool = False
    lost: bool = False
    error: str | None = None
    command_seconds: float = 0.0
    submitted: float = 0.0
    wall_submitted: float = 0.0
    result_at: float = 0.0
    view_id: str = ""

    @property
    def end_to_end(self) -> float:
        """Seconds from sending the submission to the result DM."""
        return self.result_at - self.submitted


def run_flow(client: DevhostClient, events: SlackEvents, user: str) -> Flow:
    """Command, submission, then wait for the result DM; never raises for app failures."""
    flow = Flow(user)
    started = time.monotonic()
    status, answer = _post(client, "/sim/slack/command", {"user_id": user, "text": FLUSH_URL})
    flow.command_seconds = time.monotonic() - started
    if status != 200 or not isinstance(answer, dict) or answer.get("status") != 200:
        flow.error = f"slash command: {status} {answer}"
        return flow
    seen = events.dm_count(user)
    flow.wall_submitted = time.time()
    flow.submitted = time.monotonic()
    status, answer = _post(
        client, "/sim/slack/submit", {"user_id": user, "environment": "staging", "urls": FLUSH_URL}
    )
    if status != 200 or not isinstance(answer, dict) or answer.get("outcome") != "updated":
        flow.error = f"submission: {status} {answer}"
        return flow
    flow.view_id = str(answer.get("view_id"))
    dm = events.wait_dm(user, seen, RESULT_TIMEOUT_SECONDS)
    if dm is None:
        flow.lost = True
        flow.error = "no result DM"
        return flow
    flow.result_at = dm.at
    flow.ok = dm.text == SUCCESS_TEXT
    if not flow.ok:
        flow.error = f"result DM: {dm.text!r}"
    return flow


def _post(client: DevhostClient, path: str, body: dict[str, Any]) -> tuple[int, Any]:
    """POST JSON; (status, decoded JSON or None), whatever the status."""
    response = client.send("POST", path, json=body)
    return response.status_code, _json(response.content)


def _json(raw: bytes) -> Any:
    try:
        return json.loads(raw) if raw else None
    except ValueError:
        return None


def wait_completed(
    client: DevhostClient, user: str, view_id: str, team_id: str = SIM_TEAM_ID
) -> dict[str, Any]:
    """Poll the orchestration of ``view_id`` until it is no longer running; return its status."""
    deadline = time.monotonic() + RESULT_TIMEOUT_SECONDS
    path = f"{STATUS_PATH}/{instance_id(team_id, user, view_id)}"
    while True:
        response = client.send("GET", path)
        body = _json(response.content)
        status = response.status_code
        if status == 200 and isinstance(body, dict):
            return body
        if time.monotonic() > deadline:
            raise RuntimeError(f"orchestration for {view_id} still not finished ({status})")
        time.sleep(0.001)


def split_window(start: float, end: float, invocations: Sequence[Invocation]) -> dict[str, Any]:
    """How much of [start, end] had at least one function running, and each function's part."""
    spans = sorted(
        (max(inv.started, start), min(inv.finished, end), inv.name)
        for inv in invocations
        if inv.finished > start and inv.started < end
    )
    per_function: dict[str, float] = {}
    covered = 0.0
    current_start = current_end = None
    for begin, finish, name in spans:
        per_function[name] = per_function.get(name, 0.0) + (finish - begin)
        if current_end is None or begin > current_end:
            if current_end is not None and current_start is not None:
                covered += current_end - current_start
            current_start, current_end = begin, finish
        else:
            current_end = max(current_end, finish)
    if current_end is not None and current_start is not None:
        covered += current_end - current_start
    return {"functions": covered, "per_function": per_function}


def _end_to_end_run(client: DevhostClient, events: SlackEvents, flows: int) -> list[Flow]:
    done = []
    for _ in range(flows):
        flow = run_flow(client, events, user_id(0))
        if not flow.ok:
            raise RuntimeError(f"end-to-end flow failed: {flow.error}")
        final = wait_completed(client, flow.user, flow.view_id)
        if final.get("runtimeStatus") != "Completed":
            raise RuntimeError(f"orchestration ended {final.get('runtimeStatus')}")
        done.append(flow)
    return done


def measure_end_to_end(host: Devhost, *, runs: int, flows: int, warmup: int) -> dict[str, Any]:
    """Flows one after another by one user; each waits until its orchestration completed.

    The split between the functions and the host comes from devhost's invocation records:
    the part of each flow's window during which at least one function was running.
    """
    client = DevhostClient(host.base_url, timeout=60)
    with SlackEvents(host.base_url) as events:
        _end_to_end_run(client, events, warmup)
        done = [_end_to_end_run(client, events, flows) for _ in range(runs)]
    client.close()
    invocations = host.invocations()
    run_shares: list[float] = []
    per_function: dict[str, list[float]] = {}
    for run in done:
        shares = []
        for flow in run:
            start = flow.wall_submitted
            split = split_window(start, start + flow.end_to_end, invocations)
            shares.append(split["functions"] / flow.end_to_end)
            for name, seconds in split["per_function"].items():
                per_function.setdefault(name, []).append(seconds)
        run_shares.append(statistics.median(shares))
    return {
        "end_to_end_ms": across_runs([[f.end_to_end for f in run] for run in done], 1000),
        "functions_share": repeated(run_shares),
        "host_share": repeated([1 - share for share in run_shares]),
        "per_function_ms": {
            name: statistics.median(values) * 1000 for name, values in sorted(per_function.items())
        },
    }


def _level(
    host: Devhost, events: SlackEvents, users: int, seconds: float, warmup: float
) -> dict[str, Any]:
    begin = time.monotonic()
    cpu_before = host.cpu_seconds()
    measure_from = begin + warmup
    deadline = measure_from + seconds
    flows: list[Flow] = []
    lock = threading.Lock()

    def user_loop(index: int) -> None:
        client = DevhostClient(host.base_url, timeout=60)
        try:
            while time.monotonic() < deadline:
                try:
                    flow = run_flow(client, events, user_id(index))
                except Exception as error:
                    flow = Flow(user_id(index), error=f"{type(error).__name__}: {error}")
                    client.close()
                with lock:
                    flows.append(flow)
        finally:
            client.close()

    threads = [threading.Thread(target=user_loop, args=(i,), daemon=True) for i in range(users)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(seconds + warmup + RESULT_TIMEOUT_SECONDS * 2 + 10)
    cpu_after = host.cpu_seconds()
    elapsed = time.monotonic() - begin
    busy = None if cpu_before is None or cpu_after is None else (cpu_after - cpu_before) / elapsed
    measured = [f for f in flows if f.ok and measure_from <= f.result_at < deadline]
    width = seconds / WINDOWS
    bins = [0] * WINDOWS
    for flow in measured:
        bins[min(int((flow.result_at - measure_from) / width), WINDOWS - 1)] += 1
    rates = [count / width for count in bins]
    errors = [f.error for f in flows if f.error and not f.lost]
    return {
        "users": users,
        "flows": len(flows),
        "flows_per_second": repeated(rates),
        "end_to_end_ms": distribution([f.end_to_end for f in measured], 1000) if measured else None,
        "command_ms": distribution([f.command_seconds for f in flows if f.ok], 1000)
        if any(f.ok for f in flows)
        else None,
        "devhost_cpu_cores": busy,
        "errors": len(errors),
        "lost": sum(1 for f in flows if f.lost),
        "error_examples": errors[:3],
    }


def _unfinished(client: DevhostClient) -> dict[str, int]:
    counts: dict[str, int] = {}
    for status_name in ("Pending", "Running", "Failed", "Terminated"):
        response = client.send("GET", f"{STATUS_PATH}?runtimeStatus={status_name}&showInput=false")
        body = _json(response.content)
        ok = response.status_code == 200 and isinstance(body, list)
        counts[status_name] = len(body) if ok else -1
    return counts


def measure_throughput(
    host: Devhost, levels: Sequence[int], seconds: float, warmup: float
) -> dict[str, Any]:
    """Each level: that many users repeat whole flows for ``warmup + seconds``."""
    results = []
    with SlackEvents(host.base_url) as events:
        for users in levels:
            results.append(_level(host, events, users, seconds, warmup))
    client = DevhostClient(host.base_url, timeout=60)
    deadline = time.monotonic() + RESULT_TIMEOUT_SECONDS
    counts = _unfinished(client)
    while counts["Pending"] + counts["Running"] > 0 and time.monotonic() < deadline:
        time.sleep(0.05)
        counts = _unfinished(client)
    client.close()
    single = results[0]["end_to_end_ms"]
    climbs_at = None
    for level in results[1:]:
        latency = level["end_to_end_ms"]
        if single and latency and latency["p50"] > LATENCY_CLIMB_FACTOR * single["p50"]:
            climbs_at = level["users"]
            break
    return {
        "levels": results,
        "latency_climbs_at_users": climbs_at,
        "climb_factor": LATENCY_CLIMB_FACTOR,
        "orchestrations_not_completed": counts,
    }
