"""Slack and cache-flush simulators for `python -m devhost --simulate`.

`Simulators` fills the app's unset Slack and cache-flush settings with values
pointing at the simulators and registers their `/sim/…` routes on devhost's
aiohttp application. See README.md in this folder for every endpoint.
"""

from __future__ import annotations

import time
from collections.abc import Callable, MutableMapping

from aiohttp import web

from devhost.simulate.cache_flush import CacheFlushSimulator
from devhost.simulate.durable_stall import DurableStall
from devhost.simulate.events import EventLog
from devhost.simulate.httputil import events_handler, json_answer
from devhost.simulate.page import DemoPage
from devhost.simulate.runtime_settings import RuntimeSettings
from devhost.simulate.settings import NOTICES_CHANNEL_NAME, LocalSecrets, simulator_settings
from devhost.simulate.slack import SlackSimulator
from devhost.simulate.slack_surfaces import SlackSurfaces

__all__ = ["Simulators"]


class Simulators:
    """The Slack and cache-flush simulators served by devhost next to the app."""

    def __init__(
        self,
        base_url: str,
        environ: MutableMapping[str, str],
        *,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        """Fill unset or empty settings in `environ` with simulator defaults.

        Settings already set are kept, and both the simulators and the app read
        them from `environ`, so they always agree. `clock` (monotonic seconds)
        ages Slack trigger IDs; tests pass a fake one.
        """
        base = base_url.rstrip("/")
        defaults = simulator_settings(base, LocalSecrets.generate())
        defaults["SLACK_CHANNEL_NAME"] = NOTICES_CHANNEL_NAME
        for name, value in defaults.items():
            if not environ.get(name):
                environ[name] = value
        self.events = EventLog()
        self.slack = SlackSimulator(base, environ, self.events, clock)
        self.slack_surfaces = SlackSurfaces(self.slack, self.events)
        self.cache_flush = CacheFlushSimulator(environ, self.events)
        self.page = DemoPage(environ)
        self.durable_stall = DurableStall()
        self.runtime_settings = RuntimeSettings(environ)

    def register(self, app: web.Application) -> None:
        """Add every `/sim/…` route (and the demo page) to devhost's application."""
        self.slack.register(app)
        self.slack_surfaces.register(app)
        self.cache_flush.register(app)
        self.page.register(app)
        self.durable_stall.register(app)
        self.runtime_settings.register(app)
        app.router.add_get("/sim/events", events_handler(self.events, None))
        app.router.add_post("/sim/reset", self._reset)

    async def _reset(self, _request: web.Request) -> web.StreamResponse:
        self.slack.reset()
        self.slack_surfaces.reset()
        self.cache_flush.reset()
        self.durable_stall.faults.clear()
        return json_answer({"reset": True})
