"""Section 2: from the slash command reaching the app to Slack receiving ``views.open``.

The app's ``slash_start.main`` is called in-process with a real, signed
``azure.functions.HttpRequest``; ``t0`` is taken just before the call. Slack is a local HTTP
stand-in that stamps each request with ``time.monotonic()`` when it has read it; on Linux the
monotonic clock is shared by all processes, so the cold samples (one fresh interpreter each,
``bench.cold_child``) are timed against the same stand-in. The allowed-users list is read from
Azurite after ``views.open``, as in production.
"""

from __future__ import annotations

import json
import subprocess
import sys
import time
from typing import Any

import azure.functions as func

import slash_start
from bench.appenv import REPO_ROOT, child_environment
from bench.cold_child import BASELINE_PATH
from bench.imports import unneeded
from bench.stats import across_runs, repeated
from devhost.standins.slack_requests import new_trigger_id, slack_headers, slash_command_body
from devhost.standins.slack_stub import SlackStub

SLASH_URL = "http://127.0.0.1:7071/api/slash-start"
WARMUP = 20


def signed_command(secret: str, user: str) -> tuple[bytes, dict[str, str], str]:
    """A signed ``/flush`` slash command: body, headers and its trigger ID."""
    trigger_id = new_trigger_id(user)
    body = slash_command_body(user_id=user, trigger_id=trigger_id, text="")
    return body, slack_headers(secret, body), trigger_id


def views_open_arrival(stub: SlackStub, trigger_id: str) -> float:
    """When the stand-in received the ``views.open`` for ``trigger_id`` (monotonic seconds)."""
    for record in reversed(stub.requests()):
        args = record.json if isinstance(record.json, dict) else (record.form or {})
        if record.path.endswith("/views.open") and args.get("trigger_id") == trigger_id:
            return record.received_at
    raise RuntimeError("the app did not call views.open")


def warm_run(
    samples: int, secret: str, stub: SlackStub, user: str
) -> tuple[list[float], list[float]]:
    """One warm run: (time to ``views.open``, whole handler) per command, in seconds."""
    to_views_open: list[float] = []
    handler: list[float] = []
    for _ in range(samples):
        stub.clear()
        body, headers, trigger_id = signed_command(secret, user)
        request = func.HttpRequest("POST", SLASH_URL, headers=headers, body=body)
        started = time.monotonic()
        response = slash_start.main(request)
        finished = time.monotonic()
        if response.status_code != 200 or not stub.calls("views.update"):
            raise RuntimeError(f"slash-start answered {response.status_code} without a form")
        to_views_open.append(views_open_arrival(stub, trigger_id) - started)
        handler.append(finished - started)
    return to_views_open, handler


def _run_cold_child(
    payload: dict[str, Any], env: dict[str, str], *, prints: bool = True
) -> tuple[dict[str, Any], float]:
    """Run one cold child; what it printed, and when it was spawned (monotonic seconds)."""
    spawned = time.monotonic()
    completed = subprocess.run(
        [sys.executable, "-m", "bench.cold_child"],
        cwd=REPO_ROOT,
        env=env,
        input=json.dumps(payload),
        check=True,
        capture_output=True,
        text=True,
    )
    printed = json.loads(completed.stdout.strip().splitlines()[-1]) if prints else {}
    return printed, spawned


def _cold_sample(
    secret: str, stub: SlackStub, user: str, env: dict[str, str], *, audit: bool
) -> tuple[dict[str, Any], float, float]:
    """One cold command: what the child printed, when it was spawned, when views.open arrived."""
    stub.clear()
    body, headers, trigger_id = signed_command(secret, user)
    payload = {"url": SLASH_URL, "headers": headers, "body": body.decode(), "audit": audit}
    result, spawned = _run_cold_child(payload, env)
    if result["status"] != 200 or not stub.calls("views.update"):
        raise RuntimeError(f"cold slash-start answered {result['status']} without a form")
    return result, spawned, views_open_arrival(stub, trigger_id)


def _baseline_sample(stub: SlackStub, env: dict[str, str]) -> float:
    """The pair's baseline: a cold child that imports ``azure.functions`` and calls Slack once.

    It starts as a cold command does (``bench.cold_child``) but makes one plain call to the
    stand-in instead of importing ``slash_start``. Returns the time from its spawn to the
    stand-in reading that call, in seconds: the same end point as a command's ``views.open``.
    """
    stub.clear()
    _, spawned = _run_cold_child({"baseline_port": stub.port}, env, prints=False)
    [arrival] = [r.received_at for r in stub.requests() if r.path == BASELINE_PATH]
    return arrival - spawned


def cold_run(
    samples: int, secret: str, stub: SlackStub, user: str, settings: dict[str, str]
) -> dict[str, list[float]]:
    """One cold run of fresh interpreters, each paired with one importing azure.functions.

    Per sample, in seconds: from the request to ``views.open`` (``to_views_open``), its import
    part, and from process start to ``views.open`` (``from_start``); and the ratio of
    ``from_start`` to the paired process's time from start to its call after importing
    ``azure.functions`` (``ratio``). Which of the pair runs first alternates.
    """
    env = child_environment(settings)
    figures: dict[str, list[float]] = {
        "to_views_open": [],
        "importing": [],
        "from_start": [],
        "ratio": [],
    }
    for index in range(samples):
        if index % 2:
            baseline = _baseline_sample(stub, env)
        result, spawned, arrival = _cold_sample(secret, stub, user, env, audit=False)
        if not index % 2:
            baseline = _baseline_sample(stub, env)
        figures["to_views_open"].append(arrival - result["started"])
        figures["importing"].append(result["imported"] - result["started"])
        figures["from_start"].append(arrival - spawned)
        figures["ratio"].append((arrival - spawned) / baseline)
    return figures


def measure(
    runs: int,
    *,
    warm: int,
    cold: int,
    secret: str,
    stub: SlackStub,
    user: str,
    settings: dict[str, str],
) -> dict[str, Any]:
    """Alternate warm and cold runs; warm up both first (not counted)."""
    warm_run(WARMUP, secret, stub, user)
    cold_run(1, secret, stub, user, settings)
    warm_runs: list[list[float]] = []
    handler_runs: list[list[float]] = []
    cold_runs: list[dict[str, list[float]]] = []
    for _ in range(runs):
        to_views_open, handler = warm_run(warm, secret, stub, user)
        warm_runs.append(to_views_open)
        handler_runs.append(handler)
        cold_runs.append(cold_run(cold, secret, stub, user, settings))
    return {
        "warm_ms": across_runs(warm_runs, 1000),
        "warm_handler_ms": across_runs(handler_runs, 1000),
        "cold_ms": across_runs([run["to_views_open"] for run in cold_runs], 1000),
        "cold_import_ms": across_runs([run["importing"] for run in cold_runs], 1000),
        "cold_from_start_ms": across_runs([run["from_start"] for run in cold_runs], 1000),
        "cold_start_ratio": repeated([ratio for run in cold_runs for ratio in run["ratio"]]),
    }


def check_order(
    runs: int,
    *,
    secret: str,
    stub: SlackStub,
    user: str,
    settings: dict[str, str],
    storage_port: int,
) -> dict[str, Any]:
    """On cold interpreters, list what was imported and connected before ``views.open``.

    The target holds when nothing on the import audit's list
    (``bench.imports.SLASH_START_NEEDS_NONE_OF``: storage, the durable SDK, other HTTP stacks,
    slack-sdk, the views, the access check and the rest) was imported, and no storage
    connection was opened, before Slack received ``views.open`` (while storage is reached after).
    """
    env = child_environment(settings)
    unneeded_before: set[str] = set()
    packages_before: set[str] = set()
    storage_before = storage_after = unneeded_after = 0

    def imported(events: list[Any]) -> list[str]:
        return [event[1] for event in events if event[0] == "import"]

    for _ in range(runs):
        result, _, arrival = _cold_sample(secret, stub, user, env, audit=True)
        before = [e for e in result["events"] if e[2] < arrival]
        after = [e for e in result["events"] if e[2] >= arrival]
        unneeded_before.update(unneeded(imported(before)))
        packages_before.update(name.split(".")[0] for name in imported(before))
        unneeded_after += len(unneeded(imported(after)))
        storage_before += sum(1 for e in before if e[0] == "connect" and e[1] == str(storage_port))
        storage_after += sum(1 for e in after if e[0] == "connect" and e[1] == str(storage_port))
    return {
        "runs": runs,
        "unneeded_imports_before": sorted(unneeded_before),
        "storage_connections_before": storage_before,
        "storage_connections_after": storage_after,
        "unneeded_imports_after": unneeded_after,
        "packages_imported_before": sorted(packages_before),
        "holds": not unneeded_before and storage_before == 0 and storage_after > 0,
    }
