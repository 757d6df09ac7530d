"""Timer triggers: NCRONTAB schedules, runs with a durable client, past-due runs, admin runs."""

from __future__ import annotations

import itertools
import json
import shutil
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from devhost import DevHost, StartupError, create_host
from devhost.functions import import_function, read_function_spec
from devhost.ncrontab import Schedule, ScheduleError
from devhost.simulate.client import wait_until
from devhost.store import Store
from devhost.timers import NEVER
from tests.devhost.conftest import HERE
from tests.devhost.toolkit import ToyClient, write_app

TIMER_APP = HERE / "timerapp"
SETTINGS = {"NIGHTLY_SCHEDULE": "0 30 3 * * *"}


@contextmanager
def _timer_host(loop_thread, state_dir: Path) -> Iterator[tuple[DevHost, ToyClient]]:
    host = create_host(TIMER_APP, state_dir, port=0, environ=dict(SETTINGS))
    loop_thread.run(host.start())
    try:
        yield host, ToyClient(host.base_url)
    finally:
        loop_thread.run(host.stop())


def _records(client: ToyClient, prefix: str) -> list[dict[str, Any]]:
    """What each run of a timer function saw, oldest first (by its schedule status)."""
    runs = [json.loads(s["input"]) for s in client.instances(instanceIdPrefix=prefix)]
    return sorted(runs, key=lambda run: run["scheduleStatus"]["LastUpdated"])


def test_timer_functions_run_on_schedule_with_a_durable_client(loop_thread, tmp_path):
    with _timer_host(loop_thread, tmp_path / "state") as (host, client):
        listing = "\n".join(host.describe())
        assert "tick: timerTrigger * * * * * * (UTC; next " in listing
        assert "nightly: timerTrigger 0 30 3 * * * (UTC; next " in listing
        runs = wait_until(lambda: (r := _records(client, "tick-")) and len(r) >= 3 and r, "ticks")
        # runOnStartup: one run at start, not past due; the yearly schedule is not due.
        (startup,) = wait_until(lambda: _records(client, "startup-"), "the startup run")
        assert startup["pastDue"] is False
        assert _records(client, "nightly-") == []

    assert {run["pastDue"] for run in runs} == {False}
    statuses = [run["scheduleStatus"] for run in runs]
    assert statuses[0]["Last"] == NEVER
    for earlier, later in itertools.pairwise(statuses):
        assert later["Last"] == earlier["Next"]  # each run moves the schedule on by one
    for status in statuses:
        occurrence = datetime.fromisoformat(status["Next"])
        assert occurrence.microsecond == 0
        assert occurrence.tzinfo is not None


def test_the_admin_api_runs_a_timer_function_now(loop_thread, tmp_path, toy):
    with _timer_host(loop_thread, tmp_path / "state") as (_, client):
        response = client.send("POST", "/admin/functions/nightly", json={"input": ""})
        assert response.status_code == 202
        (run,) = wait_until(lambda: _records(client, "nightly-"), "the nightly run")
        assert run["pastDue"] is False
        assert client.send("POST", "/admin/functions/nobody", json={"input": ""}).status_code == 404
    # Only timer functions run this way.
    refused = toy.client.send("POST", "/admin/functions/toy_echo", json={"input": ""})
    assert refused.status_code == 400


def test_a_run_missed_while_devhost_was_down_is_past_due_after_restart(loop_thread, tmp_path):
    state_dir = tmp_path / "state"
    with _timer_host(loop_thread, state_dir) as (_, client):
        wait_until(lambda: _records(client, "tick-"), "a first tick")
    store = Store(state_dir)
    try:
        missed = store.timer_status("tick")
        nightly = store.timer_status("nightly")
    finally:
        store.close()
    assert missed is not None
    assert nightly is not None
    wait_until(
        lambda: datetime.now(UTC) > datetime.fromisoformat(missed.next), "the next tick to pass"
    )

    with _timer_host(loop_thread, state_dir) as (_, client):
        late = wait_until(
            lambda: [r for r in _records(client, "tick-") if r["pastDue"]], "the past-due run"
        )
        assert late[0]["scheduleStatus"]["Next"] == missed.next
        assert late[0]["scheduleStatus"]["Last"] == (missed.last or NEVER)
        # The nightly run is not due yet: it did not run, late or otherwise.
        assert _records(client, "nightly-") == []
    assert len(late) == 1


def test_the_schedule_monitor_is_off_by_default_for_sub_minute_schedules(loop_thread, tmp_path):
    """As on the host: no status kept, so no past-due run, for a schedule running twice a minute."""
    source = TIMER_SOURCE.format(annotation="func.TimerRequest").replace(", starter: str", "")
    files: dict[str, Any] = {"host.json": {"version": "2.0"}}
    for name, schedule in (("fast", "*/20 * * * * *"), ("slow", "0 0 * * * *")):
        trigger = {"type": "timerTrigger", "direction": "in", "name": "timer", "schedule": schedule}
        files[f"{name}/function.json"] = {"bindings": [trigger]}
        files[f"{name}/__init__.py"] = source
    app = write_app(tmp_path / "app", files)
    host = create_host(app, tmp_path / "state", port=0, environ={})
    loop_thread.run(host.start())
    loop_thread.run(host.stop())
    store = Store(tmp_path / "state")
    try:
        assert store.timer_status("fast") is None
        assert store.timer_status("slow") is not None
    finally:
        store.close()


def test_a_timer_schedule_can_come_from_a_setting_and_must_be_valid(loop_thread, tmp_path):
    app = tmp_path / "app"
    shutil.copytree(TIMER_APP, app)
    host = create_host(app, tmp_path / "state", port=0, environ={})
    with pytest.raises(StartupError, match=r"function 'nightly'.*'NIGHTLY_SCHEDULE', which is not"):
        loop_thread.run(host.start())
    bad = create_host(app, tmp_path / "state2", port=0, environ={"NIGHTLY_SCHEDULE": "0 30 3 * *"})
    with pytest.raises(
        StartupError, match=r"function 'nightly': invalid schedule: .* has 5 fields"
    ):
        loop_thread.run(bad.start())


@pytest.mark.parametrize(
    ("expression", "after", "expected"),
    [
        ("0 30 3 * * *", "2026-12-03T12:00:00", "2026-12-04T03:30:00"),
        ("0 30 3 * * *", "2026-12-04T03:29:59.900", "2026-12-04T03:30:00"),
        ("0 30 3 * * *", "2026-12-04T03:30:00", "2026-12-05T03:30:00"),
        ("*/15 * * * * *", "2026-12-03T12:00:14", "2026-12-03T12:00:15"),
        ("0 0 */6 * * *", "2026-12-03T13:00:00", "2026-12-03T18:00:00"),
        ("0 0 9 * * MON-FRI", "2026-12-04T10:00:00", "2026-12-07T09:00:00"),  # Fri -> Mon
        ("0 0 0 13 * fri", "2026-01-01T00:00:00", "2026-02-13T00:00:00"),  # day AND weekday
        ("0 0 0 29 FEB *", "2026-03-01T00:00:00", "2028-02-29T00:00:00"),
        ("5/20 1,2 0 1 1 0", "2026-01-01T00:00:00", "2034-01-01T00:01:05"),
        ("59 59 23 31 12 *", "2026-12-31T23:59:59", "2027-12-31T23:59:59"),
    ],
)
def test_ncrontab_next_occurrence(expression, after, expected):
    moment = datetime.fromisoformat(after).replace(tzinfo=UTC)
    assert Schedule.parse(expression).next_after(moment) == datetime.fromisoformat(
        expected
    ).replace(tzinfo=UTC)


def test_an_impossible_date_has_no_occurrence():
    assert Schedule.parse("0 0 0 30 2 *").next_after(datetime(2026, 1, 1, tzinfo=UTC)) is None


@pytest.mark.parametrize(
    ("expression", "reason"),
    [
        ("0 30 3 * *", "has 5 fields"),
        ("0 30 3 * * * *", "has 7 fields"),
        ("60 * * * * *", "second 60 is outside 0-59"),
        ("0 0 24 * * *", "hour 24 is outside 0-23"),
        ("0 0 0 0 * *", "day 0 is outside 1-31"),
        ("0 0 0 * 13 *", "month 13 is outside 1-12"),
        ("0 0 0 * * 7", "day of week 7 is outside 0-6"),
        ("0 0 10-2 * * *", "runs backwards"),
        ("*/0 * * * * *", "not a valid step"),
        ("0 0 0 * * FUN", "'FUN' is not a valid day of week"),
        ("0 0 0 1, * *", "empty item"),
    ],
)
def test_ncrontab_refuses_invalid_expressions(expression, reason):
    with pytest.raises(ScheduleError, match=reason):
        Schedule.parse(expression)


TIMER_SOURCE = """import azure.functions as func


def main(timer: {annotation}, starter: str) -> None:
    return None
"""


def timer_function(tmp_path: Path, annotation: str) -> Path:
    """Write an app of one timer function (tmr) whose timer is annotated `annotation`."""
    bindings = [
        {"type": "timerTrigger", "direction": "in", "name": "timer", "schedule": "0 * * * * *"},
        {"type": "durableClient", "direction": "in", "name": "starter"},
    ]
    write_app(
        tmp_path,
        {
            "tmr/function.json": {"bindings": bindings},
            "tmr/__init__.py": TIMER_SOURCE.format(annotation=annotation),
        },
    )
    return tmp_path / "tmr"


@pytest.mark.parametrize("annotation", ["func.TimerRequest", "str"])
def test_the_worker_accepts_a_timer_request_and_a_client_string(tmp_path, annotation):
    folder = timer_function(tmp_path, annotation)
    loaded = import_function(tmp_path, read_function_spec(tmp_path, folder))
    assert loaded.spec.kind == "timerTrigger"


def test_the_worker_refuses_a_timer_binding_annotated_as_an_http_request(tmp_path):
    folder = timer_function(tmp_path, "func.HttpRequest")
    with pytest.raises(StartupError) as raised:
        import_function(tmp_path, read_function_spec(tmp_path, folder))
    assert str(raised.value) == (
        'cannot load the tmr function: type of timer binding in function.json "timerTrigger" '
        'does not match its Python annotation "HttpRequest"'
    )
