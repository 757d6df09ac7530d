"""`/sim/settings`: the approval settings of the running app, and the one changed at run time.

The app reads its settings from the environment on every request, and devhost runs it in the
same process as the simulators, so a change here applies to the next request. Only the
approval timeout (`APPROVAL_TIMEOUT_MINUTES`) can be changed: the app reads it when a request is
submitted and gives the request its deadline then, so requests already waiting keep theirs.
Which environments need approval, and the approvals channel, stay as the app was started:
they must agree with each other (the app refuses to start otherwise) and with the approvers
set up for the demo.
"""

from __future__ import annotations

import math
from collections.abc import MutableMapping
from typing import Any

from aiohttp import web

from devhost.simulate.httputil import bad_request, json_answer, read_json_object
from shared import settings

SETTINGS_PATH = "/sim/settings"


def approval_timeout_minutes(environ: MutableMapping[str, str]) -> float:
    """The approval timeout the app uses (its default when unset or not a number)."""
    default = float(str(settings.OPTIONAL_DEFAULTS[settings.APPROVAL_TIMEOUT_MINUTES]))
    raw = (environ.get(settings.APPROVAL_TIMEOUT_MINUTES) or "").strip()
    try:
        value = float(raw) if raw else default
    except ValueError:
        return default
    return value if math.isfinite(value) else default


def approval_summary(environ: MutableMapping[str, str]) -> dict[str, Any]:
    """Which environments need approval, where requests go, and the timeout in minutes."""
    raw = environ.get(settings.APPROVAL_REQUIRED_ENVIRONMENTS) or ""
    return {
        "approval_required_environments": [n.strip().lower() for n in raw.split(",") if n.strip()],
        "approval_channel": (environ.get(settings.APPROVAL_CHANNEL) or "").strip() or None,
        "approval_timeout_minutes": approval_timeout_minutes(environ),
    }


class RuntimeSettings:
    """`GET /sim/settings` (the approval settings) and `POST` (a new approval timeout)."""

    def __init__(self, environ: MutableMapping[str, str]) -> None:
        """Read and change the settings in `environ`, the environment the app reads."""
        self._environ = environ

    def register(self, app: web.Application) -> None:
        """Add the routes to `app`."""
        app.router.add_get(SETTINGS_PATH, self._get)
        app.router.add_post(SETTINGS_PATH, self._post)

    async def _get(self, _request: web.Request) -> web.StreamResponse:
        return json_answer(approval_summary(self._environ))

    async def _post(self, request: web.Request) -> web.StreamResponse:
        data = await read_json_object(request)
        unknown = sorted(set(data) - {"approval_timeout_minutes"})
        if unknown:
            raise bad_request(f"only approval_timeout_minutes can change at run time: {unknown}")
        value = data.get("approval_timeout_minutes")
        low, high = settings.APPROVAL_MINUTES_RANGE
        if (
            isinstance(value, bool)
            or not isinstance(value, int | float)
            or not math.isfinite(value)
            or not low <= value <= high
        ):
            raise bad_request(
                f"'approval_timeout_minutes' must be a number from {low:g} to {high:g}"
            )
        self._environ[settings.APPROVAL_TIMEOUT_MINUTES] = f"{value:g}"
        return json_answer(approval_summary(self._environ))
