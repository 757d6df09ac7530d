"""The simulated Slack workspace: trigger IDs, modal views, messages, and the Web API methods.

Everything here is plain state and logic, confined to the server's event loop
(only request handlers touch it); `slack.py` puts HTTP around it.
"""

from __future__ import annotations

import copy
import hashlib
import re
import secrets
import string
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from devhost.simulate.events import EventLog, utc_now_iso
from devhost.simulate.slack_blocks import (
    MAX_MESSAGE_BLOCKS,
    MAX_MESSAGE_TEXT,
    check_blocks,
    check_view,
    with_generated_ids,
)

TRIGGER_LIFETIME_SECONDS = 3.0
MAX_VIEW_STACK = 3
TEAM_ID = "T0SIMTEAM1"
TEAM_DOMAIN = "sim-workspace"
APP_ID = "A0SIMAPP01"
BOT_ID = "B0SIMBOT01"
BOT_USER_ID = "U0SIMBOT01"

_USER_ID = re.compile(r"^[UW][A-Z0-9]{2,}$")
_DM_ID = re.compile(r"^D[A-Z0-9]{2,}$")
_CHANNEL_ID = re.compile(r"^[CG][A-Z0-9]{2,}$")
_ID_ALPHABET = string.ascii_uppercase + string.digits

Answer = dict[str, Any]


def stable_id(prefix: str, key: str) -> str:
    """Return a Slack-looking ID that is always the same for the same key."""
    return prefix + hashlib.sha256(key.encode()).hexdigest()[:10].upper()


def fail(error: str, *messages: str) -> Answer:
    """Return a Slack error answer, with `response_metadata.messages` when given."""
    answer: Answer = {"ok": False, "error": error}
    if messages:
        answer["response_metadata"] = {"messages": list(messages)}
    return answer


@dataclass
class Trigger:
    """A trigger ID handed to the app with a slash command or an interaction."""

    user_id: str
    team_id: str
    issued_at: float
    used: bool = False


@dataclass
class ViewRecord:
    """A modal as the simulated user sees it, with its life story."""

    view: dict[str, Any]
    user_id: str
    team_id: str
    opened_at: str = field(default_factory=utc_now_iso)
    is_open: bool = True
    closed_at: str | None = None
    closed_by: str | None = None
    errors: dict[str, Any] | None = None
    updates: int = 0
    submissions: list[dict[str, Any]] = field(default_factory=list)

    @property
    def view_id(self) -> str:
        """Return the view's `V…` ID."""
        return str(self.view["id"])

    def snapshot(self) -> dict[str, Any]:
        """Return a JSON-ready copy for the `/sim/slack/views` endpoint."""
        return {
            "id": self.view_id,
            "user_id": self.user_id,
            "team_id": self.team_id,
            "open": self.is_open,
            "opened_at": self.opened_at,
            "closed_at": self.closed_at,
            "closed_by": self.closed_by,
            "errors": copy.deepcopy(self.errors),
            "updates": self.updates,
            "submissions": copy.deepcopy(self.submissions),
            "view": copy.deepcopy(self.view),
        }


class SlackWorkspace:
    """One simulated workspace with its app installed and its bot token."""

    def __init__(self, events: EventLog, clock: Callable[[], float]) -> None:
        """Create an empty workspace; `clock` (seconds, monotonic) ages trigger IDs."""
        self._events = events
        self._clock = clock
        self._triggers: dict[str, Trigger] = {}
        self._views: dict[str, ViewRecord] = {}
        self._messages: list[dict[str, Any]] = []
        self._channel_names: dict[str, str] = {}
        self._last_ts = 0.0
        self._methods: dict[str, Callable[[dict[str, Any]], Answer]] = {
            "auth.test": self._auth_test,
            "views.open": self._views_open,
            "views.push": self._views_push,
            "views.update": self._views_update,
            "chat.postMessage": self._chat_post_message,
        }

    def knows(self, method: str) -> bool:
        """Tell whether `method` is a Web API method the simulator implements."""
        return method in self._methods

    def call(self, method: str, args: dict[str, Any]) -> Answer:
        """Run a Web API method (already authenticated) and return Slack's JSON answer."""
        return self._methods[method](args)

    def reset(self) -> None:
        """Forget triggers, views and messages."""
        self._triggers.clear()
        self._views.clear()
        self._messages.clear()
        self._channel_names.clear()

    def _event(self, kind: str, data: dict[str, Any]) -> None:
        self._events.add("slack", kind, data)

    def issue_trigger(self, user_id: str, team_id: str) -> str:
        """Issue a trigger ID for `user_id`, valid once for `TRIGGER_LIFETIME_SECONDS`."""
        digits = "".join(secrets.choice(string.digits) for _ in range(13))
        trigger_id = (
            f"{digits[:10]}.{digits[10:]}{secrets.randbelow(10**9)}.{secrets.token_hex(16)}"
        )
        self._triggers[trigger_id] = Trigger(user_id, team_id, self._clock())
        return trigger_id

    def _trigger_problem(self, trigger_id: Any) -> Answer | None:
        if not isinstance(trigger_id, str) or not trigger_id:
            return fail("invalid_arguments", "[ERROR] missing required field: trigger_id")
        trigger = self._triggers.get(trigger_id)
        if trigger is None:
            return fail("invalid_trigger_id")
        if trigger.used or self._clock() - trigger.issued_at > TRIGGER_LIFETIME_SECONDS:
            return fail("expired_trigger_id")
        return None

    def _new_hash(self) -> str:
        return f"{int(time.time())}.{secrets.token_hex(4)}"

    def _new_view_id(self) -> str:
        while True:
            view_id = "V" + "".join(secrets.choice(_ID_ALPHABET) for _ in range(10))
            if view_id not in self._views:
                return view_id

    def _materialize(
        self,
        given: dict[str, Any],
        view_id: str,
        team_id: str,
        root_id: str,
        previous_id: str | None,
    ) -> dict[str, Any]:
        return {
            "id": view_id,
            "team_id": team_id,
            "type": "modal",
            "blocks": with_generated_ids(given.get("blocks") or []),
            "private_metadata": given.get("private_metadata", ""),
            "callback_id": given.get("callback_id", ""),
            "state": {"values": {}},
            "hash": self._new_hash(),
            "title": copy.deepcopy(given["title"]),
            "clear_on_close": bool(given.get("clear_on_close", False)),
            "notify_on_close": bool(given.get("notify_on_close", False)),
            "close": copy.deepcopy(given.get("close")),
            "submit": copy.deepcopy(given.get("submit")),
            "previous_view_id": previous_id,
            "root_view_id": root_id,
            "app_id": APP_ID,
            "external_id": given.get("external_id", ""),
            "app_installed_team_id": team_id,
            "bot_id": BOT_ID,
        }

    def _open_record(
        self, given: dict[str, Any], user_id: str, team_id: str, below: ViewRecord | None
    ) -> dict[str, Any]:
        view_id = self._new_view_id()
        root_id = below.view["root_view_id"] if below else view_id
        previous_id = below.view_id if below else None
        view = self._materialize(given, view_id, team_id, root_id, previous_id)
        record = ViewRecord(view=view, user_id=user_id, team_id=team_id)
        self._views[view_id] = record
        self._event("view_opened", record.snapshot())
        return copy.deepcopy(view)

    def _with_trigger(self, args: dict[str, Any], below: ViewRecord | None) -> Answer:
        trigger = self._triggers[args["trigger_id"]]
        trigger.used = True
        view = self._open_record(args["view"], trigger.user_id, trigger.team_id, below)
        return {"ok": True, "view": view}

    def _opening_problem(self, args: dict[str, Any]) -> Answer | None:
        """Slack's error for a views.open or views.push call's trigger or view, if any."""
        problem = self._trigger_problem(args.get("trigger_id"))
        if problem:
            return problem
        errors = check_view(args.get("view"))
        if errors:
            return fail("invalid_arguments", *errors)
        return None

    def _views_open(self, args: dict[str, Any]) -> Answer:
        problem = self._opening_problem(args)
        if problem:
            return problem
        return self._with_trigger(args, None)

    def _views_push(self, args: dict[str, Any]) -> Answer:
        problem = self._opening_problem(args)
        if problem:
            return problem
        trigger = self._triggers[args["trigger_id"]]
        below = self.open_view_of(trigger.user_id)
        if below is None:
            return fail("not_found")
        if len(self._stack(below)) >= MAX_VIEW_STACK:
            return fail("push_limit_reached")
        return self._with_trigger(args, below)

    def _find_for_update(self, args: dict[str, Any]) -> ViewRecord | Answer:
        view_id, external_id = args.get("view_id"), args.get("external_id")
        if view_id:
            record = self._views.get(str(view_id))
        elif external_id:
            matches = [r for r in self._views.values() if r.view["external_id"] == external_id]
            record = matches[-1] if matches else None
        else:
            return fail("invalid_arguments", "[ERROR] either view_id or external_id is required")
        if record is None or not record.is_open:
            return fail("not_found")
        return record

    def _views_update(self, args: dict[str, Any]) -> Answer:
        errors = check_view(args.get("view"))
        if errors:
            return fail("invalid_arguments", *errors)
        found = self._find_for_update(args)
        if not isinstance(found, ViewRecord):
            return found
        if args.get("hash") and args["hash"] != found.view["hash"]:
            return fail("hash_conflict")
        self.replace_view(found, args["view"], "views.update")
        return {"ok": True, "view": copy.deepcopy(found.view)}

    def push_view(self, below: ViewRecord, given: dict[str, Any]) -> None:
        """Open a view on top of `below` (after `check_view` accepted `given`)."""
        self._open_record(given, below.user_id, below.team_id, below)

    def replace_view(self, record: ViewRecord, given: dict[str, Any], by: str) -> None:
        """Replace an open view's content (after `check_view` accepted `given`)."""
        old = record.view
        new = self._materialize(
            given, old["id"], record.team_id, old["root_view_id"], old["previous_view_id"]
        )
        new["external_id"] = given.get("external_id") or old["external_id"]
        record.view = new
        record.errors = None
        record.updates += 1
        self._event("view_updated", {"by": by, **record.snapshot()})

    def _auth_test(self, _args: dict[str, Any]) -> Answer:
        return {
            "ok": True,
            "url": f"https://{TEAM_DOMAIN}.slack.com/",
            "team": "Simulated Workspace",
            "user": "cache-flush",
            "team_id": TEAM_ID,
            "user_id": BOT_USER_ID,
            "bot_id": BOT_ID,
            "is_enterprise_install": False,
        }

    def _resolve_channel(self, channel: str) -> tuple[str, str | None, str | None] | None:
        """Return (channel ID, channel name, DM user) for a `channel` argument, or None."""
        if _USER_ID.match(channel):
            return stable_id("D", channel), None, channel
        if _DM_ID.match(channel):
            for message in self._messages:
                if message["channel"] == channel and message["user_id"]:
                    return channel, None, message["user_id"]
            return None
        if _CHANNEL_ID.match(channel):
            names = {cid: name for name, cid in self._channel_names.items()}
            return channel, names.get(channel), None
        name = channel.removeprefix("#").lower()
        if not name:
            return None
        channel_id = self._channel_names.setdefault(name, stable_id("C", name))
        return channel_id, name, None

    def _next_ts(self) -> str:
        self._last_ts = max(round(self._last_ts + 0.000001, 6), time.time())
        return f"{self._last_ts:.6f}"

    def _message_problem(self, args: dict[str, Any]) -> Answer | None:
        text, blocks = args.get("text"), args.get("blocks")
        if not text and not blocks and not args.get("attachments"):
            return fail("no_text")
        if text is not None and not isinstance(text, str):
            return fail("invalid_arguments", "[ERROR] text must be a string")
        if isinstance(text, str) and len(text) > MAX_MESSAGE_TEXT:
            return fail("msg_too_long")
        if blocks is not None:
            if not isinstance(blocks, list):
                return fail("invalid_blocks_format")
            errors = check_blocks(blocks, "/blocks", MAX_MESSAGE_BLOCKS)
            if errors:
                return fail("invalid_blocks", *errors)
        return None

    def _chat_post_message(self, args: dict[str, Any]) -> Answer:
        channel = args.get("channel")
        resolved = self._resolve_channel(channel) if isinstance(channel, str) else None
        if resolved is None:
            return fail("channel_not_found")
        problem = self._message_problem(args)
        if problem:
            return problem
        channel_id, channel_name, dm_user = resolved
        message = {
            "type": "message",
            "text": args.get("text") or "",
            "user": BOT_USER_ID,
            "bot_id": BOT_ID,
            "app_id": APP_ID,
            "team": TEAM_ID,
            "ts": self._next_ts(),
        }
        if args.get("blocks") is not None:
            message["blocks"] = with_generated_ids(args["blocks"])
        record = {
            "time": utc_now_iso(),
            "channel": channel_id,
            "channel_name": channel_name,
            "user_id": dm_user,
            "is_dm": dm_user is not None,
            "message": message,
        }
        self._messages.append(record)
        self._event("message", record)
        return {
            "ok": True,
            "channel": channel_id,
            "ts": message["ts"],
            "message": copy.deepcopy(message),
        }

    def add_ephemeral(self, channel_id: str, user_id: str, payload: dict[str, Any]) -> None:
        """Record a message the app sent to a slash command's `response_url`."""
        message = {"type": "message", "text": payload.get("text") or "", "ts": self._next_ts()}
        if isinstance(payload.get("blocks"), list):
            message["blocks"] = copy.deepcopy(payload["blocks"])
        record = {
            "time": utc_now_iso(),
            "channel": channel_id,
            "channel_name": None,
            "user_id": user_id,
            "is_dm": False,
            "response_type": payload.get("response_type", "ephemeral"),
            "message": message,
        }
        self._messages.append(record)
        self._event("message", record)

    def messages(
        self, user_id: str | None = None, channel: str | None = None
    ) -> list[dict[str, Any]]:
        """Return DMs to `user_id`, posts to `channel` (name or ID), or everything."""
        selected = self._messages
        if user_id:
            selected = [m for m in selected if m["is_dm"] and m["user_id"] == user_id]
        if channel:
            resolved = self._resolve_channel(channel)
            wanted = {channel, resolved[0] if resolved else channel}
            selected = [m for m in selected if m["channel"] in wanted]
        return copy.deepcopy(selected)

    def views(self, user_id: str | None = None) -> list[dict[str, Any]]:
        """Return the views `user_id` has seen (open and closed), or all views."""
        return [r.snapshot() for r in self._views.values() if user_id in (None, "", r.user_id)]

    def view(self, view_id: str) -> ViewRecord | None:
        """Return the view with this ID, open or closed."""
        return self._views.get(view_id)

    def open_view_of(self, user_id: str) -> ViewRecord | None:
        """Return the user's most recently opened view that is still open."""
        for record in reversed(self._views.values()):
            if record.user_id == user_id and record.is_open:
                return record
        return None

    def _stack(self, record: ViewRecord) -> list[ViewRecord]:
        root = record.view["root_view_id"]
        return [r for r in self._views.values() if r.is_open and r.view["root_view_id"] == root]

    def close(self, record: ViewRecord, by: str, *, whole_stack: bool) -> None:
        """Close a view, or its whole stack, as the user or Slack would."""
        for closing in self._stack(record) if whole_stack else [record]:
            closing.is_open = False
            closing.closed_at = utc_now_iso()
            closing.closed_by = by
            self._event(
                "view_closed", {"by": by, "id": closing.view_id, "user_id": closing.user_id}
            )

    def set_errors(self, record: ViewRecord, errors: dict[str, Any]) -> None:
        """Show field errors on an open view, as `response_action: errors` does."""
        record.errors = copy.deepcopy(errors)
        self._event("view_errors", {"id": record.view_id, "errors": record.errors})
