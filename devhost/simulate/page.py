"""The demo page at `/sim/slack/`: a Slack-like client for the simulators, in a browser.

The page itself is static (`web/index.html`, `app.css`, `app.js`, no build step, nothing
fetched from elsewhere); it drives the simulators' own endpoints (`/sim/slack/command`,
`/submit`, `/close`, `/click`, `/views`, `/messages`, `/sim/events`). This module serves those files
and a small JSON description of the demo: who the user can be, where notices go and where
approval requests are posted.
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path

from aiohttp import web

from devhost.simulate.demo_users import (
    ALLOWED_DEMO_USER,
    APPROVER_DEMO_USER,
    DEMO_USERGROUPS,
    DEMO_USERS,
)
from devhost.simulate.httputil import json_answer
from devhost.simulate.slack_user import COMMAND_CHANNEL_ID, COMMAND_CHANNEL_NAME
from devhost.simulate.slack_workspace import TEAM_DOMAIN

PAGE_PATH = "/sim/slack/"
WEB_DIR = Path(__file__).with_name("web")
ASSETS = {"app.css": "text/css; charset=utf-8", "app.js": "text/javascript; charset=utf-8"}
# The page loads only its own files and talks only to this server.
_HEADERS = {
    "Content-Security-Policy": (
        "default-src 'none'; script-src 'self'; style-src 'self'; connect-src 'self'; "
        "img-src 'self' data:; base-uri 'none'; form-action 'none'; frame-ancestors 'none'"
    ),
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "no-referrer",
    "Cache-Control": "no-cache",
}


class DemoPage:
    """Serves the page, its assets, and `GET /sim/slack/demo` (users and channels)."""

    def __init__(self, environ: Mapping[str, str]) -> None:
        """Read the notices channel from `environ` when the page asks for it."""
        self._environ = environ

    def register(self, app: web.Application) -> None:
        """Add the page's routes to `app`."""
        app.router.add_get(PAGE_PATH.rstrip("/"), self._redirect)
        app.router.add_get(PAGE_PATH, self._index)
        app.router.add_get(PAGE_PATH + "web/{name}", self._asset)
        app.router.add_get(PAGE_PATH + "demo", self._demo)

    async def _redirect(self, _request: web.Request) -> web.StreamResponse:
        raise web.HTTPFound(PAGE_PATH)

    async def _index(self, _request: web.Request) -> web.StreamResponse:
        headers = {**_HEADERS, "Content-Type": "text/html; charset=utf-8"}
        return web.FileResponse(WEB_DIR / "index.html", headers=headers)

    async def _asset(self, request: web.Request) -> web.StreamResponse:
        name = request.match_info["name"]
        if name not in ASSETS:
            raise web.HTTPNotFound
        headers = {**_HEADERS, "Content-Type": ASSETS[name]}
        return web.FileResponse(WEB_DIR / name, headers=headers)

    async def _demo(self, _request: web.Request) -> web.StreamResponse:
        return json_answer(
            {
                "workspace": TEAM_DOMAIN,
                "users": [
                    {
                        "id": user_id,
                        "name": name,
                        "allowed": (user_id, name) in (ALLOWED_DEMO_USER, APPROVER_DEMO_USER),
                        "approver": (user_id, name) == APPROVER_DEMO_USER,
                        "usergroups": [g for g, ids in DEMO_USERGROUPS.items() if user_id in ids],
                    }
                    for user_id, name in DEMO_USERS
                ],
                "command_channel": {"id": COMMAND_CHANNEL_ID, "name": COMMAND_CHANNEL_NAME},
                "notices_channel": self._environ.get("SLACK_CHANNEL_NAME") or None,
                "approvals_channel": self._environ.get("APPROVAL_CHANNEL") or None,
            }
        )
