"""Small HTTP helpers shared by the simulators' aiohttp handlers."""

from __future__ import annotations

import json
import math
from collections.abc import Awaitable, Callable
from typing import Any

from aiohttp import web

from devhost.simulate import fields
from devhost.simulate.events import EventLog
from devhost.simulate.faults import FaultQueue, parse_fault

Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]


def json_answer(
    body: Any, status: int = 200, headers: dict[str, str] | None = None
) -> web.Response:
    """Return a JSON response with `Content-Type: application/json; charset=utf-8`."""
    return web.json_response(body, status=status, headers=headers)


_ERRORS: dict[int, type[web.HTTPException]] = {
    400: web.HTTPBadRequest,
    404: web.HTTPNotFound,
    422: web.HTTPUnprocessableEntity,
}


def bad_request(message: str, status: int = 400) -> web.HTTPException:
    """Return an exception answering `{"error": message}` with status 400, 404 or 422."""
    return _ERRORS[status](text=json.dumps({"error": message}), content_type="application/json")


async def read_json_object(request: web.Request) -> dict[str, Any]:
    """Return the request's JSON object body (an empty body counts as `{}`); 400 otherwise."""
    text = await request.text()
    if not text.strip():
        return {}
    try:
        data = json.loads(text)
    except ValueError:
        raise bad_request("the body must be JSON") from None
    if not isinstance(data, dict):
        raise bad_request("the body must be a JSON object")
    return data


def optional_str(data: dict[str, Any], key: str, default: str | None = None) -> str | None:
    """Return `data[key]` if it is a string (or `default` when absent); 400 otherwise."""
    value = data.get(key)
    if value is None:
        return default
    if not isinstance(value, str):
        raise bad_request(f"'{key}' must be a string")
    return value


def required_str(data: dict[str, Any], key: str) -> str:
    """Return `data[key]`, which must be a non-empty string; 400 otherwise."""
    value = optional_str(data, key)
    if not value:
        raise bad_request(f"'{key}' is required")
    return value


def optional_number(data: dict[str, Any], key: str, low: float, high: float) -> float | None:
    """Return `data[key]` as a float within [low, high], None when absent; 400 otherwise."""
    try:
        return fields.number(data, key, low, high)
    except ValueError as error:
        raise bad_request(str(error)) from None


def query_number(request: web.Request, key: str, default: float) -> float:
    """Return a numeric query parameter, or `default` when absent; 400 when not a number."""
    raw = request.query.get(key)
    if raw is None or raw == "":
        return default
    try:
        value = float(raw)
    except ValueError:
        raise bad_request(f"'{key}' must be a number") from None
    if not math.isfinite(value):
        raise bad_request(f"'{key}' must be a number")
    return value


def fault_handlers(faults: FaultQueue, allowed: frozenset[str]) -> tuple[Handler, Handler, Handler]:
    """Return (add, clear, list) handlers for a fault queue."""

    async def add(request: web.Request) -> web.StreamResponse:
        try:
            fault = parse_fault(await read_json_object(request), allowed)
        except ValueError as error:
            raise bad_request(str(error)) from None
        faults.add(fault)
        return json_answer({"faults": faults.describe()})

    async def clear(_request: web.Request) -> web.StreamResponse:
        faults.clear()
        return json_answer({"faults": []})

    async def pending(_request: web.Request) -> web.StreamResponse:
        return json_answer({"faults": faults.describe()})

    return add, clear, pending


def events_handler(log: EventLog, source: str | None) -> Handler:
    """Return a handler for `GET …/events?since=N&wait=S` (long poll up to S seconds)."""

    async def handler(request: web.Request) -> web.StreamResponse:
        since = int(query_number(request, "since", 0))
        wait = query_number(request, "wait", 0.0)
        events = await log.wait_since(since, source, wait)
        return json_answer({"events": events, "last_seq": log.last_seq})

    return handler
