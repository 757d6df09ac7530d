"""Replay protection: a captured, validly signed request is refused when re-sent late.

The rule is in doc/behaviour.md, "Checking that a request came from Slack".

The clock is injected: ``verify_signature`` takes ``now``, and the endpoints are given a
request captured six minutes ago (its signed timestamp 360 s in the past). Nothing sleeps.
"""

from __future__ import annotations

import time
from collections.abc import Callable

import pytest

from devhost.standins.slack_requests import slack_headers, slash_command_body, view_submission_body
from shared.slack_request import RejectedRequest, verify_signature
from tests.robustness.checks import NO_OUTBOUND, assert_reason, outbound, send
from tests.support import constants
from tests.support.app_env import AppEnv

SECRET = constants.SLACK_SIGNING_SECRET
CAPTURED_AT = 1_767_225_600  # the moment the request was signed and captured
SIX_MINUTES = 360


BODIES: dict[str, Callable[[], bytes]] = {
    "slash-start": lambda: slash_command_body(text="https://www.nhs.uk/a"),
    "orchestrator-client": lambda: view_submission_body(urls_text="https://www.nhs.uk/a"),
}


def captured_six_minutes_ago(env: AppEnv, endpoint: str) -> tuple[bytes, dict[str, str]]:
    """An allowed user's request to ``endpoint`` and its headers, signed six minutes ago."""
    env.allow(constants.USER_ID)
    body = BODIES[endpoint]()
    return body, slack_headers(SECRET, body, int(time.time()) - SIX_MINUTES)


@pytest.mark.parametrize(
    ("delay", "accepted"),
    [
        pytest.param(0, True, id="at-once"),
        pytest.param(299, True, id="after-299s"),
        pytest.param(-299, True, id="clock-299s-behind"),
        pytest.param(301, False, id="after-301s"),
        pytest.param(SIX_MINUTES, False, id="after-6-minutes"),
        pytest.param(86_400, False, id="a-day-later"),
        pytest.param(-301, False, id="clock-301s-behind"),
    ],
)
def test_a_captured_request_verifies_only_within_five_minutes(delay: int, accepted: bool) -> None:
    body = slash_command_body()
    headers = slack_headers(SECRET, body, CAPTURED_AT)
    verify_signature(body, headers, SECRET, now=lambda: CAPTURED_AT)

    def replay() -> None:
        verify_signature(body, headers, SECRET, now=lambda: CAPTURED_AT + delay)

    if accepted:
        replay()
    else:
        with pytest.raises(RejectedRequest) as refused:
            replay()
        assert refused.value.status == 401


@pytest.mark.parametrize("endpoint", sorted(BODIES))
def test_a_request_captured_six_minutes_ago_is_refused_and_reaches_nothing(
    app_env: AppEnv, endpoint: str
) -> None:
    body, captured = captured_six_minutes_ago(app_env, endpoint)
    app_env.blob_proxy.clear()
    response = send(app_env, endpoint, body, captured)
    assert response.status_code == 401
    assert_reason(response)
    assert outbound(app_env) == NO_OUTBOUND

    fresh = send(app_env, endpoint, body, slack_headers(SECRET, body))
    assert fresh.status_code == 200, "the same request, freshly signed, is accepted"


@pytest.mark.parametrize("endpoint", sorted(BODIES))
def test_moving_a_captured_timestamp_forward_breaks_its_signature(
    app_env: AppEnv, endpoint: str
) -> None:
    body, captured = captured_six_minutes_ago(app_env, endpoint)
    refreshed = {**captured, "X-Slack-Request-Timestamp": str(int(time.time()))}
    app_env.blob_proxy.clear()
    response = send(app_env, endpoint, body, refreshed)
    assert response.status_code == 401
    assert outbound(app_env) == NO_OUTBOUND
