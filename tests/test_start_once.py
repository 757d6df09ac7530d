"""One flush per submission: how a refused start is recognised, and the SDK it was checked on.

azure-functions-durable's `start_new` raises a bare `Exception` holding the extension's error
body, without the HTTP status; `refused_as_running` is the one place that reads it. These
tests drive the real SDK against the Durable API stand-in, which answers as the extension
does under `overridableExistingInstanceStates: NonRunningStates` (409 Conflict, or the 500
error body of older extension versions).
"""

from __future__ import annotations

import json
from importlib.metadata import version

import pytest
from azure.durable_functions import DurableOrchestrationClient

import orchestrator_client
from devhost.standins.slack_requests import (
    SLACK_SIGNING_SECRET,
    TEAM_ID,
    USER_ID,
    slack_headers,
    view_submission_body,
)
from shared.instance_ids import instance_id
from shared.interaction import refused_as_running
from tests.support.app_env import AppEnv
from tests.support.constants import ORCHESTRATOR_NAME
from tests.support.loop import run
from tests.support.requests import http_request

CHECKED_SDK_VERSION = "1.7.0"


async def refusal_from_the_sdk(env: AppEnv, instance: str) -> Exception:
    """What the real SDK raises when the extension refuses to start `instance`."""
    client = DurableOrchestrationClient(env.durable_client_binding)
    try:
        await client.start_new(ORCHESTRATOR_NAME, instance, {"x": 1})
    except Exception as error:
        return error
    raise AssertionError("the start was not refused")


def test_the_refusal_helper_matches_the_installed_sdk() -> None:
    assert version("azure-functions-durable") == CHECKED_SDK_VERSION, (
        "refused_as_running reads the exception start_new raises in azure-functions-durable "
        f"{CHECKED_SDK_VERSION}; check what the new version raises for a 409, then update "
        "the helper and this version"
    )


@pytest.mark.parametrize("refusal", ["conflict", "legacy"])
@pytest.mark.parametrize("state", ["Pending", "Running", "ContinuedAsNew", "Suspended"])
def test_the_sdks_refusal_of_a_running_instance_is_recognised(
    app_env: AppEnv, refusal: str, state: str
) -> None:
    app_env.durable_api.refusal = refusal  # type: ignore[assignment]
    app_env.durable_api.set_status("inst-1", state)
    error = run(refusal_from_the_sdk(app_env, "inst-1"))
    assert type(error) is Exception, "1.7.0 raises a bare Exception"
    assert refused_as_running(error)


@pytest.mark.parametrize(
    "error",
    [
        pytest.param(Exception({"Message": "Something went wrong"}), id="other-500"),
        pytest.param(Exception({"ExceptionMessage": "Table storage unavailable"}), id="storage"),
        pytest.param(Exception("An instance already exists"), id="plain-text-not-a-body"),
        pytest.param(Exception(), id="no-arguments"),
        pytest.param(ConnectionError("refused"), id="network"),
    ],
)
def test_other_failures_are_not_taken_for_a_refusal(error: Exception) -> None:
    assert not refused_as_running(error)


@pytest.mark.parametrize("refusal", ["conflict", "legacy"])
def test_a_racing_submission_refused_either_way_counts_as_started(
    app_env: AppEnv, refusal: str
) -> None:
    app_env.allow(USER_ID)
    app_env.durable_api.refusal = refusal  # type: ignore[assignment]
    app_env.durable_api.set_status(
        instance_id(TEAM_ID, USER_ID, "V0RACE0002"), "Running", visible=False
    )
    body = view_submission_body(urls_text="https://www.nhs.uk/a", view_id="V0RACE0002")
    request = http_request("orchestrator-client", body, slack_headers(SLACK_SIGNING_SECRET, body))
    response = run(orchestrator_client.main(request, app_env.durable_client_binding))
    answer = json.loads(response.get_body())
    assert answer["response_action"] == "update"
    assert "being processed" in json.dumps(answer["view"])
    [refused] = app_env.durable_api.starts
    assert refused.accepted is False
