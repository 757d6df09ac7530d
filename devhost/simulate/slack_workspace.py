"""The simulated Slack workspace: trigger IDs, views, channel messages, user groups, Web API.

Everything here is plain state and logic, confined to the server's event loop
(only request handlers touch it); `slack.py` puts HTTP around it, and
`devhost/standins/slack_stub.py` serves it to in-process tests and benchmarks.
"""

from __future__ import annotations

import copy
import hashlib
import math
import re
import secrets
import string
import time
import uuid
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Literal

from devhost.simulate.events import EventLog, utc_now_iso
from devhost.simulate.slack_blocks import (
    MAX_MESSAGE_BLOCKS,
    MAX_MESSAGE_TEXT,
    check_blocks,
    check_view,
    with_generated_ids,
)

if TYPE_CHECKING:
    from devhost.simulate.faults import Fault

TRIGGER_LIFETIME_SECONDS = 3.0
TEAM_ID = "T0SIMTEAM1"
TEAM_DOMAIN = "sim-workspace"
APP_ID = "A0SIMAPP01"
BOT_ID = "B0SIMBOT01"
BOT_USER_ID = "U0SIMBOT01"

_USER_ID = re.compile(r"^[UW][A-Z0-9]{2,}$")
_DM_ID = re.compile(r"^D[A-Z0-9]{2,}$")
_CHANNEL_ID = re.compile(r"^[CG][A-Z0-9]{2,}$")
_USERGROUP_ID = re.compile(r"^S[A-Z0-9]{2,}$")
_ID_ALPHABET = string.ascii_uppercase + string.digits

Answer = dict[str, Any]
ViewKind = Literal["modal", "home"]
# Slack answers with this title for a Home view, which takes none of its own.
_HOME_TITLE = {"type": "plain_text", "text": "View Title", "emoji": True}


def stable_id(prefix: str, key: str) -> str:
    """Return a Slack-looking ID that is always the same for the same key."""
    return prefix + hashlib.sha256(key.encode()).hexdigest()[:10].upper()


def new_hash() -> str:
    """A fresh view `hash`, as Slack issues with every change to a view."""
    return f"{int(time.time())}.{secrets.token_hex(4)}"


def materialize_view(
    given: dict[str, Any], view_id: str, team_id: str, *, kind: ViewKind = "modal"
) -> dict[str, Any]:
    """The view as Slack stores and returns it, for the `given` one Slack accepted.

    A modal keeps its own title, buttons and close flags; a Home view has none of these,
    so Slack fills in its defaults, and returns the `external_id` it was given.
    """
    if kind == "home":
        own: dict[str, Any] = {
            "external_id": given.get("external_id", ""),
            "title": copy.deepcopy(_HOME_TITLE),
            "clear_on_close": False,
            "notify_on_close": False,
            "close": None,
            "submit": None,
        }
    else:
        own = {
            "title": copy.deepcopy(given["title"]),
            "clear_on_close": bool(given.get("clear_on_close", False)),
            "notify_on_close": bool(given.get("notify_on_close", False)),
            "close": copy.deepcopy(given.get("close")),
            "submit": copy.deepcopy(given.get("submit")),
        }
    return {
        "id": view_id,
        "team_id": team_id,
        "type": kind,
        "blocks": with_generated_ids(given.get("blocks") or []),
        "private_metadata": given.get("private_metadata", ""),
        "callback_id": given.get("callback_id", ""),
        "state": {"values": {}},
        "hash": new_hash(),
        **own,
        "previous_view_id": None,
        "root_view_id": view_id,
        "app_id": APP_ID,
        "app_installed_team_id": team_id,
        "bot_id": BOT_ID,
    }


def fail(error: str, *messages: str) -> Answer:
    """Return a Slack error answer, with `response_metadata.messages` when given."""
    answer: Answer = {"ok": False, "error": error}
    if messages:
        answer["response_metadata"] = {"messages": list(messages)}
    return answer


def fault_answer(fault: Fault) -> tuple[int, Any, dict[str, str]]:
    """Return the (status, JSON body, headers) a fault answers with instead of the simulator."""
    if fault.error is not None and fault.status is None and fault.retry_after is None:
        return 200, fail(fault.error), {}
    status = fault.status or (429 if fault.retry_after is not None else 500)
    headers = {}
    if status == 429 or fault.retry_after is not None:
        retry_after = 1 if fault.retry_after is None else math.ceil(fault.retry_after)
        headers["Retry-After"] = str(retry_after)
    default_error = "ratelimited" if status == 429 else "internal_error"
    body = fault.body if fault.body is not None else fail(fault.error or default_error)
    return status, body, headers


@dataclass
class Trigger:
    """A trigger ID handed to the app with a slash command or an interaction."""

    user_id: str
    team_id: str
    issued_at: float
    used: bool = False


# Slack's limit: a root view and two views pushed on it.
MAX_VIEW_STACK = 3


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

    def __init__(
        self,
        events: EventLog,
        clock: Callable[[], float],
        usergroups: Mapping[str, Iterable[str]] | None = None,
    ) -> None:
        """Create a workspace without views or messages.

        `clock` (seconds, monotonic) ages trigger IDs; `usergroups` (group ID -> member IDs)
        is the workspace's user groups, restored by `reset`.
        """
        self._events = events
        self._clock = clock
        self._initial_usergroups = {k: list(v) for k, v in (usergroups or {}).items()}
        self._usergroups = copy.deepcopy(self._initial_usergroups)
        self._triggers: dict[str, Trigger] = {}
        self._views: dict[str, ViewRecord] = {}
        self._messages: list[dict[str, Any]] = []
        self._channel_names: dict[str, str] = {}
        self._last_ts = 0.0
        self._methods: dict[str, Callable[[dict[str, Any]], Answer]] = {
            "views.open": self._views_open,
            "views.push": self._views_push,
            "views.update": self._views_update,
            "chat.postMessage": self._chat_post_message,
            "chat.update": self._chat_update,
            "chat.postEphemeral": self._chat_post_ephemeral,
            "usergroups.users.list": self._usergroups_users_list,
        }

    def add_method(self, method: str, handler: Callable[[dict[str, Any]], Answer]) -> None:
        """Serve one more Web API method with `handler` (arguments in, Slack's answer out)."""
        self._methods[method] = handler

    def knows(self, method: str) -> bool:
        """Tell whether `method` is a Web API method the simulator implements."""
        return method in self._methods

    def call(self, method: str, args: dict[str, Any]) -> Answer:
        """Run a Web API method (already authenticated) and return Slack's JSON answer."""
        return self._methods[method](args)

    def reset(self) -> None:
        """Forget triggers, views and messages; restore the initial user groups."""
        self._triggers.clear()
        self._views.clear()
        self._messages.clear()
        self._channel_names.clear()
        self._usergroups = copy.deepcopy(self._initial_usergroups)

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

    def accept_trigger(self, trigger_id: str, trigger: Trigger) -> None:
        """Take in a trigger ID issued outside this workspace (a test playing Slack's client)."""
        self._triggers.setdefault(trigger_id, trigger)

    def accept_view(self, view_id: str, given: Any) -> None:
        """Hold a valid view as opened before, under `view_id`, unless it is already known.

        For tests that start from a view opened outside this workspace; who opened it is
        not known, so its user ID is empty.
        """
        if view_id in self._views or check_view(given):
            return
        view = materialize_view(given, view_id, TEAM_ID)
        self._views[view_id] = ViewRecord(view=view, user_id="", team_id=TEAM_ID)

    def _trigger_problem(self, trigger_id: Any) -> Answer | None:
        if not isinstance(trigger_id, str) or not trigger_id:
            return fail("invalid_arguments", "[ERROR] missing required field: trigger_id")
        trigger = self._triggers.get(trigger_id)
        if trigger is None:
            return fail("invalid_trigger_id")
        if trigger.used or self._clock() - trigger.issued_at > TRIGGER_LIFETIME_SECONDS:
            return fail("expired_trigger_id")
        return None

    def _trigger_and_view_problem(self, args: dict[str, Any]) -> Answer | None:
        """The error of `views.open` or `views.push` for its `trigger_id`, then its `view`."""
        problem = self._trigger_problem(args.get("trigger_id"))
        if problem:
            return problem
        errors = check_view(args.get("view"))
        return fail("invalid_arguments", *errors) if errors else None

    def _new_view_id(self) -> str:
        while True:
            view_id = "V" + "".join(secrets.choice(_ID_ALPHABET) for _ in range(10))
            if view_id not in self._views:
                return view_id

    def new_view_id(self, taken: Iterable[str] = ()) -> str:
        """A fresh `V…` ID, used by no modal and not in `taken`."""
        taken = set(taken)
        while (view_id := self._new_view_id()) in taken:
            pass
        return view_id

    def _views_open(self, args: dict[str, Any]) -> Answer:
        problem = self._trigger_and_view_problem(args)
        if problem:
            return problem
        trigger = self._triggers[args["trigger_id"]]
        trigger.used = True
        view_id = self._new_view_id()
        view = materialize_view(args["view"], view_id, trigger.team_id)
        record = ViewRecord(view=view, user_id=trigger.user_id, team_id=trigger.team_id)
        self._views[view_id] = record
        self._event("view_opened", record.snapshot())
        return {"ok": True, "view": copy.deepcopy(view)}

    def _views_push(self, args: dict[str, Any]) -> Answer:
        """Push a view onto the modal the trigger's user has open (at most 3 views deep)."""
        problem = self._trigger_and_view_problem(args)
        if problem:
            return problem
        trigger = self._triggers[args["trigger_id"]]
        top = self.open_view_of(trigger.user_id)
        if top is None:
            return fail("not_found")
        if self._stack_depth(top) >= MAX_VIEW_STACK:
            return fail("push_limit_reached")
        trigger.used = True
        view_id = self._new_view_id()
        view = materialize_view(args["view"], view_id, trigger.team_id)
        view["previous_view_id"] = top.view_id
        view["root_view_id"] = top.view["root_view_id"]
        record = ViewRecord(view=view, user_id=trigger.user_id, team_id=trigger.team_id)
        self._views[view_id] = record
        self._event("view_pushed", record.snapshot())
        return {"ok": True, "view": copy.deepcopy(view)}

    def _stack_depth(self, top: ViewRecord) -> int:
        """How many open views are stacked up to and including `top`."""
        depth = 0
        current: ViewRecord | None = top
        while current is not None and current.is_open:
            depth += 1
            below = current.view.get("previous_view_id")
            current = self._views.get(below) if isinstance(below, str) else None
        return depth

    def _views_update(self, args: dict[str, Any]) -> Answer:
        errors = check_view(args.get("view"))
        if errors:
            return fail("invalid_arguments", *errors)
        view_id = args.get("view_id")
        if not view_id:
            return fail("invalid_arguments", "[ERROR] missing required field: view_id")
        found = self._views.get(str(view_id))
        if found is None or not found.is_open:
            return fail("not_found")
        if args.get("hash") and args["hash"] != found.view["hash"]:
            return fail("hash_conflict")
        self.replace_view(found, args["view"], "views.update")
        return {"ok": True, "view": copy.deepcopy(found.view)}

    def replace_view(self, record: ViewRecord, given: dict[str, Any], by: str) -> None:
        """Replace an open view's content (after `check_view` accepted `given`)."""
        record.view = materialize_view(given, record.view_id, record.team_id)
        record.errors = None
        record.updates += 1
        self._event("view_updated", {"by": by, **record.snapshot()})

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

    def _message_target(self, args: dict[str, Any]) -> tuple[str, str | None, str | None] | Answer:
        """Resolve a message call's `channel` and check its content; or Slack's error."""
        channel = args.get("channel")
        resolved = self._resolve_channel(channel) if isinstance(channel, str) else None
        if resolved is None:
            return fail("channel_not_found")
        return self._message_problem(args) or resolved

    def _chat_post_message(self, args: dict[str, Any]) -> Answer:
        target = self._message_target(args)
        if isinstance(target, dict):
            return target
        channel_id, channel_name, dm_user = target
        thread_ts = args.get("thread_ts")
        parent = None
        if thread_ts not in (None, ""):
            parent = self.message(channel_id, str(thread_ts))
            if parent is None:
                return fail("thread_not_found")
            # A reply to a reply joins the parent's thread, as in Slack.
            parent = self.message(channel_id, parent["message"].get("thread_ts") or str(thread_ts))
            if parent is None:
                return fail("thread_not_found")
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
        if parent is not None:
            root = parent["message"]
            message["thread_ts"] = root["ts"]
            root["thread_ts"] = root["ts"]
            root["reply_count"] = int(root.get("reply_count", 0)) + 1
        record: dict[str, Any] = {
            "time": utc_now_iso(),
            "channel": channel_id,
            "channel_name": channel_name,
            "user_id": dm_user,
            "is_dm": dm_user is not None,
            "ephemeral": False,
            "updates": [],
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

    def _chat_update(self, args: dict[str, Any]) -> Answer:
        channel = args.get("channel")
        # Slack updates a message only by the channel ID chat.postMessage answered with (`C…`,
        # `G…`, or `D…` for a DM): a user ID or a channel name is not found.
        if not isinstance(channel, str) or not (
            _CHANNEL_ID.match(channel) or _DM_ID.match(channel)
        ):
            return fail("channel_not_found")
        target = self._message_target(args)
        record = None if isinstance(target, dict) else self.message(target[0], str(args.get("ts")))
        if isinstance(target, dict) or record is None:
            return target if isinstance(target, dict) else fail("message_not_found")
        message = record["message"]
        record["updates"].append(copy.deepcopy(message))
        message["text"] = args.get("text") or ""
        if args.get("blocks") is not None:
            message["blocks"] = with_generated_ids(args["blocks"])
        message["edited"] = {"user": BOT_USER_ID, "ts": self._next_ts()}
        self._event("message_updated", record)
        return {
            "ok": True,
            "channel": record["channel"],
            "ts": message["ts"],
            "text": message["text"],
            "message": copy.deepcopy(message),
        }

    def _chat_post_ephemeral(self, args: dict[str, Any]) -> Answer:
        user = args.get("user")
        target = self._message_target(args)
        if isinstance(target, dict):
            return target
        if not isinstance(user, str) or not _USER_ID.match(user):
            return fail("user_not_found")
        message = self._add_ephemeral(target[0], target[1], user, args)
        return {"ok": True, "message_ts": message["ts"]}

    def add_ephemeral(self, channel_id: str, user_id: str, payload: dict[str, Any]) -> None:
        """Record a message the app sent to a `response_url` (seen by `user_id` alone)."""
        self._add_ephemeral(channel_id, None, user_id, payload)

    def _add_ephemeral(
        self, channel_id: str, channel_name: str | None, user_id: str, payload: dict[str, Any]
    ) -> dict[str, Any]:
        message = {"type": "message", "text": payload.get("text") or "", "ts": self._next_ts()}
        if isinstance(payload.get("blocks"), list):
            message["blocks"] = copy.deepcopy(payload["blocks"])
        record = {
            "time": utc_now_iso(),
            "channel": channel_id,
            "channel_name": channel_name,
            "user_id": user_id,
            "is_dm": False,
            "ephemeral": payload.get("response_type", "ephemeral") == "ephemeral",
            "response_type": payload.get("response_type", "ephemeral"),
            "message": message,
        }
        self._messages.append(record)
        self._event("message", record)
        return message

    def channel_named(self, channel: str) -> tuple[str, str | None] | None:
        """The (ID, name) of a channel given by name or `C…`/`G…` ID; None for DMs and users."""
        resolved = self._resolve_channel(channel) if not _DM_ID.match(channel) else None
        if resolved is None or resolved[2] is not None:
            return None
        return resolved[0], resolved[1]

    def post_as_user(
        self, channel_id: str, channel_name: str | None, user_id: str, text: str, blocks: list[Any]
    ) -> dict[str, Any]:
        """Record a message a person posted in a channel; return its record.

        The message is stored as Slack stores a person's message: their `user`, the mrkdwn
        `text` and the `blocks` (a `rich_text` block), with a `client_msg_id`.
        """
        message = {
            "type": "message",
            "user": user_id,
            "text": text,
            "blocks": with_generated_ids(blocks),
            "team": TEAM_ID,
            "client_msg_id": str(uuid.uuid4()),
            "ts": self._next_ts(),
        }
        record: dict[str, Any] = {
            "time": utc_now_iso(),
            "channel": channel_id,
            "channel_name": channel_name,
            "user_id": None,
            "is_dm": False,
            "ephemeral": False,
            "updates": [],
            "message": message,
        }
        self._messages.append(record)
        self._event("message", record)
        return copy.deepcopy(record)

    def _usergroups_users_list(self, args: dict[str, Any]) -> Answer:
        usergroup = args.get("usergroup")
        if not isinstance(usergroup, str) or not usergroup:
            return fail("invalid_arguments", "[ERROR] missing required field: usergroup")
        members = self._usergroups.get(usergroup)
        if members is None:
            return fail("no_such_subteam")
        return {"ok": True, "users": list(members)}

    def set_usergroup(self, usergroup: str, users: list[str] | None) -> None:
        """Give a user group these members; `None` deletes the group."""
        if not _USERGROUP_ID.match(usergroup):
            raise ValueError(f"{usergroup!r} is not a user group ID (S…)")
        if users is None:
            self._usergroups.pop(usergroup, None)
        elif all(isinstance(user, str) and _USER_ID.match(user) for user in users):
            self._usergroups[usergroup] = list(users)
        else:
            raise ValueError("'users' must list member IDs (U… or W…)")
        self._event("usergroup", {"usergroup": usergroup, "users": users})

    def usergroups(self) -> dict[str, list[str]]:
        """Return every user group with its members."""
        return copy.deepcopy(self._usergroups)

    def message(self, channel_id: str, ts: str) -> dict[str, Any] | None:
        """Return the (not ephemeral) message posted in `channel_id` at `ts`, live."""
        for record in self._messages:
            if (
                record["channel"] == channel_id
                and record["message"]["ts"] == ts
                and not record["ephemeral"]
            ):
                return record
        return None

    def resolve_channel_id(self, channel: str) -> str | None:
        """Return the ID of a channel given by name or ID."""
        resolved = self._resolve_channel(channel)
        return resolved[0] if resolved else None

    def messages(
        self,
        user_id: str | None = None,
        channel: str | None = None,
        visible_to: str | None = None,
    ) -> list[dict[str, Any]]:
        """Return DMs to `user_id`, posts to `channel` (name or ID), or everything.

        With `visible_to`, ephemeral messages shown to other users are left out.
        """
        selected = self._messages
        if user_id:
            selected = [m for m in selected if m["is_dm"] and m["user_id"] == user_id]
        if channel:
            resolved = self._resolve_channel(channel)
            wanted = {channel, resolved[0] if resolved else channel}
            selected = [m for m in selected if m["channel"] in wanted]
        if visible_to:
            selected = [m for m in selected if not m["ephemeral"] or m["user_id"] == visible_to]
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

    def close(self, record: ViewRecord, by: str) -> None:
        """Close a view, as the user or Slack would."""
        record.is_open = False
        record.closed_at = utc_now_iso()
        record.closed_by = by
        self._event("view_closed", {"by": by, "id": record.view_id, "user_id": record.user_id})

    def set_errors(self, record: ViewRecord, errors: dict[str, Any]) -> None:
        """Show field errors on an open view, as `response_action: errors` does."""
        record.errors = copy.deepcopy(errors)
        self._event("view_errors", {"id": record.view_id, "errors": record.errors})
