"""`call_cache_flush_activity` against the cache-flush stand-in (SPEC sections 8 and 10.2)."""

from __future__ import annotations

import socket
import time
import traceback
from typing import Any

import pytest

import call_cache_flush_activity
from shared.cache_flush import TransientFlushError
from tests.support import constants
from tests.support.app_env import AppEnv
from tests.support.cache_flush_stub import PATH
from tests.support.logs import LogCapture
from tests.support.recording import RecordedRequest
from tests.support.stub_server import Reply

URLS = ["https://www.nhs.uk/conditions/", "https://www.nhs.uk/service-search/"]
REQUEST = {"environment": "staging", "urls": URLS}
# Far longer than any timeout used here; the stand-in releases it when it stops.
HANG_SECONDS = 60.0
# Generous: a 0.5 s read timeout must not wait for the 60 s reply.
TIMEOUT_BOUND_SECONDS = 10.0
KEY_HEADER = "x-functions-key"


def flush(request: dict[str, Any] | None = None) -> dict[str, Any]:
    return call_cache_flush_activity.main(dict(REQUEST) if request is None else request)


def only_request(env: AppEnv) -> RecordedRequest:
    recorded = env.cache_flush.requests()
    assert len(recorded) == 1, recorded
    return recorded[0]


def closed_port() -> int:
    """A loopback port nothing listens on (bound, then released)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def assert_key_not_in(error: BaseException) -> None:
    """Neither the exception nor anything it chains to shows the function key."""
    text = "".join(traceback.format_exception(error))
    assert constants.CACHE_FLUSH_KEY not in text, "the function key is in the error"


# --- the request ----------------------------------------------------------------------------


def test_the_body_is_exactly_environment_and_objects(app_env: AppEnv) -> None:
    flush({"environment": "production", "urls": [*URLS, URLS[0]]})
    sent = only_request(app_env)
    assert sent.method == "POST"
    assert sent.path == PATH
    assert "application/json" in (sent.header("Content-Type") or "")
    assert sent.json == {"environment": "production", "objects": [*URLS, URLS[0]]}


def test_the_key_travels_in_the_header_not_in_the_url(
    app_env: AppEnv, captured_logs: LogCapture
) -> None:
    result = flush()
    assert result["status"] == 201
    sent = only_request(app_env)
    assert sent.header(KEY_HEADER) == constants.CACHE_FLUSH_KEY
    assert "code" not in sent.query
    assert constants.CACHE_FLUSH_KEY not in sent.raw_query
    assert constants.CACHE_FLUSH_KEY not in sent.path
    captured_logs.assert_no_secrets()


def test_other_query_parameters_of_the_configured_url_are_kept(
    app_env: AppEnv, monkeypatch: pytest.MonkeyPatch
) -> None:
    configured = (
        f"{app_env.cache_flush.origin}{PATH}?tenant=web&code={constants.CACHE_FLUSH_KEY}&trace=1"
    )
    monkeypatch.setenv("CACHE_FLUSH_FUNCTION_APP_FULL_URL_WITH_PATH_AND_CODE", configured)
    assert flush()["ok"] is True
    sent = only_request(app_env)
    assert sent.query == {"tenant": "web", "trace": "1"}
    assert sent.header(KEY_HEADER) == constants.CACHE_FLUSH_KEY


def test_a_percent_encoded_key_is_sent_decoded(
    app_env: AppEnv, monkeypatch: pytest.MonkeyPatch
) -> None:
    app_env.cache_flush.key = "abc/def+ghi=="
    configured = f"{app_env.cache_flush.origin}{PATH}?code=abc%2Fdef%2Bghi%3D%3D"
    monkeypatch.setenv("CACHE_FLUSH_FUNCTION_APP_FULL_URL_WITH_PATH_AND_CODE", configured)
    assert flush()["status"] == 201
    assert only_request(app_env).header(KEY_HEADER) == "abc/def+ghi=="


def test_a_url_without_a_key_sends_no_key_and_gets_the_401_as_a_final_answer(
    app_env: AppEnv, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv(
        "CACHE_FLUSH_FUNCTION_APP_FULL_URL_WITH_PATH_AND_CODE",
        f"{app_env.cache_flush.origin}{PATH}",
    )
    result = flush()
    assert result["ok"] is False
    assert result["status"] == 401
    assert only_request(app_env).header(KEY_HEADER) is None


# --- final answers --------------------------------------------------------------------------


def test_201_is_parsed_into_a_successful_result(app_env: AppEnv) -> None:
    result = flush()
    assert set(result) == {"ok", "status", "body", "error"}
    assert result["ok"] is True
    assert result["status"] == 201
    assert result["error"] is None
    body = result["body"]
    assert body["detail"] == "Request accepted"
    assert body["httpStatus"] == 201
    assert body["estimatedSeconds"] == 5
    assert body["urls"] == URLS
    assert body["purgeId"]
    assert body["supportId"]


@pytest.mark.parametrize("status", [200, 201, 202, 299])
def test_any_2xx_is_ok(app_env: AppEnv, status: int) -> None:
    app_env.cache_flush.reply(Reply(status=status, json={"detail": "accepted"}))
    assert flush() == {"ok": True, "status": status, "body": {"detail": "accepted"}, "error": None}


def test_204_without_a_body_is_ok(app_env: AppEnv) -> None:
    app_env.cache_flush.reply(Reply(status=204))
    assert flush() == {"ok": True, "status": 204, "body": "", "error": None}


@pytest.mark.parametrize(
    ("status", "body"),
    [
        pytest.param(400, {"message": "Missing required properties: objects."}, id="400"),
        pytest.param(
            400, {"message": "Unable to parse URLs.", "urls": ["not a url"]}, id="400-urls"
        ),
        pytest.param(
            403,
            {"message": "URLs outside nhs.uk", "urls": ["https://example.com/"]},
            id="403",
        ),
        pytest.param(
            500,
            {
                "message": "Akamai request failed",
                "error": {"message": "socket hang up", "name": "Error"},
            },
            id="500",
        ),
        pytest.param(404, {"message": "Not found"}, id="404"),
    ],
)
def test_error_answers_are_final_results_not_exceptions(
    app_env: AppEnv, status: int, body: dict[str, Any]
) -> None:
    app_env.cache_flush.reply(Reply(status=status, json=body))
    assert flush() == {"ok": False, "status": status, "body": body, "error": None}
    assert len(app_env.cache_flush.requests()) == 1


def test_the_real_400_for_a_bad_environment_is_returned(app_env: AppEnv) -> None:
    result = flush({"environment": "dev", "urls": URLS})
    assert result["ok"] is False
    assert result["status"] == 400
    assert "Environment must be one of" in result["body"]["message"]


@pytest.mark.parametrize(
    ("status", "ok"), [pytest.param(500, False, id="500"), pytest.param(200, True, id="200")]
)
def test_a_body_that_is_not_json_is_returned_as_text(
    app_env: AppEnv, status: int, ok: bool
) -> None:
    html = "<html><body>Function host is not running.</body></html>"
    app_env.cache_flush.reply(
        Reply(status=status, body=html.encode(), headers={"Content-Type": "text/html"})
    )
    assert flush() == {"ok": ok, "status": status, "body": html, "error": None}


# --- transient failures raise ---------------------------------------------------------------


@pytest.mark.parametrize("status", [429, 502, 503, 504])
def test_transient_statuses_raise(app_env: AppEnv, captured_logs: LogCapture, status: int) -> None:
    app_env.cache_flush.reply(
        Reply(status=status, json={"message": "busy"}, headers={"Retry-After": "1"})
    )
    with pytest.raises(TransientFlushError, match=str(status)) as raised:
        flush()
    assert len(app_env.cache_flush.requests()) == 1, "retries are the orchestrator's job"
    assert_key_not_in(raised.value)
    captured_logs.assert_no_secrets()


def test_a_timeout_raises_within_the_configured_time(
    app_env: AppEnv, captured_logs: LogCapture, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("CACHE_FLUSH_TIMEOUT_SECONDS", "0.5")
    app_env.cache_flush.reply(Reply(status=201, json={"detail": "late"}, delay=HANG_SECONDS))
    started = time.monotonic()
    with pytest.raises(TransientFlushError, match="did not answer") as raised:
        flush()
    assert time.monotonic() - started < TIMEOUT_BOUND_SECONDS
    assert len(app_env.cache_flush.requests()) == 1
    assert_key_not_in(raised.value)
    captured_logs.assert_no_secrets()


@pytest.mark.parametrize(
    ("timeout", "delay", "answered"),
    [
        pytest.param("3", 0.3, True, id="reply-within-the-timeout"),
        pytest.param("0.5", HANG_SECONDS, False, id="reply-after-the-timeout"),
    ],
)
def test_the_timeout_setting_is_honoured(
    app_env: AppEnv,
    monkeypatch: pytest.MonkeyPatch,
    timeout: str,
    delay: float,
    answered: bool,
) -> None:
    monkeypatch.setenv("CACHE_FLUSH_TIMEOUT_SECONDS", timeout)
    app_env.cache_flush.reply(Reply(status=201, json={"detail": "slow"}, delay=delay))
    if answered:
        assert flush()["body"] == {"detail": "slow"}
    else:
        with pytest.raises(TransientFlushError):
            flush()


def test_a_dropped_connection_raises(app_env: AppEnv, captured_logs: LogCapture) -> None:
    app_env.cache_flush.reply(Reply(drop=True))
    with pytest.raises(TransientFlushError, match="could not reach") as raised:
        flush()
    assert len(app_env.cache_flush.requests()) == 1
    assert_key_not_in(raised.value)
    captured_logs.assert_no_secrets()


def test_a_refused_connection_raises(
    app_env: AppEnv, captured_logs: LogCapture, monkeypatch: pytest.MonkeyPatch
) -> None:
    configured = f"http://127.0.0.1:{closed_port()}{PATH}?code={constants.CACHE_FLUSH_KEY}"
    monkeypatch.setenv("CACHE_FLUSH_FUNCTION_APP_FULL_URL_WITH_PATH_AND_CODE", configured)
    with pytest.raises(TransientFlushError, match="could not reach") as raised:
        flush()
    assert_key_not_in(raised.value)
    captured_logs.assert_no_secrets()


def test_logs_of_a_successful_call_hold_no_key(app_env: AppEnv, captured_logs: LogCapture) -> None:
    flush()
    assert any("urllib3" in line for line in captured_logs.lines), "urllib3 DEBUG is captured"
    assert any("201" in line for line in captured_logs.lines)
    captured_logs.assert_no_secrets()
