"""Host configuration: ``host.json``, ``local.settings.json`` and the startup error type."""

from __future__ import annotations

import json
import re
from collections.abc import Mapping, MutableMapping
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path
from typing import Any

ANY_STATE = "AnyState"
NON_RUNNING_STATES = "NonRunningStates"
DEFAULT_HUB_NAME = "TestHubName"
DEFAULT_ROUTE_PREFIX = "api"
# What the Durable extension tells the Python SDK with the Azure Storage provider.
DEFAULT_MAX_SHORT_TIMER = timedelta(days=6)
DEFAULT_LONG_TIMER_INTERVAL = timedelta(days=3)
MAX_SHORT_TIMER_VARIABLE = "DEVHOST_MAX_SHORT_TIMER"
LONG_TIMER_INTERVAL_VARIABLE = "DEVHOST_LONG_TIMER_INTERVAL"
_TIMESPAN = re.compile(r"^(?:(\d+)\.)?(\d{2}):(\d{2}):(\d{2})(?:\.(\d{1,7}))?$")
_TICKS_PER_MICROSECOND = 10


class StartupError(Exception):
    """devhost cannot start; the message is a one-line reason for the user."""


@dataclass(frozen=True)
class HostConfig:
    """The parts of ``host.json`` devhost honours."""

    route_prefix: str = DEFAULT_ROUTE_PREFIX
    hub_name: str = DEFAULT_HUB_NAME
    overridable_existing_instance_states: str = ANY_STATE
    functions: tuple[str, ...] | None = None


@dataclass(frozen=True)
class TimerLimits:
    """The storage provider's timer limits the extension passes to the orchestrator.

    A durable timer further away than ``max_short_timer`` becomes, in the SDK, a chain of
    timers ``long_timer_interval`` apart (the last one at the requested time).
    """

    max_short_timer: timedelta = DEFAULT_MAX_SHORT_TIMER
    long_timer_interval: timedelta = DEFAULT_LONG_TIMER_INTERVAL


def parse_duration(text: str) -> timedelta:
    """Read a duration: seconds (``2``, ``0.5``) or a .NET TimeSpan (``6.00:00:00``)."""
    value = text.strip()
    match = _TIMESPAN.match(value)
    if match:
        days, hours, minutes, seconds, fraction = match.groups()
        ticks = int((fraction or "0").ljust(7, "0"))
        return timedelta(
            days=int(days or 0),
            hours=int(hours),
            minutes=int(minutes),
            seconds=int(seconds),
            microseconds=ticks // _TICKS_PER_MICROSECOND,
        )
    try:
        return timedelta(seconds=float(value))
    except (ValueError, OverflowError):
        raise ValueError(f"{text!r} is neither seconds nor a d.hh:mm:ss duration") from None


def format_timespan(duration: timedelta) -> str:
    """Write a duration as .NET's ``TimeSpan.ToString()`` does (what the extension sends)."""
    total = duration // timedelta(microseconds=1)
    seconds, microseconds = divmod(total, 1_000_000)
    minutes, second = divmod(seconds, 60)
    hours, minute = divmod(minutes, 60)
    days, hour = divmod(hours, 24)
    text = f"{hour:02d}:{minute:02d}:{second:02d}"
    if days:
        text = f"{days}.{text}"
    if microseconds:
        text += f".{microseconds * _TICKS_PER_MICROSECOND:07d}"
    return text


def resolve_timer_limits(environ: Mapping[str, str]) -> TimerLimits:
    """Timer limits from the environment's settings, else Azure Storage's 6 and 3 days."""
    chosen = []
    for variable, default in (
        (MAX_SHORT_TIMER_VARIABLE, DEFAULT_MAX_SHORT_TIMER),
        (LONG_TIMER_INTERVAL_VARIABLE, DEFAULT_LONG_TIMER_INTERVAL),
    ):
        text = environ.get(variable, "").strip()
        if not text:
            chosen.append(default)
            continue
        try:
            duration = parse_duration(text)
        except ValueError as exc:
            raise StartupError(f"{variable}: {exc}") from None
        if duration <= timedelta(0):
            raise StartupError(f"{variable} must be longer than zero")
        chosen.append(duration)
    limits = TimerLimits(*chosen)
    if limits.long_timer_interval > limits.max_short_timer:
        raise StartupError(
            f"{LONG_TIMER_INTERVAL_VARIABLE} must not be longer than {MAX_SHORT_TIMER_VARIABLE}"
        )
    return limits


def _read_json(path: Path) -> Any:
    try:
        return json.loads(path.read_text(encoding="utf-8-sig"))
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise StartupError(f"{path.name} is not valid JSON: {exc}") from None


def _section(document: dict[str, Any], *keys: str) -> dict[str, Any]:
    """Return the nested object at ``keys`` (case-insensitive), or an empty one."""
    current: Any = document
    for key in keys:
        if not isinstance(current, dict):
            return {}
        current = next((v for k, v in current.items() if k.lower() == key.lower()), {})
    return current if isinstance(current, dict) else {}


def _get(section: dict[str, Any], key: str) -> Any:
    return next((v for k, v in section.items() if k.lower() == key.lower()), None)


def load_host_config(app_root: Path) -> HostConfig:
    """Read ``host.json`` from the app root (all defaults when it is absent)."""
    path = app_root / "host.json"
    if not path.is_file():
        return HostConfig()
    document = _read_json(path)
    if not isinstance(document, dict):
        raise StartupError("host.json must hold a JSON object")

    route_prefix = _get(_section(document, "extensions", "http"), "routePrefix")
    if route_prefix is None:
        route_prefix = DEFAULT_ROUTE_PREFIX
    if not isinstance(route_prefix, str):
        raise StartupError("host.json: extensions.http.routePrefix must be a string")

    durable = _section(document, "extensions", "durableTask")
    hub_name = _get(durable, "hubName") or DEFAULT_HUB_NAME
    if not isinstance(hub_name, str):
        raise StartupError("host.json: extensions.durableTask.hubName must be a string")

    states = _get(durable, "overridableExistingInstanceStates") or ANY_STATE
    normalised = {ANY_STATE.lower(): ANY_STATE, NON_RUNNING_STATES.lower(): NON_RUNNING_STATES}
    if not isinstance(states, str) or states.lower() not in normalised:
        raise StartupError(
            "host.json: extensions.durableTask.overridableExistingInstanceStates must be "
            f"{ANY_STATE!r} or {NON_RUNNING_STATES!r}"
        )

    functions = _get(document, "functions")
    if functions is not None and (
        not isinstance(functions, list) or not all(isinstance(f, str) for f in functions)
    ):
        raise StartupError("host.json: 'functions' must be a list of function names")

    return HostConfig(
        route_prefix=route_prefix.strip("/"),
        hub_name=hub_name,
        overridable_existing_instance_states=normalised[states.lower()],
        functions=tuple(functions) if functions is not None else None,
    )


def load_local_settings(app_root: Path, environ: MutableMapping[str, str]) -> list[str]:
    """Copy ``local.settings.json`` ``Values`` into ``environ``; variables already set win.

    Returns the names that were set, so the caller can report them (never their values).
    """
    path = app_root / "local.settings.json"
    if not path.is_file():
        return []
    document = _read_json(path)
    if not isinstance(document, dict):
        raise StartupError("local.settings.json must hold a JSON object")
    if document.get("IsEncrypted") is True:
        raise StartupError("local.settings.json is encrypted; devhost reads plain settings only")
    values = document.get("Values") or {}
    if not isinstance(values, dict):
        raise StartupError("local.settings.json: 'Values' must be an object")

    applied = []
    for name, value in values.items():
        if value is None or name in environ:
            continue
        if isinstance(value, bool):
            text = "true" if value else "false"
        elif isinstance(value, str | int | float):
            text = str(value)
        else:
            raise StartupError(f"local.settings.json: value of {name!r} must be a string")
        environ[name] = text
        applied.append(name)
    return applied
