"""Starting the orchestration is held to Slack's deadline: a stalled durable API never costs
the answer, and the start it was sent is neither lost nor made twice.

The durable client is the real `DurableOrchestrationClient` against the stand-in of the
extension's HTTP API, made to stall before it answers status reads or starts.
"""

from __future__ import annotations

import json
import time
from typing import Any

import pytest

import orchestrator_client
from devhost.standins.durable_api import Route
from devhost.standins.slack_requests import (
    SLACK_SIGNING_SECRET,
    TEAM_ID,
    USER_ID,
    slack_headers,
    view_submission_body,
)
from shared.instance_ids import instance_id
from tests.support.app_env import AppEnv
from tests.support.loop import run
from tests.support.requests import http_request

# Slack waits 3 s; the app answers within its 2.5 s budget, with room for a loaded machine.
ANSWERED_WITHIN_SECONDS = 2.9
STALL_SECONDS = 4.0


def submit(env: AppEnv, view_id: str, environment: str = "staging") -> tuple[dict[str, Any], float]:
    body = view_submission_body(
        urls_text="https://www.nhs.uk/a", environment=environment, view_id=view_id
    )
    request = http_request("orchestrator-client", body, slack_headers(SLACK_SIGNING_SECRET, body))
    started = time.monotonic()
    response = run(orchestrator_client.main(request, env.durable_client_binding))
    elapsed = time.monotonic() - started
    assert response.status_code == 200
    return json.loads(response.get_body()), elapsed


@pytest.mark.parametrize("stall", ["status", "start"])
def test_a_stalled_durable_api_gets_a_sent_answer_in_time_and_the_start_still_lands_once(
    app_env: AppEnv, stall: Route
) -> None:
    app_env.allow(USER_ID)
    app_env.durable_api.delay(stall, STALL_SECONDS)
    answer, elapsed = submit(app_env, "V0STALLED1")
    assert elapsed < ANSWERED_WITHIN_SECONDS
    assert answer["response_action"] == "update"
    text = json.dumps(answer["view"])
    assert "Your request has been sent." in text
    assert "direct message" in text
    [start] = app_env.durable_api.wait_for_starts(1, timeout=STALL_SECONDS * 3)
    assert start.instance_id == instance_id(TEAM_ID, USER_ID, "V0STALLED1")
    assert start.accepted
    assert len(app_env.durable_api.starts) == 1


def test_a_late_start_that_fails_is_told_to_the_requester_by_dm(app_env: AppEnv) -> None:
    app_env.allow(USER_ID)
    app_env.durable_api.force("start", 500, delay=STALL_SECONDS)
    answer, elapsed = submit(app_env, "V0LATEFAIL")
    assert elapsed < ANSWERED_WITHIN_SECONDS
    assert "Your request has been sent." in json.dumps(answer["view"])
    [dm] = app_env.slack.wait_for_calls(1, "chat.postMessage", timeout=STALL_SECONDS * 3)
    assert dm.args["channel"] == USER_ID
    assert dm.args["text"] == "Cache flush could not start"
    assert "nothing was flushed" in json.dumps(dm.args["blocks"])


def test_a_prompt_durable_api_gets_the_usual_answer(app_env: AppEnv) -> None:
    app_env.allow(USER_ID)
    answer, _ = submit(app_env, "V0PROMPT01")
    assert "being processed" in json.dumps(answer["view"])
    assert len(app_env.durable_api.starts) == 1
