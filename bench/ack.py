"""Section 3: how fast devhost answers Slack on its two HTTP endpoints.

Measured over HTTP, as Slack sees it: the benchmark plays Slack, signs each request and POSTs
it to ``python -m devhost --simulate`` on a keep-alive connection; the time runs from sending
the request to reading the whole answer. The app's Web API calls go to an instant Slack
stand-in in this process (it accepts any trigger ID, so commands need not come from the
simulator); cache-flush is devhost's simulator. Each submission starts a real orchestration;
the next request is sent only once that orchestration has posted its results, so every sample
is taken on a quiet, warm host.
"""

from __future__ import annotations

import itertools
import json
import time
from typing import Any

from bench.devhost_proc import Devhost
from bench.flows import wait_completed
from bench.stats import across_runs
from bench.views_open import signed_command
from devhost.simulate.client import DevhostClient
from devhost.standins.slack_requests import TEAM_ID, slack_headers, view_submission_body
from devhost.standins.slack_stub import SlackStub

RESULT_TIMEOUT_SECONDS = 30.0
_view_numbers = itertools.count(1)


def _post(
    client: DevhostClient, path: str, body: bytes, headers: dict[str, str]
) -> tuple[int, bytes, float]:
    started = time.perf_counter()
    response = client.send("POST", path, data=body, headers=headers)
    return response.status_code, response.content, time.perf_counter() - started


def _ack_run(
    client: DevhostClient, stub: SlackStub, secret: str, user: str, samples: int
) -> tuple[list[float], list[float]]:
    slash: list[float] = []
    submit: list[float] = []
    for _ in range(samples):
        stub.clear()
        body, headers, _ = signed_command(secret, user)
        status, _, elapsed = _post(client, "/api/slash-start", body, headers)
        if status != 200 or not stub.calls("views.update"):
            raise RuntimeError(f"/api/slash-start answered {status} without a form")
        slash.append(elapsed)
        stub.clear()
        view_id = f"V0BENCH{next(_view_numbers):06d}"
        body = view_submission_body(user_id=user, view_id=view_id)
        headers = slack_headers(secret, body)
        status, answer, elapsed = _post(client, "/api/orchestrator-client", body, headers)
        if status != 200 or json.loads(answer).get("response_action") != "update":
            raise RuntimeError(f"/api/orchestrator-client answered {status}: {answer[:200]!r}")
        submit.append(elapsed)
        # modal update, DM and channel post: let the orchestration finish before the next one
        stub.wait_for_calls(2, "chat.postMessage", RESULT_TIMEOUT_SECONDS)
        final = wait_completed(client, user, view_id, TEAM_ID)
        if final.get("runtimeStatus") != "Completed":
            raise RuntimeError(f"orchestration ended {final.get('runtimeStatus')}")
    return slash, submit


def measure_ack(
    host: Devhost, stub: SlackStub, secret: str, user: str, *, runs: int, samples: int, warmup: int
) -> dict[str, Any]:
    """Alternate a slash command and a submission; time each answer, over ``runs`` runs."""
    client = DevhostClient(host.base_url, timeout=60)
    _ack_run(client, stub, secret, user, warmup)
    slash_runs: list[list[float]] = []
    submit_runs: list[list[float]] = []
    for _ in range(runs):
        slash, submit = _ack_run(client, stub, secret, user, samples)
        slash_runs.append(slash)
        submit_runs.append(submit)
    client.close()
    return {
        "slash_start_ms": across_runs(slash_runs, 1000),
        "orchestrator_client_ms": across_runs(submit_runs, 1000),
    }
