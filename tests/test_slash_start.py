"""`/api/slash-start` end to end at the function level, against real stand-ins.

The behaviour checked is the one doc/behaviour.md describes.
"""

from __future__ import annotations

import json
import time
from urllib.parse import parse_qs, urlencode

import azure.functions as func
import pytest

import slash_start
from devhost.simulate.faults import Fault
from devhost.standins.slack_requests import slack_headers, slash_command_body
from tests.support import constants
from tests.support.app_env import AppEnv
from tests.support.logs import LogCapture
from tests.support.requests import FORGED_HEADERS, http_request

USER = constants.USER_ID
SECRET = constants.SLACK_SIGNING_SECRET


def call(body: bytes, headers: dict[str, str] | None = None) -> func.HttpResponse:
    signed = slack_headers(constants.SLACK_SIGNING_SECRET, body) if headers is None else headers
    return slash_start.main(http_request("slash-start", body, signed))


def texts(blocks: list[dict]) -> str:
    return "\n".join(b["text"]["text"] for b in blocks if "text" in b)


def assert_no_side_effects(env: AppEnv) -> None:
    assert env.slack.calls() == []
    assert env.blob_proxy.requests() == []
    assert env.durable_api.starts == []
    assert env.cache_flush.requests() == []


# --- signature (doc/behaviour.md) ----------------------------------------------------------


def test_a_valid_signature_is_accepted(app_env: AppEnv) -> None:
    app_env.allow(USER)
    response = call(slash_command_body(user_id=USER))
    assert response.status_code == 200
    assert response.get_body() == b""


@pytest.mark.parametrize("headers_for", FORGED_HEADERS)
def test_unsigned_or_forged_requests_get_401_and_no_side_effect(
    app_env: AppEnv, captured_logs: LogCapture, headers_for
) -> None:
    app_env.allow(USER)
    app_env.blob_proxy.clear()
    body = slash_command_body(user_id=USER, text="https://www.nhs.uk/secret-path")
    response = call(body, headers_for(body))
    assert response.status_code == 401
    assert b"signature" in response.get_body().lower()
    assert_no_side_effects(app_env)
    assert "secret-path" not in captured_logs.text, "the body must not be logged"
    assert any("Refused" in line for line in captured_logs.lines)


def test_a_body_that_is_not_utf8_cannot_be_signed_and_gets_401(app_env: AppEnv) -> None:
    body = b"\xff\xfe=1"
    headers = slack_headers(constants.SLACK_SIGNING_SECRET, b"x")
    response = call(body, headers)
    assert response.status_code == 401
    assert_no_side_effects(app_env)


def test_a_signed_ssl_check_gets_200_and_nothing_else(app_env: AppEnv) -> None:
    body = urlencode({"ssl_check": "1", "token": "legacy"}).encode()
    response = call(body)
    assert response.status_code == 200
    assert_no_side_effects(app_env)


def test_a_body_over_1_mib_gets_413_before_parsing(app_env: AppEnv) -> None:
    body = slash_command_body(user_id=USER, text="x" * (1024 * 1024))
    response = call(body)
    assert response.status_code == 413
    assert_no_side_effects(app_env)


@pytest.mark.parametrize(
    "body",
    [
        pytest.param(b"text=%FF%FE&user_id=U1", id="percent-encoded-non-utf8"),
        pytest.param(b"user_id=U1&&&=&broken", id="bad-form-encoding"),
        pytest.param(urlencode({"text": "hi", "trigger_id": "1.2.3"}).encode(), id="no-user"),
        pytest.param(urlencode({"user_id": "U1"}).encode(), id="no-trigger"),
        pytest.param(b"", id="empty"),
    ],
)
def test_signed_but_unparseable_bodies_get_400_with_a_reason(app_env: AppEnv, body: bytes) -> None:
    response = call(body)
    assert response.status_code == 400
    reason = response.get_body().decode()
    assert reason
    assert "\n" not in reason
    assert_no_side_effects(app_env)


def test_missing_configuration_answers_500_with_a_generic_message(
    app_env: AppEnv, monkeypatch: pytest.MonkeyPatch, captured_logs: LogCapture
) -> None:
    monkeypatch.delenv("SLACK_SIGNING_SECRET")
    response = call(slash_command_body(user_id=USER))
    assert response.status_code == 500
    assert response.get_body() == b"The app is not configured correctly"
    assert "SLACK_SIGNING_SECRET" in captured_logs.text
    assert_no_side_effects(app_env)


# --- the flow (doc/behaviour.md) -----------------------------------------------------------


def test_views_open_is_the_first_outbound_request(app_env: AppEnv) -> None:
    app_env.allow(USER)
    app_env.blob_proxy.clear()
    call(slash_command_body(user_id=USER, trigger_id="123.456.abc"))
    slack_calls = app_env.slack.calls()
    blob_requests = app_env.blob_proxy.requests()
    assert slack_calls[0].method == "views.open"
    assert blob_requests, "the allowed-users list must be read"
    assert slack_calls[0].seq < min(r.seq for r in blob_requests)
    opened = slack_calls[0].args
    assert opened["trigger_id"] == "123.456.abc"
    assert "Checking" in texts(opened["view"]["blocks"])
    assert opened["view"]["close"]["text"] == "Close"
    assert slack_calls[0].has_token(constants.SLACK_BOT_TOKEN)


def test_an_allowed_user_gets_the_form_with_the_command_text_as_urls(app_env: AppEnv) -> None:
    app_env.allow(USER)
    text = "https://www.nhs.uk/a   https://www.nhs.uk/b\thttps://www.nhs.uk/c"
    response = call(slash_command_body(user_id=USER, text=text))
    assert response.status_code == 200
    opened, updated = app_env.slack.calls()
    assert opened.method == "views.open"
    assert updated.method == "views.update"
    form = updated.args["view"]
    assert form["callback_id"] == "cache_flush_request"
    urls = next(b for b in form["blocks"] if b.get("block_id") == "urls")
    assert urls["element"]["initial_value"] == (
        "https://www.nhs.uk/a\nhttps://www.nhs.uk/b\nhttps://www.nhs.uk/c"
    )


def test_the_form_shows_the_command_text_as_typed_not_as_slack_escapes_it(
    app_env: AppEnv,
) -> None:
    app_env.allow(USER)
    typed = "https://www.nhs.uk/a?x=1&y=2&copy=3&lt;"
    body = slash_command_body(user_id=USER, text=typed)
    assert parse_qs(body.decode())["text"] == [
        "https://www.nhs.uk/a?x=1&amp;y=2&amp;copy=3&amp;lt;"
    ]
    call(body)
    _, updated = app_env.slack.calls()
    urls = next(b for b in updated.args["view"]["blocks"] if b.get("block_id") == "urls")
    assert urls["element"]["initial_value"] == typed


def test_a_command_with_more_urls_than_the_form_holds_says_which_are_left_out(
    app_env: AppEnv,
) -> None:
    app_env.allow(USER)
    many = [f"https://www.nhs.uk/conditions/page-{n:04d}/" for n in range(120)]
    call(slash_command_body(user_id=USER, text=" ".join(many)))
    _, updated = app_env.slack.calls()
    form = updated.args["view"]
    urls = next(b for b in form["blocks"] if b.get("block_id") == "urls")
    shown = urls["element"]["initial_value"].splitlines()
    assert shown == many[: len(shown)]
    assert 0 < len(shown) < len(many)
    assert f"Only the first {len(shown)} of the 120 URLs fit the form" in json.dumps(form)


def test_the_form_updates_the_view_that_was_opened(app_env: AppEnv) -> None:
    app_env.allow(USER)
    call(slash_command_body(user_id=USER))
    [opened] = app_env.slack.views()
    _, updated = app_env.slack.calls()
    assert updated.args["view_id"] == opened["id"]
    assert (opened["user_id"], opened["updates"]) == (USER, 1)


def test_a_user_not_on_the_list_gets_the_not_allowed_view_and_a_dm(app_env: AppEnv) -> None:
    app_env.allow(USER)
    body = slash_command_body(user_id=constants.OTHER_USER_ID, user_name=constants.OTHER_USER_NAME)
    response = call(body)
    assert response.status_code == 200
    methods = [c.method for c in app_env.slack.calls()]
    assert methods == ["views.open", "views.update", "chat.postMessage"]
    updated, dm = app_env.slack.calls()[1:]
    for blocks in (updated.args["view"]["blocks"], dm.args["blocks"]):
        text = texts(blocks)
        assert constants.OTHER_USER_NAME in text
        assert constants.OTHER_USER_ID in text
        assert "access" in text.lower()
    assert dm.args["channel"] == constants.OTHER_USER_ID
    assert dm.args["text"] == "User not allowed"


def test_an_unreadable_list_shows_access_unavailable_and_fails_closed(
    app_env: AppEnv, captured_logs: LogCapture
) -> None:
    response = call(slash_command_body(user_id=USER))
    assert response.status_code == 200
    _, updated = app_env.slack.calls()
    text = texts(updated.args["view"]["blocks"])
    assert "could not be checked" in text
    assert "callback_id" not in updated.args["view"]
    assert any(r.levelname == "ERROR" for r in captured_logs.records)


def test_a_failed_views_open_sends_a_dm(app_env: AppEnv) -> None:
    app_env.allow(USER)
    app_env.slack.reply("views.open", Fault(error="expired_trigger_id"))
    response = call(slash_command_body(user_id=USER))
    assert response.status_code == 200
    _, dm = app_env.slack.calls()
    assert dm.method == "chat.postMessage"
    assert dm.args["channel"] == USER
    assert "expired_trigger_id" in texts(dm.args["blocks"])
    assert app_env.blob_proxy.requests() == [], "no access check once the modal failed"


def test_a_modal_closed_before_the_update_sends_the_view_closed_dm(app_env: AppEnv) -> None:
    app_env.allow(USER)
    app_env.slack.reply("views.update", Fault(error="not_found"))
    response = call(slash_command_body(user_id=USER))
    assert response.status_code == 200
    methods = [c.method for c in app_env.slack.calls()]
    assert methods == ["views.open", "views.update", "chat.postMessage"]
    dm = app_env.slack.calls()[-1]
    assert dm.args["text"] == "View must be open"


def test_an_unexpected_update_error_sends_the_processing_error_dm(app_env: AppEnv) -> None:
    app_env.allow(USER)
    app_env.slack.reply("views.update", Fault(error="internal_error"))
    response = call(slash_command_body(user_id=USER))
    assert response.status_code == 200
    dm = app_env.slack.calls()[-1]
    assert dm.method == "chat.postMessage"
    assert "internal_error" in texts(dm.args["blocks"])


def test_secrets_never_reach_the_logs(app_env: AppEnv, captured_logs: LogCapture) -> None:
    app_env.allow(USER)
    call(slash_command_body(user_id=USER, text="https://www.nhs.uk/a"))
    call(slash_command_body(user_id=constants.OTHER_USER_ID))
    app_env.slack.reply("views.open", Fault(status=500))
    call(slash_command_body(user_id=USER))
    body = slash_command_body(user_id=USER)
    call(body, slack_headers("wrong", body))
    assert captured_logs.lines, "the flows above log something"
    captured_logs.assert_no_secrets()


def test_a_short_rate_limit_on_views_open_is_retried(app_env: AppEnv) -> None:
    app_env.allow(USER)
    app_env.slack.reply("views.open", Fault(status=429, retry_after=0))
    call(slash_command_body(user_id=USER))
    methods = [c.method for c in app_env.slack.calls()]
    assert methods == ["views.open", "views.open", "views.update"]


def test_the_allowed_users_list_is_read_while_a_rate_limit_is_waited_out(app_env: AppEnv) -> None:
    app_env.allow(USER)
    app_env.blob_proxy.clear()
    app_env.slack.reply("views.open", Fault(status=429, retry_after=1))
    call(slash_command_body(user_id=USER))
    first_open, second_open, update = app_env.slack.calls()
    assert [first_open.method, second_open.method] == ["views.open", "views.open"]
    blob_reads = app_env.blob_proxy.requests()
    assert len(blob_reads) == 1, "the check after the wait joins the read started during it"
    assert first_open.seq < blob_reads[0].seq < second_open.seq
    assert update.method == "views.update"
    assert "Submit" in json.dumps(update.args["view"])


def test_a_rate_limit_longer_than_the_budget_is_not_waited_out(app_env: AppEnv) -> None:
    app_env.allow(USER)
    app_env.slack.reply("views.open", Fault(status=429, retry_after=30))
    started = time.monotonic()
    response = call(slash_command_body(user_id=USER))
    assert response.status_code == 200
    assert time.monotonic() - started < 10, "the 30-second Retry-After must not be waited out"
    opened, dm = app_env.slack.calls()
    assert opened.method == "views.open"
    assert dm.method == "chat.postMessage"
    assert "ratelimited" in texts(dm.args["blocks"])
