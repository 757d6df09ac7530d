"""flush_orchestrator through azure-functions-durable's replay engine, over built histories."""

from __future__ import annotations

import ast
import json
import logging
import os
from pathlib import Path
from typing import Any

import pytest

import flush_orchestrator
from tests.support.histories import History, activity_calls, replay

FLUSH = "call_cache_flush_activity"
NOTIFY = "notify_user_activity"
DELIVERED = {"delivered": True, "reason": None}
ROOT = Path(__file__).resolve().parents[1]


def request_input(channel: str | None = "cache-flush-notices") -> dict[str, Any]:
    return {
        "user_id": "U0001",
        "user_name": "jo_bloggs",
        "team_id": "T0001",
        "view_id": "V0001",
        "environment": "production",
        "urls": ["https://www.nhs.uk/a", "https://www.nhs.uk/b"],
        "channel": channel,
        "retry_interval_ms": 5000,
    }


def run(history: History) -> dict[str, Any]:
    return replay(flush_orchestrator.main, history)


def notify_inputs(state: dict[str, Any]) -> list[dict[str, Any]]:
    return [json.loads(a["input"]) for a in activity_calls(state) if a["functionName"] == NOTIFY]


def texts(payload: dict[str, Any]) -> str:
    blocks = payload["view"]["blocks"] if payload["kind"] == "view" else payload["blocks"]
    return "\n".join(block["text"]["text"] for block in blocks if "text" in block)


def flush_then(history: History, result: Any) -> dict[str, Any]:
    """Replay the first episode, then complete the flush with `result`."""
    run(history)
    history.new_episode().scheduled(0, FLUSH).completed(0, result)
    return run(history)


def finish_notifications(history: History, count: int, first_id: int = 1) -> dict[str, Any]:
    history.new_episode()
    for offset in range(count):
        history.scheduled(first_id + offset, NOTIFY)
    for offset in range(count):
        history.completed(first_id + offset, DELIVERED)
    return run(history)


def test_first_episode_calls_cache_flush_with_the_retry_policy() -> None:
    state = run(History("flush_orchestrator", request_input()))
    assert state["isDone"] is False
    [call] = activity_calls(state)
    assert call["functionName"] == FLUSH
    assert json.loads(call["input"]) == {
        "environment": "production",
        "urls": ["https://www.nhs.uk/a", "https://www.nhs.uk/b"],
    }
    assert call["retryOptions"] == {
        "firstRetryIntervalInMilliseconds": 5000,
        "maxNumberOfAttempts": 3,
    }


def test_success_updates_the_modal_dms_the_user_and_posts_to_the_channel() -> None:
    history = History("flush_orchestrator", request_input())
    body = {"estimatedSeconds": 9, "purgeId": "purge-1", "supportId": "support-1"}
    state = flush_then(history, {"ok": True, "status": 201, "body": body, "error": None})
    modal, dm, channel = notify_inputs(state)
    assert modal["kind"] == "view"
    assert modal["view_id"] == "V0001"
    assert dm["kind"] == "message"
    assert dm["channel"] == "U0001"
    assert dm["text"] == "Cache flush succeeded"
    assert channel["channel"] == "cache-flush-notices"
    for payload in (modal, dm, channel):
        text = texts(payload)
        assert "about 9 seconds" in text
        assert "purge-1" in text
        assert "https://www.nhs.uk/b" in text
        assert "<@U0001>" in text
    notify_calls = [a for a in activity_calls(state) if a["functionName"] == NOTIFY]
    assert all(a["retryOptions"]["maxNumberOfAttempts"] == 3 for a in notify_calls)

    done = finish_notifications(history, 3)
    assert done["isDone"] is True
    assert done["output"] == {
        "flush": {"ok": True, "status": 201},
        "error": None,
        "notifications": {"modal": DELIVERED, "dm": DELIVERED, "channel": DELIVERED},
    }


def test_success_without_a_channel_posts_no_channel_message() -> None:
    history = History("flush_orchestrator", request_input(channel=None))
    state = flush_then(history, {"ok": True, "status": 201, "body": {}, "error": None})
    assert [p["kind"] for p in notify_inputs(state)] == ["view", "message"]
    done = finish_notifications(history, 2)
    assert set(done["output"]["notifications"]) == {"modal", "dm"}


@pytest.mark.parametrize(
    ("status", "body", "expected"),
    [
        (400, {"message": "Missing properties: environment"}, "Missing properties"),
        (403, {"message": "URLs not allowed", "urls": ["https://x.com/"]}, "https://x.com/"),
        (500, {"message": "Akamai failed", "error": {"name": "E", "message": "m"}}, "Akamai"),
    ],
)
def test_failure_bodies_are_shown_and_not_posted_to_the_channel(
    status: int, body: dict[str, Any], expected: str
) -> None:
    history = History("flush_orchestrator", request_input())
    state = flush_then(history, {"ok": False, "status": status, "body": body, "error": None})
    modal, dm = notify_inputs(state)
    for payload in (modal, dm):
        text = texts(payload)
        assert f"HTTP {status}" in text
        assert expected in text
    assert dm["text"] == "Cache flush failed"
    done = finish_notifications(history, 2)
    assert done["output"]["flush"] == {"ok": False, "status": status}


def test_a_transient_failure_is_retried_after_the_policy_timer() -> None:
    history = History("flush_orchestrator", request_input())
    run(history)
    history.new_episode().scheduled(0, FLUSH).failed(0, "cache-flush answered HTTP 503")
    state = run(history)
    assert state["isDone"] is False
    assert notify_inputs(state) == []
    history.new_episode().timer(1).fired(1)
    run(history)
    history.new_episode().scheduled(2, FLUSH).completed(
        2, {"ok": True, "status": 201, "body": {}, "error": None}
    )
    state = run(history)
    assert [p["kind"] for p in notify_inputs(state)] == ["view", "message", "message"]
    done = finish_notifications(history, 3, first_id=3)
    assert done["output"]["flush"] == {"ok": True, "status": 201}


def test_exhausted_retries_report_the_last_error() -> None:
    history = History("flush_orchestrator", request_input())
    run(history)
    errors = ["no response: timed out", "cache-flush answered HTTP 502", "cache-flush answered 504"]
    for attempt, reason in enumerate(errors):
        task_id, timer_id = attempt * 2, attempt * 2 + 1
        history.new_episode().scheduled(task_id, FLUSH).failed(task_id, reason)
        assert notify_inputs(run(history)) == []
        history.new_episode().timer(timer_id).fired(timer_id)
        state = run(history)
    modal, dm = notify_inputs(state)
    assert "cache-flush answered 504" in texts(dm)
    assert "no response" in texts(modal)
    done = finish_notifications(history, 2, first_id=6)
    assert done["output"]["flush"] == {"ok": False, "status": None}
    assert done["output"]["error"] == "cache-flush answered 504"


def test_one_failed_notification_does_not_stop_the_others() -> None:
    history = History("flush_orchestrator", request_input())
    flush_then(history, {"ok": True, "status": 201, "body": {}, "error": None})
    history.new_episode().scheduled(1, NOTIFY).scheduled(2, NOTIFY).scheduled(3, NOTIFY)
    history.completed(1, DELIVERED).failed(
        2, "DeliveryError: chat.postMessage: Slack answered channel_not_found"
    )
    next_id = 4
    for _ in range(2):
        assert run(history)["isDone"] is False
        history.new_episode().timer(next_id).fired(next_id)
        assert run(history)["isDone"] is False
        history.new_episode().scheduled(next_id + 1, NOTIFY).failed(
            next_id + 1, "DeliveryError: chat.postMessage: Slack answered channel_not_found"
        )
        next_id += 2
    assert run(history)["isDone"] is False
    history.new_episode().timer(next_id).fired(next_id)
    assert run(history)["isDone"] is False, "must wait for the channel post"
    history.new_episode().completed(3, DELIVERED)
    done = run(history)
    assert done["isDone"] is True
    assert done["output"]["notifications"] == {
        "modal": DELIVERED,
        "dm": {"delivered": False, "reason": "chat.postMessage: Slack answered channel_not_found"},
        "channel": DELIVERED,
    }


def test_a_closed_modal_is_reported_in_the_summary() -> None:
    history = History("flush_orchestrator", request_input())
    flush_then(history, {"ok": True, "status": 201, "body": {}, "error": None})
    closed = {"delivered": False, "reason": "not_found"}
    history.new_episode().scheduled(1, NOTIFY).scheduled(2, NOTIFY).scheduled(3, NOTIFY)
    history.completed(1, closed).completed(2, DELIVERED).completed(3, DELIVERED)
    done = run(history)
    assert done["output"]["notifications"]["modal"] == closed


def test_the_audit_line_is_logged_once_not_on_replay(caplog: pytest.LogCaptureFixture) -> None:
    history = History("flush_orchestrator", request_input())
    with caplog.at_level(logging.INFO):
        run(history)
        history.new_episode().scheduled(0, FLUSH).completed(
            0, {"ok": True, "status": 201, "body": {}, "error": None}
        )
        run(history)
    audits = [r.getMessage() for r in caplog.records if r.getMessage().startswith("Audit")]
    assert len(audits) == 1
    assert "jo_bloggs" in audits[0]
    assert "production" in audits[0]
    assert "https://www.nhs.uk/a" in audits[0]


def test_replay_is_deterministic_and_needs_no_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    def full_run() -> str:
        history = History("flush_orchestrator", request_input())
        flush_then(history, {"ok": True, "status": 201, "body": {"purgeId": "p"}, "error": None})
        return json.dumps(finish_notifications(history, 3), sort_keys=True)

    with_environment = full_run()
    for name in list(os.environ):
        monkeypatch.delenv(name)
    assert full_run() == with_environment


NON_DETERMINISTIC = {"time", "datetime", "random", "os", "uuid", "secrets", "requests", "socket"}


def imported_modules(path: Path) -> set[str]:
    tree = ast.parse(path.read_text())
    names: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names.update(alias.name.split(".")[0] for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module:
            names.add(node.module.split(".")[0])
    return names


@pytest.mark.parametrize(
    "source",
    [
        "flush_orchestrator/__init__.py",
        "shared/orchestration.py",
        "shared/views.py",
        "shared/submission.py",
    ],
)
def test_orchestrator_code_imports_no_clock_randomness_environment_or_io(source: str) -> None:
    assert imported_modules(ROOT / source).isdisjoint(NON_DETERMINISTIC)
