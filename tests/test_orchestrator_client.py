"""`/api/orchestrator-client` at the function level: validation, access, one start.

The durable client is the real `DurableOrchestrationClient`, talking over HTTP to a stand-in
that answers as the Durable extension's API does.
"""

from __future__ import annotations

import json
from typing import Any

import azure.functions as func
import pytest

import orchestrator_client
from devhost.standins.slack_requests import (
    interaction_body,
    slack_headers,
    view_submission_body,
    view_submission_payload,
)
from shared.instance_ids import instance_id
from tests.support import constants
from tests.support.app_env import AppEnv
from tests.support.logs import LogCapture
from tests.support.loop import run
from tests.support.requests import FORGED_HEADERS, http_request

USER = constants.USER_ID
SECRET = constants.SLACK_SIGNING_SECRET


def call(
    env: AppEnv, body: bytes, headers: dict[str, str] | None = None, binding: str | None = None
) -> func.HttpResponse:
    signed = slack_headers(constants.SLACK_SIGNING_SECRET, body) if headers is None else headers
    request = http_request("orchestrator-client", body, signed)
    return run(orchestrator_client.main(request, binding or env.durable_client_binding))


def submit(
    env: AppEnv,
    urls: str | None,
    environment: str | None = "staging",
    binding: str | None = None,
    **extra: Any,
) -> func.HttpResponse:
    body = view_submission_body(urls_text=urls, environment=environment, **extra)
    return call(env, body, binding=binding)


def answer(response: func.HttpResponse) -> dict[str, Any]:
    assert response.status_code == 200
    assert response.headers["Content-Type"] == "application/json; charset=utf-8"
    return json.loads(response.get_body())


def url_error(env: AppEnv, urls: str) -> str:
    result = answer(submit(env, urls))
    assert result["response_action"] == "errors"
    assert env.durable_api.starts == []
    return result["errors"]["urls"]


@pytest.fixture
def allowed(app_env: AppEnv) -> AppEnv:
    app_env.allow(USER)
    return app_env


# --- signature ------------------------------------------------------------------------------


@pytest.mark.parametrize("forge", FORGED_HEADERS)
def test_forged_submissions_get_401_and_start_nothing(allowed: AppEnv, forge) -> None:
    body = view_submission_body(urls_text="https://www.nhs.uk/a")
    allowed.blob_proxy.clear()
    response = call(allowed, body, forge(body))
    assert response.status_code == 401
    assert allowed.durable_api.requests() == []
    assert allowed.blob_proxy.requests() == []
    assert allowed.slack.calls() == []


@pytest.mark.parametrize(
    "body",
    [
        pytest.param(b"nopayload=1", id="no-payload"),
        pytest.param(b"payload=%7Bnot-json", id="payload-not-json"),
        pytest.param(interaction_body({"no": "type"}), id="payload-without-type"),
        pytest.param(interaction_body({"type": "view_submission"}), id="submission-without-view"),
        pytest.param(b"payload=%FF", id="payload-not-utf8"),
        pytest.param(b"payload=" + b"%5B" * 100_000, id="deeply-nested"),
    ],
)
def test_signed_but_unparseable_payloads_get_400(allowed: AppEnv, body: bytes) -> None:
    response = call(allowed, body)
    assert response.status_code == 400
    assert response.get_body()
    assert allowed.durable_api.starts == []


def test_a_body_over_1_mib_gets_413(allowed: AppEnv) -> None:
    response = call(allowed, b"payload=" + b"a" * (1024 * 1024))
    assert response.status_code == 413


# --- other interaction types ------------------------------------------------------------------


@pytest.mark.parametrize(
    "payload",
    [
        {"type": "view_closed", "view": {"id": "V1"}, "user": {"id": USER}},
        {"type": "block_actions", "actions": []},
        {"type": "shortcut", "callback_id": "x"},
    ],
)
def test_other_interactions_get_an_empty_200(
    allowed: AppEnv, payload: dict[str, Any], captured_logs: LogCapture
) -> None:
    response = call(allowed, interaction_body(payload))
    assert response.status_code == 200
    assert response.get_body() == b""
    assert allowed.durable_api.starts == []
    assert any("Ignored" in line for line in captured_logs.lines)


def test_a_submission_of_another_view_is_ignored(allowed: AppEnv) -> None:
    response = submit(allowed, "https://www.nhs.uk/a", callback_id="other_view")
    assert response.status_code == 200
    assert response.get_body() == b""
    assert allowed.durable_api.starts == []


# --- validation (doc/behaviour.md) -------------------------------------------------------------


@pytest.mark.parametrize("environment", [None, "development", ""])
def test_a_missing_or_unknown_environment_is_an_inline_error(
    allowed: AppEnv, environment: str | None
) -> None:
    result = answer(submit(allowed, "https://www.nhs.uk/a", environment=environment))
    assert result["response_action"] == "errors"
    assert "environment" in result["errors"]
    assert allowed.durable_api.starts == []


@pytest.mark.parametrize(
    "url",
    [
        "https://evilnhs.uk/x",
        "https://nhs.uk.evil.com/x",
        "https://user:pass@www.nhs.uk/x",
        "https://user@www.nhs.uk/x",
        "ftp://www.nhs.uk/x",
        "www.nhs.uk/x",
        "//www.nhs.uk/x",
        "https:///x",
        "https://",
        "https://www.nhs.uk:notaport/x",
        "https://www.nhs.uk:8443/x",
        "http://www.nhs.uk:443/x",
        "https://www.nhs.uk./x",
        "https://www.nhs.uk\u202e/x",
        "javascript:alert(1)",
    ],
)
def test_each_url_rule_rejects_with_an_inline_error(allowed: AppEnv, url: str) -> None:
    message = url_error(allowed, f"https://www.nhs.uk/fine\n{url}")
    assert url[:18] in message
    assert "https://www.nhs.uk/fine" not in message


@pytest.mark.parametrize(
    ("url", "advice"),
    [
        ("www.nhs.uk/x", "www.nhs.uk/x: add https:// at the start."),
        ("https://www.nhs.uk:8443/x", "https://www.nhs.uk:8443/x: remove the port"),
        ("https://www.nhs.uk./x", "https://www.nhs.uk./x: remove the dot at the end"),
        (
            "https://evilnhs.uk/x",
            "Not allowed: https://evilnhs.uk/x. "
            "Use URLs on nhs.uk or campaignresources.dhsc.gov.uk.",
        ),
    ],
)
def test_the_inline_error_says_what_to_fix(allowed: AppEnv, url: str, advice: str) -> None:
    assert url_error(allowed, url).startswith(advice)


def test_urls_are_started_as_the_whatwg_parser_normalises_them(allowed: AppEnv) -> None:
    urls = (
        "https://www.nhs.u\u212a/\u00e7\u00e3o\n"
        "HTTPS://WWW.NHS.UK:443/\u00e7\u00e3o\n"
        "https://www.nhs.uk\\a\\b?q=\u202e\n"
        "http://nhs.uk:80/x%20y"
    )
    answer(submit(allowed, urls))
    [start] = allowed.durable_api.starts
    assert start.input["urls"] == [
        "https://www.nhs.uk/%C3%A7%C3%A3o",
        "https://www.nhs.uk/a/b?q=%E2%80%AE",
        "http://nhs.uk/x%20y",
    ]


@pytest.mark.parametrize("urls", [None, "", "   \n\n  \t\n"])
def test_blank_input_is_an_inline_error(allowed: AppEnv, urls: str | None) -> None:
    assert "at least one URL" in url_error(allowed, urls)


def test_many_bad_urls_keep_the_inline_error_short(allowed: AppEnv) -> None:
    bad = "\n".join(f"https://evil{i}.example.com/{'p' * 200}" for i in range(300))
    message = url_error(allowed, bad)
    assert len(message) < 400
    assert "and 297 more" in message


def test_duplicates_are_removed_and_order_kept(allowed: AppEnv) -> None:
    urls = "  https://www.nhs.uk/b \nhttps://www.nhs.uk/a\n\nhttps://www.nhs.uk/b\nhttps://nhs.uk/c"
    answer(submit(allowed, urls, environment="production"))
    [start] = allowed.durable_api.starts
    assert start.input["urls"] == [
        "https://www.nhs.uk/b",
        "https://www.nhs.uk/a",
        "https://nhs.uk/c",
    ]
    assert start.input["environment"] == "production"


def test_a_configured_extra_host_is_accepted(
    allowed: AppEnv, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("FLUSH_ALLOWED_HOSTS", "assets.example.org, campaignresources.dhsc.gov.uk")
    answer(submit(allowed, "https://assets.example.org/x\nhttps://campaignresources.dhsc.gov.uk/y"))
    [start] = allowed.durable_api.starts
    assert start.input["urls"] == [
        "https://assets.example.org/x",
        "https://campaignresources.dhsc.gov.uk/y",
    ]
    rejected = answer(submit(allowed, "https://subdomain.assets.example.org/z"))
    assert "subdomain.assets.example.org" in rejected["errors"]["urls"]
    assert len(allowed.durable_api.starts) == 1


def test_the_default_extra_host_is_accepted(allowed: AppEnv) -> None:
    answer(submit(allowed, "https://campaignresources.dhsc.gov.uk/y"))
    assert len(allowed.durable_api.starts) == 1


# --- access and start -------------------------------------------------------------------------


def test_revoked_access_shows_the_not_allowed_view(app_env: AppEnv) -> None:
    app_env.allow("U0SOMEONE1")
    result = answer(submit(app_env, "https://www.nhs.uk/a"))
    assert result["response_action"] == "update"
    text = json.dumps(result["view"])
    assert constants.USER_ID in text
    assert constants.USER_NAME in text
    assert app_env.durable_api.starts == []


def test_an_unreadable_list_fails_closed_on_submit(app_env: AppEnv) -> None:
    result = answer(submit(app_env, "https://www.nhs.uk/a"))
    assert result["response_action"] == "update"
    assert "could not be checked" in json.dumps(result["view"])
    assert app_env.durable_api.starts == []


def test_success_starts_the_orchestrator_and_shows_the_processing_view(allowed: AppEnv) -> None:
    response = submit(allowed, "https://www.nhs.uk/a\nhttps://www.nhs.uk/b", view_id="V0FORM0042")
    result = answer(response)
    assert result["response_action"] == "update"
    assert "being processed" in json.dumps(result["view"])
    assert result["view"]["type"] == "modal"
    [start] = allowed.durable_api.starts
    assert start.name == "flush_orchestrator"
    assert start.instance_id == instance_id(constants.TEAM_ID, USER, "V0FORM0042")
    assert start.input == {
        "user_id": USER,
        "user_name": constants.USER_NAME,
        "team_id": constants.TEAM_ID,
        "view_id": "V0FORM0042",
        "environment": "staging",
        "urls": ["https://www.nhs.uk/a", "https://www.nhs.uk/b"],
        "channel": constants.SLACK_CHANNEL_NAME,
        "retry_interval_ms": 5000,
    }


def test_the_same_submission_twice_starts_one_orchestration(allowed: AppEnv) -> None:
    body = view_submission_body(urls_text="https://www.nhs.uk/a", view_id="V0TWICE001")
    first = answer(call(allowed, body))
    second = answer(call(allowed, body))
    assert first == second
    assert first["response_action"] == "update"
    assert len(allowed.durable_api.starts) == 1


@pytest.mark.parametrize("state", ["Completed", "Failed", "Terminated", "Running", "Pending"])
def test_an_existing_instance_in_any_state_is_not_started_again(
    allowed: AppEnv, state: str
) -> None:
    allowed.durable_api.set_status(instance_id(constants.TEAM_ID, USER, "V0DONE0001"), state)
    result = answer(submit(allowed, "https://www.nhs.uk/a", view_id="V0DONE0001"))
    assert result["response_action"] == "update"
    assert allowed.durable_api.starts == []


def test_a_racing_submission_refused_by_the_extension_counts_as_started(allowed: AppEnv) -> None:
    instance = instance_id(constants.TEAM_ID, USER, "V0RACE0001")
    allowed.durable_api.set_status(instance, "Pending", visible=False)
    result = answer(submit(allowed, "https://www.nhs.uk/a", view_id="V0RACE0001"))
    assert result["response_action"] == "update"
    assert "being processed" in json.dumps(result["view"])
    [refused] = allowed.durable_api.starts
    assert refused.accepted is False


def test_an_unreachable_durable_api_is_an_inline_error_not_a_500(
    allowed: AppEnv, captured_logs: LogCapture
) -> None:
    binding = allowed.durable_client_binding
    allowed.durable_api.stop()
    result = answer(submit(allowed, "https://www.nhs.uk/a", binding=binding))
    assert result["response_action"] == "errors"
    assert "again" in result["errors"]["urls"]
    assert any("Could not start" in line for line in captured_logs.lines)


def test_the_submission_payload_shape_from_slack_is_understood(allowed: AppEnv) -> None:
    payload = view_submission_payload(urls_text="https://www.nhs.uk/a")
    payload.pop("team")
    answer(call(allowed, interaction_body(payload)))
    [start] = allowed.durable_api.starts
    assert start.input["team_id"] == constants.TEAM_ID


def test_secrets_never_reach_the_logs(allowed: AppEnv, captured_logs: LogCapture) -> None:
    answer(submit(allowed, "https://www.nhs.uk/a", view_id="V0LOG00001"))
    answer(submit(allowed, "https://evilnhs.uk/a"))
    body = view_submission_body()
    call(allowed, body, slack_headers("forged", body))
    binding = allowed.durable_client_binding
    allowed.durable_api.stop()
    answer(submit(allowed, "https://www.nhs.uk/b", binding=binding, view_id="V0LOG00002"))
    assert captured_logs.lines
    captured_logs.assert_no_secrets()
