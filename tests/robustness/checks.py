"""Shared by the robustness tests: calling an endpoint, and assertions on answers, Slack
payloads, side effects and secrets.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable, Mapping
from typing import Any

import azure.functions as func

import orchestrator_client
import slash_start
from devhost.simulate.slack_blocks import (
    MAX_MESSAGE_BLOCKS,
    MAX_MESSAGE_TEXT,
    check_blocks,
    check_view,
)
from tests.support.app_env import AppEnv
from tests.support.logs import LogCapture, assert_no_secrets
from tests.support.loop import run
from tests.support.requests import http_request

MIB = 1024 * 1024
JSON_CONTENT_TYPE = "application/json; charset=utf-8"
INPUT_BLOCKS = frozenset({"environment", "urls"})
MAX_REASON_CHARS = 200
MAX_ERROR_CHARS = 500
_DIGITS = re.compile(r"[0-9]+")


def send(env: AppEnv, endpoint: str, body: bytes, headers: dict[str, str]) -> func.HttpResponse:
    """Send a request to ``slash-start`` or ``orchestrator-client`` as the Functions host would."""
    request = http_request(endpoint, body, headers)
    if endpoint == "slash-start":
        return slash_start.main(request)
    return run(orchestrator_client.main(request, env.durable_client_binding))


def is_utf8(body: bytes) -> bool:
    """Whether ``body`` decodes as UTF-8 (only such bodies can carry Slack's signature)."""
    try:
        body.decode("utf-8")
    except UnicodeDecodeError:
        return False
    return True


def too_large(body: bytes, headers: Mapping[str, str]) -> bool:
    """Whether the app must answer 413: a body, or a declared decimal length, over 1 MiB."""
    declared = next((v for k, v in headers.items() if k.lower() == "content-length"), "")
    if _DIGITS.fullmatch(declared):
        digits = declared.lstrip("0")
        if len(digits) > len(str(MIB)) or int(digits or "0") > MIB:
            return True
    return len(body) > MIB


def reset(env: AppEnv, logs: LogCapture) -> None:
    """Forget every stand-in's recordings and the captured logs, before one example."""
    env.slack.clear()
    env.cache_flush.clear()
    env.durable_api.clear()
    env.blob_proxy.clear()
    logs.clear()


def outbound(env: AppEnv) -> dict[str, int]:
    """How many requests each stand-in received."""
    return {
        "slack": len(env.slack.requests()),
        "storage": len(env.blob_proxy.requests()),
        "durable": len(env.durable_api.requests()),
        "cache-flush": len(env.cache_flush.requests()),
    }


NO_OUTBOUND = {"slack": 0, "storage": 0, "durable": 0, "cache-flush": 0}


def assert_reason(response: func.HttpResponse) -> str:
    """A refusal carries one short plain-text line saying why."""
    assert response.mimetype == "text/plain", response.mimetype
    reason = response.get_body().decode("utf-8")
    assert reason.strip(), "a refusal must say why"
    assert "\n" not in reason.strip()
    assert len(reason) <= MAX_REASON_CHARS
    assert "Traceback" not in reason
    return reason


def assert_slack_json(response: func.HttpResponse) -> dict[str, Any]:
    """A 200 answer to an interaction: valid JSON, the right content type, a valid action."""
    assert response.headers.get("Content-Type") == JSON_CONTENT_TYPE
    answer = json.loads(response.get_body().decode("utf-8"))
    assert isinstance(answer, dict)
    action = answer.get("response_action")
    if action == "errors":
        errors = answer["errors"]
        assert isinstance(errors, dict)
        assert errors
        assert set(errors) <= INPUT_BLOCKS, errors
        for message in errors.values():
            assert isinstance(message, str)
            assert 0 < len(message) <= MAX_ERROR_CHARS, message
    else:
        assert action == "update", answer
        assert check_view(answer["view"]) == [], check_view(answer["view"])
    return answer


def assert_valid_slack_calls(calls: Iterable[Any]) -> None:
    """Every view and message the app sent would be accepted by Slack."""
    for call in calls:
        args = call.args
        if call.method in ("views.open", "views.update"):
            assert check_view(args.get("view")) == [], (call.method, check_view(args.get("view")))
        elif call.method == "chat.postMessage":
            assert isinstance(args.get("channel"), str)
            text = args.get("text")
            assert isinstance(text, str)
            assert 0 < len(text) <= MAX_MESSAGE_TEXT
            blocks = args.get("blocks")
            assert check_blocks(blocks, "/blocks", MAX_MESSAGE_BLOCKS) == []


def assert_no_errors_logged(logs: LogCapture) -> None:
    """No record at ERROR or above, and no traceback: nothing unexpected happened."""
    bad = [r for r in logs.records if r.levelname in ("ERROR", "CRITICAL") or r.exc_info]
    assert not bad, [logs.format(r) for r in bad][:3]


def assert_secret_free(
    logs: LogCapture, texts: Iterable[str], secrets: Mapping[str, str] | Iterable[str]
) -> None:
    """No secret in any log line or in any of ``texts`` (answers, statuses, Slack output)."""
    assert_no_secrets(logs.lines, secrets)
    assert_no_secrets(list(texts), secrets)
