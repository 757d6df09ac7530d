"""Approvals whose deadline outlives the longest single durable timer, through a real devhost.

On Azure Storage a durable timer lasts at most 6 days; the Python SDK turns the approval's
timer (up to 7 days) into a chain of 3-day timers and the event races that chain. devhost is
started with those limits scaled down (2 s, chains of 1 s) and a 6 s approval timeout, so
the wait takes the code path it takes in Azure for any timeout over 6 days.
"""

from __future__ import annotations

import json
from datetime import datetime, timedelta
from typing import Any

from devhost.config import LONG_TIMER_INTERVAL_VARIABLE, MAX_SHORT_TIMER_VARIABLE
from devhost.simulate.client import DevhostClient, wait_until
from shared import settings
from shared.approval import DECISION_EVENT
from tests.e2e.launcher import AppLauncher, RunningApp
from tests.e2e.test_e2e_approvals import (
    ALICE,
    AMY,
    ANN,
    APPROVALS,
    CSV,
    URL_A,
    URL_B,
    click,
    ended_flushed,
    ended_unflushed,
    request_now,
    requested,
    stage,
)

MAX_SHORT_TIMER = timedelta(seconds=2)
INTERVAL = timedelta(seconds=1)
TIMEOUT_MINUTES = "0.1"  # 6 s: three times the longest single timer
TIMEOUT = timedelta(minutes=float(TIMEOUT_MINUTES))


def start(launcher: AppLauncher) -> RunningApp:
    launcher.set_allowed_csv(CSV)
    return launcher.start(
        overrides={
            **APPROVALS,
            settings.APPROVAL_TIMEOUT_MINUTES: TIMEOUT_MINUTES,
            MAX_SHORT_TIMER_VARIABLE: "2",
            LONG_TIMER_INTERVAL_VARIABLE: "1",
        }
    )


def _time(text: str) -> datetime:
    return datetime.fromisoformat(text)


def history(slack: DevhostClient, instance_id: str) -> list[dict[str, Any]]:
    status = slack.status(instance_id, history=True)
    assert status is not None
    return list(status["historyEvents"])


def dm_texts(slack: DevhostClient) -> list[str]:
    """The texts of the requester's direct messages so far."""
    return [m["text"] for m in slack.wait_dms(ALICE)]


def timers(events: list[dict[str, Any]]) -> list[dict[str, Any]]:
    return [e for e in events if e["EventType"] == "TimerCreated"]


def waiting_on_the_chain(slack: DevhostClient, instance_id: str) -> list[dict[str, Any]]:
    """Wait until the approval timer's chain has moved on once; the links so far."""
    wait_until(lambda: stage(slack, instance_id) == "awaiting_approval", "awaiting_approval")
    wait_until(lambda: len(timers(history(slack, instance_id))) >= 2, "a second chain link")
    links = timers(history(slack, instance_id))
    for link in links:
        assert _time(link["FireAt"]) - _time(link["Timestamp"]) == INTERVAL, link
    return links


def test_an_approval_beats_a_long_deadline_and_flushes(launcher: AppLauncher) -> None:
    slack = start(launcher).slack
    _, instance_id, post = requested(slack)
    links = waiting_on_the_chain(slack, instance_id)

    click(slack, ANN, "approve_flush", post)

    status, flush = ended_flushed(slack, instance_id, ANN)
    assert status["output"]["flush"] == {"ok": True, "status": 201}, status
    assert flush["objects"] == [URL_A, URL_B]
    assert f"Approved by <@{ANN}>" in request_now(slack)
    decided = _time(status["output"]["approval"]["at"])
    assert decided < _time(links[0]["Timestamp"]) + TIMEOUT
    assert "Cache flush succeeded" in dm_texts(slack)


def test_a_rejection_beats_a_long_deadline_and_nothing_is_flushed(launcher: AppLauncher) -> None:
    slack = start(launcher).slack
    _, instance_id, post = requested(slack)
    waiting_on_the_chain(slack, instance_id)

    click(slack, AMY, "reject_flush", post)

    ended_unflushed(slack, instance_id, "rejected", AMY)
    assert f"Rejected by <@{AMY}>" in request_now(slack)
    assert "Cache flush rejected" in dm_texts(slack)


def test_a_long_deadline_expires_at_the_end_of_its_chain(launcher: AppLauncher) -> None:
    slack = start(launcher).slack
    _, instance_id, _ = requested(slack)

    status = ended_unflushed(slack, instance_id, "expired")
    assert "Expired: nobody approved within 0.1 minutes (6 seconds)" in request_now(slack)
    assert "Cache flush request expired" in dm_texts(slack)

    events = history(slack, instance_id)
    links = timers(events)
    assert len(links) >= 4, links  # 6 s in steps of 1 s, the last step at most 2 s
    for link in links[:-1]:
        assert _time(link["FireAt"]) - _time(link["Timestamp"]) == INTERVAL, link
    last = links[-1]
    assert _time(last["FireAt"]) - _time(last["Timestamp"]) <= MAX_SHORT_TIMER, last
    assert _time(last["FireAt"]) - _time(links[0]["Timestamp"]) < TIMEOUT
    fired = [e["TimerId"] for e in events if e["EventType"] == "TimerFired"]
    assert fired == [link["EventId"] for link in links]
    assert _time(status["output"]["approval"]["at"]) >= _time(last["FireAt"])


def test_an_event_that_does_not_count_leaves_the_long_deadline_running(
    launcher: AppLauncher,
) -> None:
    slack = start(launcher).slack
    _, instance_id, _ = requested(slack)
    waiting_on_the_chain(slack, instance_id)
    # The requester approving their own request: four eyes make the orchestrator ignore it.
    forged = {"action": "approve", "user_id": ALICE, "user_name": "alice"}
    assert slack.raise_event(instance_id, DECISION_EVENT, json.dumps(forged)) == 202

    ended_unflushed(slack, instance_id, "expired")
    events = history(slack, instance_id)
    raised = next(i for i, e in enumerate(events) if e["EventType"] == "EventRaised")
    assert timers(events[raised:]), "the chain went on after the ignored event"
