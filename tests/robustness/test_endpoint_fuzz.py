"""Both HTTP endpoints, fuzzed in-process with real ``HttpRequest`` objects and real stand-ins.

Unsigned requests must be refused with 401 (413 when oversized) and reach nothing. Signed
requests, however malformed, must get a 2xx or 4xx answer, never raise, never log an error,
and only send Slack what Slack accepts.
"""

from __future__ import annotations

from typing import Any

import azure.functions as func
import pytest
from hypothesis import example, given
from hypothesis import strategies as st

from devhost.simulate.cache_flush import evaluate
from devhost.standins.slack_requests import (
    interaction_body,
    signature_for,
    slack_headers,
    view_submission_payload,
)
from shared.settings import load_settings
from shared.submission import normalise_url
from tests.robustness.checks import (
    NO_OUTBOUND,
    assert_no_errors_logged,
    assert_reason,
    assert_secret_free,
    assert_slack_json,
    assert_valid_slack_calls,
    is_utf8,
    outbound,
    reset,
    send,
    too_large,
)
from tests.robustness.fuzzing import fuzz, tally
from tests.robustness.strategies import (
    interaction_bodies,
    interaction_forms,
    junk_bodies,
    message_shortcut_body,
    now_timestamp,
    shortcut_messages,
    signed_requests,
    slash_bodies,
    slash_forms,
    unsigned_requests,
)
from tests.support import constants
from tests.support.app_env import AppEnv
from tests.support.logs import LogCapture

SECRETS = constants.SECRETS
UNSIGNED_EXAMPLES = 60
SIGNED_EXAMPLES = 100
SIGNED_JUNK_EXAMPLES = 20
SHORTCUT_EXAMPLES = 40


ENDPOINTS = ["slash-start", "orchestrator-client"]
UNSIGNED_BODIES = {"slash-start": slash_bodies, "orchestrator-client": interaction_bodies}


@pytest.fixture
def allowed(app_env: AppEnv) -> AppEnv:
    app_env.allow(constants.USER_ID)
    return app_env


def count(endpoint: str, kind: str, outcome: str) -> None:
    """Add one example to the run's tally, in all and by its outcome."""
    tally[f"examples: {endpoint}, {kind}"] += 1
    tally[f"examples: {endpoint}, {kind}, {outcome}"] += 1


def check_unsigned(
    env: AppEnv,
    logs: LogCapture,
    response: func.HttpResponse,
    body: bytes,
    headers: dict[str, str],
) -> None:
    expected = 413 if too_large(body, headers) else 401
    assert response.status_code == expected
    assert_reason(response)
    assert outbound(env) == NO_OUTBOUND
    assert_secret_free(logs, [response.get_body().decode()], SECRETS)


def expected_refusal(body: bytes, headers: dict[str, str]) -> int | None:
    """The status a signed request must get before its content matters, if any."""
    if too_large(body, headers):
        return 413
    if not is_utf8(body):
        return 401
    return None


def check_signed_status(
    env: AppEnv, response: func.HttpResponse, body: bytes, headers: dict[str, str]
) -> str:
    """A signed request's status: its refusal if due, else 200 or 400; the outcome to tally.

    Any answer but 200 carries a reason, and nothing was called.
    """
    status = response.status_code
    refusal = expected_refusal(body, headers)
    if refusal is not None:
        assert status == refusal
    else:
        assert status in (200, 400)
    if status == 200:
        return "HTTP 200"
    reason = assert_reason(response)
    assert outbound(env) == NO_OUTBOUND
    return f"HTTP {status} {reason}"


def send_signed(
    env: AppEnv, logs: LogCapture, endpoint: str, case: tuple[bytes, dict[str, str]]
) -> tuple[func.HttpResponse, str]:
    """Send one fuzzed signed request afresh; its answer, checked by ``check_signed_status``,
    and the outcome to tally."""
    body, headers = case
    reset(env, logs)
    response = send(env, endpoint, body, headers)
    return response, check_signed_status(env, response, body, headers)


def check_quiet(logs: LogCapture, response: func.HttpResponse) -> None:
    """No error logged, and no secret in the logs or the answer."""
    assert_no_errors_logged(logs)
    assert_secret_free(logs, [response.get_body().decode()], SECRETS)


# --- unsigned requests, on both endpoints ---------------------------------------------------


@fuzz(UNSIGNED_EXAMPLES)
@given(data=st.data())
@pytest.mark.parametrize("endpoint", ENDPOINTS)
def test_unsigned_requests_are_refused_and_reach_nothing(
    app_env: AppEnv, captured_logs: LogCapture, endpoint: str, data: st.DataObject
) -> None:
    body, headers, forgery = data.draw(unsigned_requests(UNSIGNED_BODIES[endpoint]), "case")
    reset(app_env, captured_logs)
    response = send(app_env, endpoint, body, headers)
    check_unsigned(app_env, captured_logs, response, body, headers)
    count(endpoint, "unsigned", forgery)


# --- /api/slash-start ---------------------------------------------------------------------


@fuzz(SIGNED_EXAMPLES)
@given(case=signed_requests(slash_forms()))
def test_signed_slash_commands_never_fail(
    allowed: AppEnv, captured_logs: LogCapture, case: tuple[bytes, dict[str, str]]
) -> None:
    response, outcome = send_signed(allowed, captured_logs, "slash-start", case)
    if response.status_code == 200:
        assert response.get_body() == b""
    calls = allowed.slack.calls()
    if calls:
        first = min(r.seq for r in [*allowed.slack.requests(), *allowed.blob_proxy.requests()])
        assert calls[0].method == "views.open"
        assert calls[0].seq == first, "views.open must be the first outbound call"
        assert len(allowed.slack.calls("views.open")) == 1
    assert_valid_slack_calls(calls)
    assert allowed.durable_api.requests() == []
    assert allowed.cache_flush.requests() == []
    check_quiet(captured_logs, response)
    count("slash-start", "signed", outcome)


# --- /api/orchestrator-client -------------------------------------------------------------


@fuzz(SIGNED_EXAMPLES)
@given(case=signed_requests(interaction_forms()))
def test_signed_interactions_never_fail(
    allowed: AppEnv, captured_logs: LogCapture, case: tuple[bytes, dict[str, str]]
) -> None:
    response, outcome = send_signed(allowed, captured_logs, "orchestrator-client", case)
    if response.status_code == 200 and response.get_body():
        answer = assert_slack_json(response)
        outcome += f" {answer['response_action']}"
    accepted = allowed.durable_api.accepted_starts()
    assert len(accepted) <= 1
    if accepted:
        settings = load_settings()
        urls = accepted[0].input["urls"]
        domains, hosts = settings.flush_allowed_domains, settings.flush_allowed_hosts
        assert all(normalise_url(url, domains, hosts) == url for url in urls)
        assert (
            evaluate({"environment": accepted[0].input["environment"], "objects": urls})[0] == 201
        )
        outcome += " (flush started)"
    assert allowed.slack.requests() == [], "the interaction endpoint never calls Slack itself"
    assert allowed.cache_flush.requests() == []
    check_quiet(captured_logs, response)
    count("orchestrator-client", "signed", outcome)


@fuzz(SHORTCUT_EXAMPLES)
@given(message=shortcut_messages)
@example(message={"type": "message", "ts": "1.000001", "blocks": [{"fields": 5}]})
@example(message={"type": "message", "ts": "1.000001", "text": 5, "blocks": "x"})
def test_signed_message_shortcuts_on_any_message_never_fail(
    allowed: AppEnv, captured_logs: LogCapture, message: dict[str, Any]
) -> None:
    """Whatever shape the message's text and blocks have, the form opens with its links."""
    body = message_shortcut_body(message)
    case = body, slack_headers(constants.SLACK_SIGNING_SECRET, body)
    response, outcome = send_signed(allowed, captured_logs, "orchestrator-client", case)
    assert (response.status_code, response.get_body()) == (200, b"")
    assert [call.method for call in allowed.slack.calls()][:1] == ["views.open"]
    assert_valid_slack_calls(allowed.slack.calls())
    assert allowed.durable_api.accepted_starts() == []
    assert allowed.cache_flush.requests() == []
    check_quiet(captured_logs, response)
    count("orchestrator-client", "message shortcut", outcome)


# --- signed bodies that are not forms at all, on both endpoints ----------------------------


@fuzz(SIGNED_JUNK_EXAMPLES)
@given(case=signed_requests(junk_bodies))
@pytest.mark.parametrize("endpoint", ENDPOINTS)
def test_signed_junk_gets_a_reason_and_reaches_nothing(
    app_env: AppEnv, captured_logs: LogCapture, endpoint: str, case: tuple[bytes, dict[str, str]]
) -> None:
    body, headers = case
    reset(app_env, captured_logs)
    response = send(app_env, endpoint, body, headers)
    refusal = expected_refusal(body, headers)
    assert response.status_code == (400 if refusal is None else refusal)
    reason = assert_reason(response)
    assert outbound(app_env) == NO_OUTBOUND
    assert_no_errors_logged(captured_logs)
    assert_secret_free(captured_logs, [reason], SECRETS)
    count(endpoint, "signed junk", f"HTTP {response.status_code} {reason}")


# --- failures the fuzzing found, kept as fixed regressions --------------------------------


def signed(body: bytes, **extra: str) -> dict[str, str]:
    timestamp = now_timestamp()
    return {
        "Content-Type": "application/x-www-form-urlencoded",
        "X-Slack-Request-Timestamp": timestamp,
        "X-Slack-Signature": signature_for(body, timestamp),
        **extra,
    }


@pytest.mark.parametrize(
    "headers",
    [
        pytest.param({"X-Slack-Signature": "\x80"}, id="non-ascii-signature"),
        pytest.param(
            {"Content-Length": "²", "X-Slack-Signature": "v0=forged"},
            id="superscript-content-length",
        ),
        pytest.param(
            {"Content-Length": "9" * 5000, "X-Slack-Signature": "v0=forged"},
            id="5000-digit-content-length",
        ),
        pytest.param({"X-Slack-Request-Timestamp": "9" * 5000}, id="5000-digit-timestamp"),
        pytest.param({"X-Slack-Request-Timestamp": "²"}, id="superscript-timestamp"),
    ],
)
@pytest.mark.parametrize("endpoint", ENDPOINTS)
def test_malformed_signature_headers_get_a_refusal_not_a_crash(
    app_env: AppEnv, captured_logs: LogCapture, endpoint: str, headers: dict[str, str]
) -> None:
    body = b"payload=%7B%7D&user_id=U1&trigger_id=1.2.3"
    sent = {**signed(body), **headers}
    response = send(app_env, endpoint, body, sent)
    check_unsigned(app_env, captured_logs, response, body, sent)


@pytest.mark.parametrize(
    "payload",
    [
        pytest.param(
            view_submission_payload(urls_text="https://evil.example/\ud800"), id="in-a-bad-url"
        ),
        pytest.param(
            view_submission_payload(user_id=constants.OTHER_USER_ID, user_name="\udcff"),
            id="in-a-refused-user-name",
        ),
    ],
)
def test_a_lone_surrogate_echoed_back_still_makes_valid_json(
    allowed: AppEnv, captured_logs: LogCapture, payload: dict
) -> None:
    body = interaction_body(payload)
    response = send(allowed, "orchestrator-client", body, signed(body))
    assert response.status_code == 200
    assert_slack_json(response)
    assert_no_errors_logged(captured_logs)
