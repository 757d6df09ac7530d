"""The App Home tab of each simulated user, and `views.publish`, as Slack keeps them.

One Home view per user: the first `views.publish` for a user gives it a new `V…` ID, later
ones replace its content and keep that ID, and every publish issues a new `hash`. A `hash`
sent with `views.publish` must be the current one (`hash_conflict` otherwise), which is how an
app avoids overwriting a newer Home view with an older one.
"""

from __future__ import annotations

import copy
import json
import re
from dataclasses import dataclass, field
from typing import Any

from devhost.simulate.events import EventLog, utc_now_iso
from devhost.simulate.slack_blocks import MAX_MODAL_BLOCKS, check_blocks
from devhost.simulate.slack_workspace import (
    TEAM_ID,
    Answer,
    SlackWorkspace,
    fail,
    materialize_view,
)

# Slack refuses a view larger than 250 kB (`view_too_large`).
MAX_VIEW_BYTES = 250_000
_USER_ID = re.compile(r"^[UW][A-Z0-9]{2,}$")
_STRING_LIMITS = {"private_metadata": 3000, "callback_id": 255, "external_id": 255}


def check_home_view(view: Any) -> list[str]:
    """Return Slack-style errors for a Home tab view (empty when acceptable)."""
    if not isinstance(view, dict):
        return ["[ERROR] must be a view object [json-pointer:/view]"]
    errors: list[str] = []
    if view.get("type") != "home":
        errors.append("[ERROR] must be `home` [json-pointer:/view/type]")
    errors.extend(check_blocks(view.get("blocks"), "/view/blocks", MAX_MODAL_BLOCKS))
    for key, limit in _STRING_LIMITS.items():
        value = view.get(key)
        if value is not None and (not isinstance(value, str) or len(value) > limit):
            errors.append(
                f"[ERROR] must be a string of at most {limit} characters [json-pointer:/view/{key}]"
            )
    return errors


@dataclass
class HomeRecord:
    """A user's Home tab: the published view and how often it was published."""

    user_id: str
    view: dict[str, Any]
    published_at: str = field(default_factory=utc_now_iso)
    publishes: int = 1

    def snapshot(self) -> dict[str, Any]:
        """Return a JSON-ready copy for `/sim/slack/home`."""
        return {
            "user_id": self.user_id,
            "published_at": self.published_at,
            "publishes": self.publishes,
            "view": copy.deepcopy(self.view),
        }


class HomeTabs:
    """Every user's Home tab in the simulated workspace; serves `views.publish`."""

    def __init__(self, workspace: SlackWorkspace, events: EventLog) -> None:
        """Keep Home views next to `workspace` (which issues their IDs)."""
        self._workspace = workspace
        self._events = events
        self._homes: dict[str, HomeRecord] = {}
        workspace.add_method("views.publish", self.publish)

    def reset(self) -> None:
        """Forget every Home view."""
        self._homes.clear()

    def home_of(self, user_id: str) -> HomeRecord | None:
        """Return the user's Home tab, if the app ever published one."""
        return self._homes.get(user_id)

    def homes(self, user_id: str | None = None) -> list[dict[str, Any]]:
        """Return every Home tab (or only the user's), oldest first."""
        return [r.snapshot() for r in self._homes.values() if user_id in (None, "", r.user_id)]

    def _problem(self, args: dict[str, Any]) -> Answer | None:
        """Slack's error for a `views.publish` call it refuses, else None."""
        user_id = args.get("user_id")
        if not isinstance(user_id, str) or not user_id:
            return fail("invalid_arguments", "[ERROR] missing required field: user_id")
        if not _USER_ID.match(user_id):
            return fail("user_not_found")
        view = args.get("view")
        if view is not None and len(json.dumps(view)) > MAX_VIEW_BYTES:
            return fail("view_too_large")
        errors = ["[ERROR] missing required field: view"] if view is None else []
        errors = errors or check_home_view(view)
        if errors:
            return fail("invalid_arguments", *errors)
        record = self._homes.get(user_id)
        given_hash = args.get("hash")
        if given_hash and (record is None or given_hash != record.view["hash"]):
            return fail("hash_conflict")
        return None

    def publish(self, args: dict[str, Any]) -> Answer:
        """`views.publish`: store the user's Home view; Slack's answer."""
        problem = self._problem(args)
        if problem:
            return problem
        user_id, view = args["user_id"], args["view"]
        record = self._homes.get(user_id)
        taken = [home.view["id"] for home in self._homes.values()]
        view_id = record.view["id"] if record else self._workspace.new_view_id(taken)
        materialized = materialize_view(view, view_id, TEAM_ID, kind="home")
        if record is None:
            record = HomeRecord(user_id=user_id, view=materialized)
            self._homes[user_id] = record
        else:
            record.view = materialized
            record.published_at = utc_now_iso()
            record.publishes += 1
        self._events.add("slack", "home_published", record.snapshot())
        return {"ok": True, "view": copy.deepcopy(materialized)}
