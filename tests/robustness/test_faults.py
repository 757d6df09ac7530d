"""Slack and cache-flush failing in every way the simulators can, during every flow (devhost).

For each fault: the user still gets the most useful message possible (or the failure is
logged and shown in the instance status), every orchestration ends, every retry is bounded,
and no secret shows up anywhere.
"""

from __future__ import annotations

import time
from typing import Any

import pytest

from devhost.simulate.client import wait_until
from shared import result_views, views
from tests.robustness.background import SlowSlackScenario
from tests.robustness.checks import assert_secret_free
from tests.robustness.fuzzing import tally
from tests.robustness.simhost import (
    CACHE_FLUSH_TIMEOUT_SECONDS,
    SECRETS,
    STRANGER,
    USER,
    SimApp,
    view_text,
)
from tests.support.logs import LogCapture, assert_no_secrets

URL = "https://www.nhs.uk/conditions/"
SLACK_LIMIT_SECONDS = 3.0
INTERACTIVE_TIMEOUT_SECONDS = 2.0
SLACK_FAULTS: dict[str, dict[str, Any]] = {
    "500": {"status": 500},
    "429": {"retry_after": 1},
    "slow": {"delay": INTERACTIVE_TIMEOUT_SECONDS + 0.2},
    "drop": {"drop": True},
}
SLACK_METHODS = ("views.open", "views.update", "chat.postMessage")


def audit(sim: SimApp, logs: LogCapture, scenario: str) -> None:
    """No secret in logs or anything observable; count the faults this scenario injected."""
    assert_secret_free(logs, sim.observed(), SECRETS)
    sim.count(scenario)


def errors_logged(logs: LogCapture) -> list[str]:
    return [logs.format(r) for r in logs.records if r.levelname in ("ERROR", "CRITICAL")]


def open_form(sim: SimApp) -> None:
    """Run ``/flush`` with no fault, so the form is open."""
    assert sim.command(text=URL)["status"] == 200
    assert sim.current_view()["callback_id"] == "cache_flush_request"


def submit_and_finish(sim: SimApp) -> dict[str, Any]:
    """Submit the form and wait for the orchestration to end; its durable status."""
    answer = sim.submit_form(URL)
    assert answer["status"] == 200
    assert answer["outcome"] == "updated"
    status = sim.finished(answer["view_id"])
    assert status["runtimeStatus"] == "Completed", status
    return status


def wait_for_calls(sim: SimApp, method: str, count: int) -> list[dict[str, Any]]:
    """Wait until ``count`` calls of ``method`` are recorded (a delayed one lands late)."""

    def recorded() -> list[dict[str, Any]] | None:
        calls = sim.calls(method)
        return calls if len(calls) >= count else None

    return wait_until(recorded, f"{count} {method} call(s)")


# --- Slack failing while the slash command is handled (interactive, 2 s timeouts) -----------


@pytest.mark.parametrize("kind", sorted(SLACK_FAULTS))
@pytest.mark.parametrize("method", SLACK_METHODS)
def test_slack_failing_during_the_slash_command(
    sim: SimApp, captured_logs: LogCapture, method: str, kind: str
) -> None:
    user = STRANGER if method == "chat.postMessage" else USER
    sim.slack_fault(method, **SLACK_FAULTS[kind])
    started = time.monotonic()
    answer = sim.command(user_id=user, text=URL)
    elapsed = time.monotonic() - started
    assert answer["status"] == 200, answer
    if kind != "429":
        assert elapsed < SLACK_LIMIT_SECONDS, "Slack gives up on the command after 3 s"
    recovered = kind in ("429", "drop")
    if kind == "slow":
        wait_for_calls(sim, method, 1)
    if recovered:
        assert len(sim.calls(method)) == 2, "one retry, then success"
    else:
        assert len(sim.calls(method)) == 1, "no retry after an error or a timeout"

    dms = [m["text"] for m in sim.dms(user)]
    if method == "chat.postMessage":
        assert "do not have access" in view_text(sim.current_view(user))
        if recovered:
            assert dms == [views.NOT_ALLOWED_TEXT]
        else:
            assert any(
                "Could not send a direct message" in line for line in errors_logged(captured_logs)
            )
    elif recovered:
        assert sim.current_view()["callback_id"] == "cache_flush_request"
        assert dms == []
    elif method == "views.open":
        assert dms == [views.OPEN_FAILED_TEXT]
    else:
        assert dms == [views.PROCESSING_ERROR_TEXT]
    audit(sim, captured_logs, f"slash command, slack {method} {kind}")


# --- Slack failing while the result is delivered (durable retries) --------------------------


@pytest.mark.parametrize("kind", ["500", "429", "drop"])
def test_slack_failing_once_during_notifications_is_retried(
    sim: SimApp, captured_logs: LogCapture, kind: str
) -> None:
    open_form(sim)
    before = {method: len(sim.calls(method)) for method in ("views.update", "chat.postMessage")}
    for method in before:
        sim.slack_fault(method, **SLACK_FAULTS[kind])
    status = submit_and_finish(sim)
    assert status["output"]["flush"] == {"ok": True, "status": 201}
    assert all(n["delivered"] for n in status["output"]["notifications"].values())
    assert "Cache flush accepted" in view_text(sim.current_view())
    assert [m["text"] for m in sim.dms()] == [result_views.SUCCESS_TEXT]
    assert [m["text"] for m in sim.channel_posts()] == [result_views.SUCCESS_TEXT]
    sent = {"views.update": 1, "chat.postMessage": 2}
    for method, count in before.items():
        assert len(sim.calls(method)) - count == sent[method] + 1, f"one {method} retry"
    audit(sim, captured_logs, f"notifications, slack views.update and chat.postMessage {kind}")


def flow_with_slack_failing_for_good(sim: SimApp, method: str) -> dict[str, Any]:
    """Run a whole flow while Slack answers ``method`` with 500 every time; the outcome of
    each notification, from the orchestration's output."""
    open_form(sim)
    sim.slack_fault(method, status=500, times=10)
    notifications: dict[str, Any] = submit_and_finish(sim)["output"]["notifications"]
    return notifications


def test_the_modal_update_failing_for_good_still_reaches_the_user_by_dm(
    sim: SimApp, captured_logs: LogCapture
) -> None:
    modal = flow_with_slack_failing_for_good(sim, "views.update")["modal"]
    assert modal["delivered"] is False
    assert "views.update" in modal["reason"]
    assert [m["text"] for m in sim.dms()] == [result_views.SUCCESS_TEXT]
    assert len(sim.calls("views.update")) == 1 + 3, "the form, then three attempts"
    audit(sim, captured_logs, "notifications, slack views.update 500 always")


def test_messages_failing_for_good_still_show_the_result_in_the_modal(
    sim: SimApp, captured_logs: LogCapture
) -> None:
    notifications = flow_with_slack_failing_for_good(sim, "chat.postMessage")
    assert notifications["modal"]["delivered"] is True
    for target in ("dm", "channel"):
        assert notifications[target]["delivered"] is False
        assert "chat.postMessage" in notifications[target]["reason"]
    assert "Cache flush accepted" in view_text(sim.current_view())
    assert len(sim.calls("chat.postMessage")) == 2 * 3, "three attempts per message"
    audit(sim, captured_logs, "notifications, slack chat.postMessage 500 always")


def test_slack_too_slow_during_notifications_is_retried(slow_slack: SlowSlackScenario) -> None:
    outcome = slow_slack.outcome()
    assert outcome.status["runtimeStatus"] == "Completed"
    assert all(n["delivered"] for n in outcome.status["output"]["notifications"].values())
    assert "Cache flush accepted" in view_text(outcome.view)
    assert result_views.SUCCESS_TEXT in [m["text"] for m in outcome.dms]
    # The form's update, the timed-out result update, its retry; the same for the first post.
    assert outcome.calls == {"views.update": 3, "chat.postMessage": 3}
    assert outcome.faults_served == 2
    assert_no_secrets([*outcome.observed, slow_slack.output], SECRETS)
    tally["fault scenarios"] += 1
    tally["faults injected (answers replaced or delayed)"] += outcome.faults_served
    tally["faults: notifications, slack views.update and chat.postMessage slow"] += (
        outcome.faults_served
    )


# --- cache-flush failing --------------------------------------------------------------------

SLOW = CACHE_FLUSH_TIMEOUT_SECONDS + 0.3


@pytest.mark.parametrize(
    ("fault", "calls", "shown"),
    [
        pytest.param(
            {"delay": SLOW, "times": 3},
            3,
            f"did not answer within {CACHE_FLUSH_TIMEOUT_SECONDS:g} s",
            id="slow-always",
        ),
        pytest.param(
            {"drop": True, "times": 3}, 3, "could not reach cache-flush", id="drop-always"
        ),
        pytest.param({"non_json": True, "status": 500}, 1, "HTTP 500", id="html-500"),
        pytest.param(
            {"non_json": True, "status": 502, "times": 3},
            3,
            "HTTP 502, the last of 3 attempts",
            id="html-502",
        ),
        pytest.param({"status": 500}, 1, "An error has occurred during cache flush", id="json-500"),
    ],
)
def test_cache_flush_failing_ends_with_a_failure_message(  # noqa: PLR0917 - pytest passes arguments positionally
    sim: SimApp,
    captured_logs: LogCapture,
    request: pytest.FixtureRequest,
    fault: dict[str, Any],
    calls: int,
    shown: str,
) -> None:
    open_form(sim)
    sim.flush_fault(**fault)
    status = submit_and_finish(sim)
    assert status["output"]["flush"]["ok"] is False
    wait_until(lambda: len(sim.flush_calls()) == calls, f"{calls} cache-flush call(s)")
    modal = view_text(sim.current_view())
    assert "Nothing was flushed" in modal
    assert shown in modal
    dms = sim.dms()
    assert [m["text"] for m in dms] == [result_views.FAILURE_TEXT]
    assert shown in view_text(dms[0])
    assert sim.channel_posts() == [], "failures are not announced in the channel"
    assert all(n["delivered"] for n in status["output"]["notifications"].values())
    audit(sim, captured_logs, f"cache-flush {request.node.callspec.id}")


@pytest.mark.parametrize(
    "fault",
    [
        pytest.param({"delay": SLOW}, id="slow-once"),
        pytest.param({"drop": True}, id="drop-once"),
        pytest.param({"status": 503, "body": {"message": "cold start"}}, id="503-once"),
    ],
)
def test_cache_flush_failing_once_is_retried_and_succeeds(
    sim: SimApp, captured_logs: LogCapture, request: pytest.FixtureRequest, fault: dict[str, Any]
) -> None:
    open_form(sim)
    sim.flush_fault(**fault)
    status = submit_and_finish(sim)
    assert status["output"]["flush"] == {"ok": True, "status": 201}
    wait_until(lambda: len(sim.flush_calls()) == 2, "2 cache-flush calls")
    assert "Cache flush accepted" in view_text(sim.current_view())
    assert [m["text"] for m in sim.channel_posts()] == [result_views.SUCCESS_TEXT]
    audit(sim, captured_logs, f"cache-flush {request.node.callspec.id}")
