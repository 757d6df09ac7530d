"""A durable management API that is slow to answer, for testing the app's deadline.

`POST /sim/durable/faults {"method": "start"|"status", "delay": seconds, "times": n}` makes
the next n starts (`POST …/orchestrators/…`) or status reads (`GET …/instances/{id}`) of
devhost's durable API wait before they are handled; the request is then handled as usual,
so a start that Slack's deadline cut short still lands, once. Only delays are supported.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable

from aiohttp import web

from devhost.management import api_route
from devhost.simulate.faults import FaultQueue
from devhost.simulate.httputil import fault_handlers

STALL_KEYS = frozenset({"method", "times", "delay"})
METHODS = frozenset({"start", "status"})

Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]


def _method(request: web.Request) -> str | None:
    """Which stallable call a request is: a start, a status read, or neither."""
    found = api_route(request.method, request.path)
    return found[0] if found and found[0] in METHODS else None


class DurableStall:
    """Queued delays for devhost's durable management API."""

    def __init__(self) -> None:
        """Start with no delay queued."""
        self.faults = FaultQueue()

    def register(self, app: web.Application) -> None:
        """Add `/sim/durable/faults` and the middleware that applies the delays."""
        add, clear, pending = fault_handlers(self.faults, STALL_KEYS)
        app.router.add_post("/sim/durable/faults", self._checked(add))
        app.router.add_delete("/sim/durable/faults", clear)
        app.router.add_get("/sim/durable/faults", pending)
        app.middlewares.append(self._middleware)

    @staticmethod
    def _checked(add: Handler) -> Handler:
        async def handler(request: web.Request) -> web.StreamResponse:
            data = await request.json()
            if not isinstance(data, dict) or data.get("method") not in METHODS:
                raise web.HTTPBadRequest(text="'method' must be 'start' or 'status'")
            return await add(request)

        return handler

    @web.middleware
    async def _middleware(self, request: web.Request, handler: Handler) -> web.StreamResponse:
        method = _method(request)
        fault = self.faults.take(method) if method else None
        if fault is not None and fault.delay:
            await asyncio.sleep(fault.delay)
        return await handler(request)
