"""Replay schema V3 and long timers: the context the extension sends, and what the SDK does.

The Durable extension announces schema V3 (``upperSchemaVersionNew``) and the storage
provider's timer limits; azure-functions-durable then turns a timer further away than the
maximum short timer into a chain of shorter timers (its ``LongTimerTask``). These hosts run
with the limits scaled down (1 s, chains of 0.4 s) so the chain runs in seconds.
"""

from __future__ import annotations

from datetime import datetime, timedelta

import pytest

from devhost import StartupError, create_host
from devhost.cli import build_parser
from devhost.config import (
    LONG_TIMER_INTERVAL_VARIABLE,
    MAX_SHORT_TIMER_VARIABLE,
    TimerLimits,
    format_timespan,
    parse_duration,
    resolve_timer_limits,
)
from devhost.simulate.client import WEBHOOK, wait_until
from tests.devhost.conftest import HERE, SHORT_TIMER_LIMITS
from tests.devhost.toolkit import ToyClient

MAX_SHORT = SHORT_TIMER_LIMITS.max_short_timer
INTERVAL = SHORT_TIMER_LIMITS.long_timer_interval


def _time(text: str) -> datetime:
    return datetime.fromisoformat(text)


def _of_type(history: list[dict], event_type: str) -> list[dict]:
    return [e for e in history if e["EventType"] == event_type]


def _wait_custom_status(client: ToyClient, instance_id: str, value: str) -> None:
    wait_until(
        lambda: (client.status(instance_id) or {}).get("customStatus") == value,
        f"custom status {value!r}",
    )


def _wait_timers_created(client: ToyClient, instance_id: str, count: int) -> None:
    wait_until(
        lambda: len(_of_type(client.history(instance_id), "TimerCreated")) >= count,
        f"{count} timers created",
    )


def _assert_a_chain_ending_at(timers: list[dict], deadline: datetime) -> None:
    """Each timer of the chain is one interval on; only the last reaches the deadline.

    How many links the chain has depends on how late each replay runs (the SDK sets the last
    one once what is left fits a short timer), so only a chain's least is asserted.
    """
    assert len(timers) >= 2, timers
    for timer in timers[:-1]:
        assert _time(timer["FireAt"]) - _time(timer["Timestamp"]) == INTERVAL, timer
        assert _time(timer["FireAt"]) < deadline
    last = timers[-1]
    assert _time(last["FireAt"]) == deadline, last
    assert _time(last["FireAt"]) - _time(last["Timestamp"]) <= MAX_SHORT, last


def _assert_numbering(history: list[dict]) -> None:
    """IDs are handed out in order, and every completion names a scheduled task or timer."""
    allocated = [
        e["EventId"] for e in history if e["EventType"] in ("TaskScheduled", "TimerCreated")
    ]
    assert allocated == list(range(len(allocated)))
    timers = {e["EventId"] for e in _of_type(history, "TimerCreated")}
    assert all(e["TimerId"] in timers for e in _of_type(history, "TimerFired"))


# --- the context ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("duration", "text"),
    [
        (timedelta(days=6), "6.00:00:00"),
        (timedelta(days=3), "3.00:00:00"),
        (timedelta(seconds=2), "00:00:02"),
        (timedelta(milliseconds=400), "00:00:00.4000000"),
        (timedelta(days=1, hours=2, minutes=3, seconds=4), "1.02:03:04"),
    ],
)
def test_durations_are_written_as_dotnet_writes_a_timespan(duration, text):
    assert format_timespan(duration) == text
    assert parse_duration(text) == duration


def test_timer_limits_come_from_the_settings_or_default_to_azure_storage():
    assert resolve_timer_limits({}) == TimerLimits(timedelta(days=6), timedelta(days=3))
    scaled = {MAX_SHORT_TIMER_VARIABLE: "2", LONG_TIMER_INTERVAL_VARIABLE: "00:00:01"}
    assert resolve_timer_limits(scaled) == TimerLimits(timedelta(seconds=2), timedelta(seconds=1))
    for wrong in ({MAX_SHORT_TIMER_VARIABLE: "soon"}, {LONG_TIMER_INTERVAL_VARIABLE: "0"}):
        with pytest.raises(StartupError):
            resolve_timer_limits(wrong)
    with pytest.raises(StartupError, match="must not be longer than"):
        resolve_timer_limits({MAX_SHORT_TIMER_VARIABLE: "1", LONG_TIMER_INTERVAL_VARIABLE: "2"})


def test_the_command_line_takes_the_timer_limits():
    args = build_parser().parse_args(["--max-short-timer", "2", "--long-timer-interval", "1"])
    assert (args.max_short_timer, args.long_timer_interval) == ("2", "1")


def test_the_sdk_replays_with_schema_v3_and_azure_storages_timer_limits(toy):
    status = toy.client.wait_status(toy.client.start("toy_schema"))
    assert status["output"] == {
        "schema": "V3",
        "max_short_timer_s": timedelta(days=6).total_seconds(),
        "long_timer_interval_s": timedelta(days=3).total_seconds(),
    }, status


def test_the_sdk_sees_the_configured_timer_limits(toy_long_timers):
    client = toy_long_timers.client
    status = client.wait_status(client.start("toy_schema"))
    assert status["output"] == {
        "schema": "V3",
        "max_short_timer_s": MAX_SHORT.total_seconds(),
        "long_timer_interval_s": INTERVAL.total_seconds(),
    }, status


# --- long timers ---------------------------------------------------------------------------


def test_a_timer_beyond_the_max_short_timer_fires_through_a_chain(toy_long_timers):
    client = toy_long_timers.client
    instance_id = client.start("toy_timer", {"ms": 1500})
    status = client.wait_status(instance_id)
    assert status["runtimeStatus"] == "Completed", status
    assert status["output"]["elapsed_ms"] >= 1500, status
    history = client.history(instance_id)
    timers = _of_type(history, "TimerCreated")
    started = _time(timers[0]["Timestamp"])
    _assert_a_chain_ending_at(timers, started + timedelta(milliseconds=1500))
    fired = _of_type(history, "TimerFired")
    assert [f["TimerId"] for f in fired] == [t["EventId"] for t in timers]
    assert all(_time(f["Timestamp"]) >= _time(f["FireAt"]) for f in fired)
    _assert_numbering(history)


def test_a_short_timer_stays_one_timer(toy_long_timers):
    client = toy_long_timers.client
    instance_id = client.start("toy_timer", {"ms": 300})
    assert client.wait_status(instance_id)["runtimeStatus"] == "Completed"
    assert len(_of_type(client.history(instance_id), "TimerCreated")) == 1


def test_a_long_timer_that_wins_the_race_ends_it(toy_long_timers):
    client = toy_long_timers.client
    instance_id = client.start("toy_long_race", {"ms": 1500})
    status = client.wait_status(instance_id)
    assert status["output"] == {"winner": "timer"}, status
    history = client.history(instance_id)
    timers = _of_type(history, "TimerCreated")
    _assert_a_chain_ending_at(timers, _time(timers[0]["Timestamp"]) + timedelta(seconds=1.5))
    assert not _of_type(history, "EventRaised")


def test_an_event_beats_a_long_timer_whose_chain_runs_on_until_the_end(toy_long_timers):
    client = toy_long_timers.client
    instance_id = client.start("toy_long_race", {"ms": 60_000, "after_ms": 900})
    _wait_custom_status(client, instance_id, "racing")
    _wait_timers_created(client, instance_id, 2)  # the chain has moved on at least once

    url = f"{WEBHOOK}/instances/{instance_id}/raiseEvent/Go"
    assert client.send("POST", url, json="now").status_code == 202
    status = client.wait_status(instance_id)
    assert status["output"] == {"winner": "event", "value": "now", "doubled": 42}, status

    history = client.history(instance_id)
    raised_at = history.index(_of_type(history, "EventRaised")[0])
    after = history[raised_at:]
    # As in Azure, cancelling a long timer leaves its chain running while the orchestration
    # goes on: chain timers fire during the pause and schedule the next link.
    pause = next(t for t in _of_type(after, "TimerCreated") if t["FireAt"] != t["Timestamp"])
    chain_ids = {
        t["EventId"] for t in _of_type(history, "TimerCreated") if t["EventId"] != pause["EventId"]
    }
    assert any(f["TimerId"] in chain_ids for f in _of_type(after, "TimerFired")), after
    assert _of_type(history, "TaskCompleted")[-1]["Result"] == "42"
    _assert_numbering(history)


def test_a_long_timer_resumes_its_chain_after_a_restart(tmp_path, loop_thread):
    state = tmp_path / "state"
    first = create_host(HERE / "toyapp", state, port=0, timer_limits=SHORT_TIMER_LIMITS)
    loop_thread.run(first.start())
    try:
        client = ToyClient(first.base_url)
        instance_id = client.start("toy_timer", {"ms": 2000})
        _wait_timers_created(client, instance_id, 2)
    finally:
        loop_thread.run(first.stop())

    second = create_host(HERE / "toyapp", state, port=0, timer_limits=SHORT_TIMER_LIMITS)
    loop_thread.run(second.start())
    try:
        client = ToyClient(second.base_url)
        status = client.wait_status(instance_id)
        assert status["runtimeStatus"] == "Completed", status
        history = client.history(instance_id)
        timers = _of_type(history, "TimerCreated")
        _assert_a_chain_ending_at(timers, _time(timers[0]["Timestamp"]) + timedelta(seconds=2))
        _assert_numbering(history)
    finally:
        loop_thread.run(second.stop())


def test_v3_actions_not_nested_once_fail_the_instance_as_the_extension_does(toy):
    status = toy.client.wait_status(toy.client.start("toy_bad_state"))
    assert status["runtimeStatus"] == "Failed", status
    assert "With OOProc schema V3, expected actions array to be of length 1" in status["output"]
