"""`call_cache_flush_activity` against the cache-flush stand-in (doc/behaviour.md)."""

from __future__ import annotations

import json
import socket
import threading
import time
from collections.abc import Iterator
from typing import Any

import pytest

import call_cache_flush_activity
from devhost.standins.cache_flush import PATH, CacheFlushStub
from devhost.standins.recording import RecordedRequest
from devhost.standins.stub_server import Reply
from shared import result_views
from shared.cache_flush import (
    MAX_BODY_BYTES,
    REDIRECT_NOT_FOLLOWED,
    TRUNCATED,
    request_flush,
)
from shared.handoffs import FlushCall, FlushResult
from tests.support import constants
from tests.support.app_env import AppEnv
from tests.support.logs import LogCapture

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


def assert_key_not_in(result: dict[str, Any]) -> None:
    """The result (as durable history would store it) does not show the function key."""
    assert constants.CACHE_FLUSH_KEY not in json.dumps(result), "the function key is in the result"


@pytest.fixture
def elsewhere() -> Iterator[CacheFlushStub]:
    """A second cache-flush stand-in, on another port, accepting the same key."""
    server = CacheFlushStub(constants.CACHE_FLUSH_KEY).start()
    try:
        yield server
    finally:
        server.stop()


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
    assert set(result) == {"ok", "status", "body", "error", "transient", "retry_after_seconds"}
    assert result["ok"] is True
    assert result["transient"] is False
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
    assert flush() == FlushResult.answered(status, {"detail": "accepted"}).to_dict()


def test_204_without_a_body_is_ok(app_env: AppEnv) -> None:
    app_env.cache_flush.reply(Reply(status=204))
    assert flush() == FlushResult(ok=True, status=204, body="").to_dict()


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
    assert flush() == FlushResult(ok=False, status=status, body=body).to_dict()
    assert len(app_env.cache_flush.requests()) == 1


def test_the_real_400_for_a_bad_environment_is_returned(app_env: AppEnv) -> None:
    result = flush({"environment": "dev", "urls": URLS})
    assert result["ok"] is False
    assert result["status"] == 400
    assert result["body"] == {
        "message": "'dev' is not a valid option for environment. "
        "It must be one of: staging, production."
    }


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
    assert flush() == FlushResult(ok=ok, status=status, body=html).to_dict()


# --- transient failures are results too -------------------------------------------------------


@pytest.mark.parametrize("status", [429, 502, 503, 504])
def test_transient_statuses_keep_their_status_and_body(
    app_env: AppEnv, captured_logs: LogCapture, status: int
) -> None:
    app_env.cache_flush.reply(
        Reply(status=status, json={"message": "cold start"}, headers={"Retry-After": "1"})
    )
    result = flush()
    assert result == {
        "ok": False,
        "status": status,
        "body": {"message": "cold start"},
        "error": None,
        "transient": True,
        "retry_after_seconds": 1.0,
    }
    assert len(app_env.cache_flush.requests()) == 1, "retries are the orchestrator's job"
    assert_key_not_in(result)
    captured_logs.assert_no_secrets()


def test_a_timeout_is_a_transient_result_within_the_configured_time(
    app_env: AppEnv, captured_logs: LogCapture, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("CACHE_FLUSH_TIMEOUT_SECONDS", "0.5")
    app_env.cache_flush.reply(Reply(status=201, json={"detail": "late"}, delay=HANG_SECONDS))
    started = time.monotonic()
    result = flush()
    assert time.monotonic() - started < TIMEOUT_BOUND_SECONDS
    assert result == FlushResult.no_response("cache-flush did not answer within 0.5 s").to_dict()
    assert len(app_env.cache_flush.requests()) == 1
    assert_key_not_in(result)
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
    result = flush()
    if answered:
        assert result["body"] == {"detail": "slow"}
    else:
        assert result["status"] is None
        assert result["transient"] is True


def test_a_dropped_connection_is_no_response(app_env: AppEnv, captured_logs: LogCapture) -> None:
    app_env.cache_flush.reply(Reply(drop=True))
    result = flush()
    assert result["status"] is None
    assert result["transient"] is True
    assert result["error"].startswith("could not reach cache-flush (")
    assert len(app_env.cache_flush.requests()) == 1
    assert_key_not_in(result)
    captured_logs.assert_no_secrets()


def test_a_refused_connection_is_no_response(
    app_env: AppEnv, captured_logs: LogCapture, monkeypatch: pytest.MonkeyPatch
) -> None:
    configured = f"http://127.0.0.1:{closed_port()}{PATH}?code={constants.CACHE_FLUSH_KEY}"
    monkeypatch.setenv("CACHE_FLUSH_FUNCTION_APP_FULL_URL_WITH_PATH_AND_CODE", configured)
    result = flush()
    assert (
        result == FlushResult.no_response("could not reach cache-flush (ConnectionError)").to_dict()
    )
    assert_key_not_in(result)
    captured_logs.assert_no_secrets()


# --- redirects, plain http, large bodies ----------------------------------------------------


@pytest.mark.parametrize("status", [301, 302, 303, 307, 308])
def test_a_redirect_is_a_final_answer_and_the_key_never_follows_it(
    app_env: AppEnv, elsewhere: CacheFlushStub, captured_logs: LogCapture, status: int
) -> None:
    app_env.cache_flush.reply(
        Reply(status=status, headers={"Location": f"{elsewhere.origin}{PATH}"})
    )
    result = flush()
    assert result == FlushResult.answered(status, "", REDIRECT_NOT_FOLLOWED).to_dict()
    assert result["transient"] is False
    assert len(app_env.cache_flush.requests()) == 1
    assert elsewhere.requests() == [], "the request (and its key) went to the redirect target"
    captured_logs.assert_no_secrets()


def test_plain_http_to_localhost_is_allowed(app_env: AppEnv) -> None:
    configured = app_env.cache_flush.url.replace("127.0.0.1", "localhost")
    assert configured.startswith("http://localhost:")
    result = request_flush(configured, FlushCall("staging", tuple(URLS)), 5.0)
    assert result.status == 201


def test_a_large_body_is_cut_before_it_enters_durable_history(app_env: AppEnv) -> None:
    body = {"message": "cold start", "trace": "x" * (4 * MAX_BODY_BYTES)}
    app_env.cache_flush.reply(Reply(status=503, json=body))
    result = flush()
    assert result["status"] == 503
    assert result["transient"] is True
    text = result["body"]
    assert isinstance(text, str)
    assert text.startswith('{"message": "cold start"')
    assert text.endswith(TRUNCATED)
    assert len(text.encode()) <= MAX_BODY_BYTES + len(TRUNCATED.encode())
    assert len(json.dumps(result)) < MAX_BODY_BYTES + 1024


def test_a_body_at_the_cap_is_still_parsed(app_env: AppEnv) -> None:
    filler = "y" * (MAX_BODY_BYTES - len(json.dumps({"message": ""})))
    app_env.cache_flush.reply(Reply(status=500, json={"message": filler}))
    assert flush()["body"] == {"message": filler}


def test_json_constants_that_are_not_json_are_kept_as_text(app_env: AppEnv) -> None:
    raw = b'{"estimatedSeconds": NaN}'
    app_env.cache_flush.reply(
        Reply(status=201, body=raw, headers={"Content-Type": "application/json"})
    )
    result = flush()
    assert result["body"] == raw.decode()
    json.loads(json.dumps(result), parse_constant=pytest.fail)


@pytest.mark.parametrize("key", ["purgeId", "purgeID"])
def test_the_purge_id_is_shown_in_either_spelling(app_env: AppEnv, key: str) -> None:
    answer = {"estimatedSeconds": 240, key: "edcp-123", "supportId": "17PY1", "httpStatus": 201}
    app_env.cache_flush.reply(Reply(status=201, json=answer))
    result = FlushResult.from_dict(flush())
    message = result_views.success_message("jo", "U1", "staging", URLS, result.body)
    text = "\n".join(block["text"]["text"] for block in message["blocks"])
    assert "`edcp-123`" in text
    assert "about 240 seconds" in text


def test_logs_of_a_successful_call_hold_no_key(app_env: AppEnv, captured_logs: LogCapture) -> None:
    flush()
    assert any("urllib3" in line for line in captured_logs.lines), "urllib3 DEBUG is captured"
    assert any("201" in line for line in captured_logs.lines)
    captured_logs.assert_no_secrets()


def test_an_answer_cut_short_keeps_its_status(captured_logs: LogCapture) -> None:
    """A 503 whose body stops half-way (the connection closes early) is still a 503."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as listener:
        listener.bind(("127.0.0.1", 0))
        listener.listen(1)
        port = listener.getsockname()[1]

        def answer_partly() -> None:
            connection, _ = listener.accept()
            with connection:
                connection.recv(65536)
                connection.sendall(
                    b"HTTP/1.1 503 Service Unavailable\r\nContent-Type: application/json\r\n"
                    b'Content-Length: 100\r\n\r\n{"message": "cold'
                )

        server = threading.Thread(target=answer_partly, daemon=True)
        server.start()
        url = f"http://127.0.0.1:{port}{PATH}?code={constants.CACHE_FLUSH_KEY}"
        result = request_flush(url, FlushCall("staging", tuple(URLS)), 5.0)
        server.join(TIMEOUT_BOUND_SECONDS)
    assert result == FlushResult.answered(503, "")
    assert result.transient is True
    assert any("cut short" in line for line in captured_logs.lines)
    captured_logs.assert_no_secrets()
