"""Timer-triggered functions: run each on its NCRONTAB schedule, as the Functions host does.

Each timer function gets one task on the host's loop that waits for the schedule's next
occurrence (UTC), invokes the function with the ``TimerRequest`` the worker builds from the
host's JSON (``Schedule``, ``ScheduleStatus`` with ``Last``/``Next``/``LastUpdated``,
``IsPastDue``), then records the new schedule status in the store and waits again. Runs of one
function never overlap: an occurrence that passes while the previous run is still going is
skipped, as the host skips it.

As the host's schedule monitor does (``useMonitor``; on by default unless the schedule runs
more than once a minute): at start, a function whose recorded next occurrence has passed
(devhost was down) runs at once with ``IsPastDue`` true; otherwise, with ``runOnStartup`` set,
it runs at once with ``IsPastDue`` false. ``POST /admin/functions/{name}`` runs one now,
outside the schedule.
"""

from __future__ import annotations

import asyncio
import json
import logging
import os
import re
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from devhost.config import StartupError
from devhost.functions import DURABLE_CLIENT, TIMER_TRIGGER, LoadedFunction
from devhost.invocation import (
    HTTP_REASON,
    Invoker,
    durable_client_value,
    timer_request,
    user_traceback,
)
from devhost.ncrontab import Schedule, ScheduleError
from devhost.store import Store, TimerStatus

log = logging.getLogger("devhost")

# How .NET writes a DateTime that was never set: the host's ``Last`` before the first run.
NEVER = "0001-01-01T00:00:00"
_SETTING_REFERENCE = re.compile(r"^%([^%]+)%$")


def _now() -> datetime:
    return datetime.now(UTC)


def _iso(moment: datetime) -> str:
    return moment.astimezone(UTC).isoformat()


def _parse(text: str) -> datetime:
    moment = datetime.fromisoformat(text)
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


def resolve_schedule(function: LoadedFunction, environ: Mapping[str, str]) -> Schedule:
    """The function's schedule, with a ``%Setting%`` reference resolved from the settings."""
    expression = str(function.spec.trigger.settings["schedule"]).strip()
    reference = _SETTING_REFERENCE.match(expression)
    if reference:
        value = environ.get(reference.group(1))
        if value is None:
            raise StartupError(
                f"function '{function.name}': the schedule refers to the setting "
                f"'{reference.group(1)}', which is not set"
            )
        expression = value.strip()
    try:
        schedule = Schedule.parse(expression)
    except ScheduleError as exc:
        raise StartupError(f"function '{function.name}': invalid schedule: {exc}") from None
    if schedule.next_after(_now()) is None:
        raise StartupError(f"function '{function.name}': the schedule '{expression}' never occurs")
    return schedule


def _monitored(function: LoadedFunction, schedule: Schedule) -> bool:
    """``useMonitor`` as set, else as the host defaults it: off when it runs twice a minute."""
    setting = function.spec.trigger.settings.get("useMonitor")
    if isinstance(setting, bool):
        return setting
    now = _now()
    first = schedule.next_after(now)
    second = schedule.next_after(first) if first is not None else None
    return second is None or second >= now + timedelta(minutes=1)


@dataclass
class _Timer:
    function: LoadedFunction
    schedule: Schedule
    run_on_startup: bool
    monitored: bool
    status: TimerStatus
    task: asyncio.Task[None] | None = None


@dataclass(frozen=True)
class _TimerSpec:
    function: LoadedFunction
    schedule: Schedule
    run_on_startup: bool
    monitored: bool


class TimerFunctions:
    """Runs the app's timer functions while the host runs."""

    def __init__(
        self,
        functions: Iterable[LoadedFunction],
        invoker: Invoker,
        store: Store,
        client_binding: Callable[[], str],
        environ: Mapping[str, str] | None = None,
    ) -> None:
        """Resolve every timer function's schedule; raise ``StartupError`` if one is invalid."""
        settings = os.environ if environ is None else environ
        self._specs: dict[str, _TimerSpec] = {}
        for function in functions:
            if function.spec.kind != TIMER_TRIGGER:
                continue
            schedule = resolve_schedule(function, settings)
            self._specs[function.name] = _TimerSpec(
                function=function,
                schedule=schedule,
                run_on_startup=bool(function.spec.trigger.settings.get("runOnStartup", False)),
                monitored=_monitored(function, schedule),
            )
        self._timers: dict[str, _Timer] = {}
        self._invoker = invoker
        self._store = store
        self._client_binding = client_binding
        self._manual: set[asyncio.Task[bool]] = set()

    def __contains__(self, name: object) -> bool:
        """Whether ``name`` is a timer function."""
        return name in self._specs

    def describe(self, name: str) -> str:
        """``schedule (UTC; next ...)`` for the startup listing."""
        spec = self._specs[name]
        timer = self._timers.get(name)
        upcoming = timer.status.next if timer is not None else "not scheduled yet"
        return f"{spec.schedule.expression} (UTC; next {upcoming})"

    def start(self) -> None:
        """Check each schedule for a missed run and start waiting for the next occurrence."""
        now = _now()
        loop = asyncio.get_running_loop()
        for name, spec in self._specs.items():
            status, past_due = self._load_status(spec, now)
            timer = _Timer(
                spec.function, spec.schedule, spec.run_on_startup, spec.monitored, status
            )
            self._timers[name] = timer
            timer.task = loop.create_task(self._run_schedule(timer, past_due=past_due))

    def _load_status(self, spec: _TimerSpec, now: datetime) -> tuple[TimerStatus, bool]:
        """The recorded schedule status, and whether a run was missed while devhost was down."""
        name = spec.function.name
        expression = spec.schedule.expression
        recorded = self._store.timer_status(name) if spec.monitored else None
        if recorded is not None and recorded.schedule != expression:
            # A changed schedule: the host judges the missed run by the new schedule.
            since = _parse(recorded.last or recorded.last_updated)
            upcoming = spec.schedule.next_after(since)
            recorded = (
                TimerStatus(expression, recorded.last, _iso(upcoming), recorded.last_updated)
                if upcoming is not None
                else None
            )
        if recorded is not None:
            return recorded, _parse(recorded.next) < now
        upcoming = spec.schedule.next_after(now) or now
        status = TimerStatus(expression, None, _iso(upcoming), _iso(now))
        if spec.monitored:
            self._store.save_timer_status(name, status)
        return status, False

    async def _run_schedule(self, timer: _Timer, *, past_due: bool) -> None:
        if past_due:
            if not await self._invoke(timer, past_due=True, record=True):
                return
        elif timer.run_on_startup:
            await self._invoke(timer, past_due=False, record=False)
        while True:
            occurrence = _parse(timer.status.next)
            while (remaining := (occurrence - _now()).total_seconds()) > 0:
                await asyncio.sleep(remaining)
            if not await self._invoke(timer, past_due=False, record=True):
                return

    def _request_json(self, timer: _Timer, *, past_due: bool) -> str:
        status = timer.status
        schedule_status = {
            "Last": status.last or NEVER,
            "Next": status.next,
            "LastUpdated": status.last_updated,
        }
        return json.dumps(
            {
                "Schedule": {"AdjustForDST": True},
                "ScheduleStatus": schedule_status,
                "IsPastDue": past_due,
            }
        )

    async def _invoke(
        self, timer: _Timer, *, past_due: bool, record: bool, reason: str | None = None
    ) -> bool:
        """Run the function once; with ``record`` (a scheduled run), move the schedule on.

        Returns whether the schedule has a next occurrence.
        """
        function = timer.function
        started = _now()
        arguments: dict[str, Any] = {
            function.spec.trigger.name: timer_request(self._request_json(timer, past_due=past_due))
        }
        for name in function.spec.names_of(DURABLE_CLIENT):
            arguments[name] = durable_client_value(self._client_binding())
        try:
            await self._invoker.invoke(
                function, arguments, reason=reason or f"Timer fired at {_iso(started)}"
            )
        except Exception as exc:
            log.error(
                "Exception while executing function: Functions.%s\n%s",
                function.name,
                user_traceback(exc).rstrip(),
            )
        if not record:
            return True
        now = _now()
        fired = _parse(timer.status.next)
        upcoming = timer.schedule.next_after(max(fired, now))
        if upcoming is None:
            log.warning("Timer function '%s' has no further occurrence", function.name)
            return False
        timer.status = TimerStatus(
            timer.schedule.expression, _iso(fired), _iso(upcoming), _iso(now)
        )
        if timer.monitored:
            self._store.save_timer_status(function.name, timer.status)
        return True

    def run_now(self, name: str) -> None:
        """Run a timer function now, in the background, outside its schedule (admin API)."""
        timer = self._timers[name]
        task = asyncio.get_running_loop().create_task(
            self._invoke(timer, past_due=False, record=False, reason=HTTP_REASON)
        )
        self._manual.add(task)
        task.add_done_callback(self._manual.discard)

    async def close(self) -> None:
        """Stop every schedule and manual run."""
        tasks = [t.task for t in self._timers.values() if t.task is not None] + list(self._manual)
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
