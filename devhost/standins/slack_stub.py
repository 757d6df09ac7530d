"""A stand-in for the Slack Web API (``SLACK_API_URL`` = ``SlackStub.base_url``)."""

from __future__ import annotations

import copy
import hmac
import itertools
import json
import threading
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from devhost.standins.recording import RecordedRequest, header_value, redact_headers
from devhost.standins.stub_server import Reply, ReplyScript, StubServer

TEAM_ID = "T0CACHE01"
BOT_USER_ID = "U0BOTUSER"
BOT_ID = "B0BOTID01"
APP_ID = "A0CACHEAPP"

_JSON_STRING_ARGS = ("view", "blocks", "attachments", "metadata")


@dataclass(frozen=True)
class SlackReply:
    """A scripted Slack answer.

    By default the method's normal answer. ``ok=False``/``error`` give
    ``{"ok": false, "error": ...}``; a ``status`` other than 200 gives an error body too
    (``ratelimited`` for 429). ``body`` replaces the JSON body entirely, ``raw`` sends bytes
    as they are, ``extra`` is merged into the normal answer. ``delay`` and ``drop`` as in
    ``Reply``.
    """

    ok: bool | None = None
    error: str | None = None
    status: int = 200
    headers: Mapping[str, str] = field(default_factory=dict)
    body: Any = None
    raw: bytes | None = None
    extra: Mapping[str, Any] = field(default_factory=dict)
    delay: float = 0.0
    drop: bool = False

    @property
    def succeeds(self) -> bool:
        """Whether this reply is a normal ``ok: true`` answer."""
        if self.ok is not None:
            return self.ok
        return self.status == 200 and self.error is None


@dataclass(frozen=True)
class SlackCall:
    """One Web API call: ``args`` merges query, form and JSON arguments.

    ``view``/``blocks``/``attachments`` sent as JSON strings are decoded. The repr never
    shows the token; use ``has_token`` to check it.
    """

    seq: int
    method: str
    args: dict[str, Any]
    headers: dict[str, str]

    @property
    def token(self) -> str | None:
        """The bearer token sent (from the Authorization header, else a ``token`` argument)."""
        auth = header_value(self.headers, "Authorization") or ""
        if auth.lower().startswith("bearer "):
            return auth[7:].strip()
        token = self.args.get("token")
        return token if isinstance(token, str) else None

    def has_token(self, expected: str) -> bool:
        """Compare the sent token with ``expected`` without ever displaying either."""
        sent = self.token
        return sent is not None and hmac.compare_digest(sent.encode(), expected.encode())

    def __repr__(self) -> str:
        """Describe the call without the token."""
        return (
            f"SlackCall(seq={self.seq}, method={self.method!r}, args={self.args!r}, "
            f"headers={redact_headers(self.headers)!r})"
        )


class SlackStub(StubServer):
    """Answers ``/api/<method>`` like Slack, records every call, and plays scripted replies.

    With ``token`` set, calls without it answer ``not_authed``/``invalid_auth`` as Slack does.
    With ``strict_views``, ``views.update`` of a view id this stub did not open answers
    ``not_found``.
    """

    def __init__(self, token: str | None = None, *, strict_views: bool = False) -> None:
        """Create the stand-in; ``start()`` (or ``with``) binds it."""
        super().__init__("slack")
        self.expected_token = token
        self.strict_views = strict_views
        self._script: ReplyScript[SlackReply] = ReplyScript()
        self._calls: list[SlackCall] = []
        self._views: dict[str, dict[str, Any]] = {}
        self._ids = itertools.count(1)
        self._ids_lock = threading.Lock()

    @property
    def base_url(self) -> str:
        """The Web API base URL, with a trailing slash, as ``SLACK_API_URL`` expects."""
        return f"{self.origin}/api/"

    def reply(self, method: str, *replies: SlackReply) -> None:
        """Queue one-shot ``replies`` for ``method`` (used in order, once each)."""
        self._script.push(method, *replies)

    def always(self, method: str, reply: SlackReply | None) -> None:
        """Answer every later ``method`` call with ``reply`` (``None`` restores the default)."""
        self._script.set_standing(method, reply)

    def calls(self, method: str | None = None) -> list[SlackCall]:
        """Calls received so far (of ``method`` only, if given), in arrival order."""
        with self._cond:
            return [c for c in self._calls if method is None or c.method == method]

    def wait_for_calls(
        self, n: int, method: str | None = None, timeout: float = 5.0
    ) -> list[SlackCall]:
        """Wait until at least ``n`` calls (of ``method``) have arrived; return them."""

        def enough() -> bool:
            return sum(1 for c in self._calls if method is None or c.method == method) >= n

        self.wait_until(enough, timeout, f"{n} call(s) of {method or 'any method'}")
        return self.calls(method)

    def view(self, view_id: str) -> dict[str, Any] | None:
        """The latest view this stub holds for ``view_id`` (opened or updated), if any."""
        with self._cond:
            found = self._views.get(view_id)
            return copy.deepcopy(found) if found is not None else None

    def clear(self) -> None:
        """Forget recorded calls, requests, views and scripted replies."""
        with self._cond:
            self._calls.clear()
            self._views.clear()
        self._script.clear()
        super().clear()

    def handle(self, request: RecordedRequest) -> Reply:
        """Record the call, then answer with a scripted reply or the method's normal answer."""
        method = request.path.rsplit("/", 1)[-1]
        args = _call_args(request)
        with self._cond:
            self._calls.append(SlackCall(request.seq, method, args, dict(request.headers)))
            self._cond.notify_all()
        auth_error = self._auth_error(request, args)
        if auth_error:
            return Reply(json={"ok": False, "error": auth_error})
        scripted = self._script.take(method)
        if scripted is not None:
            return self._to_reply(scripted, method, args)
        return Reply(json=self._default_answer(method, args))

    def _auth_error(self, request: RecordedRequest, args: Mapping[str, Any]) -> str | None:
        if self.expected_token is None:
            return None
        call = SlackCall(request.seq, "", dict(args), dict(request.headers))
        if call.token is None:
            return "not_authed"
        return None if call.has_token(self.expected_token) else "invalid_auth"

    def _to_reply(self, reply: SlackReply, method: str, args: dict[str, Any]) -> Reply:
        if reply.raw is not None:
            body: Any = None
        elif reply.body is not None:
            body = reply.body
        elif reply.succeeds:
            body = {**self._default_answer(method, args), **reply.extra}
        elif reply.status == 429:
            body = {"ok": False, "error": reply.error or "ratelimited"}
        else:
            body = {"ok": False, "error": reply.error or "internal_error"}
        return Reply(
            reply.status,
            json=body,
            body=reply.raw,
            headers=reply.headers,
            delay=reply.delay,
            drop=reply.drop,
        )

    def _next_id(self) -> int:
        with self._ids_lock:
            return next(self._ids)

    def _default_answer(self, method: str, args: dict[str, Any]) -> dict[str, Any]:
        if method == "views.open":
            return {"ok": True, "view": self._store_view(f"V{self._next_id():08d}", args)}
        if method == "views.update":
            view_id = args.get("view_id") or args.get("external_id")
            with self._cond:
                known = view_id in self._views
            if not isinstance(view_id, str) or (self.strict_views and not known):
                return {"ok": False, "error": "not_found"}
            return {"ok": True, "view": self._store_view(view_id, args)}
        messages = {
            "views.publish": self._publish,
            "chat.postMessage": self._post_message,
            "chat.update": _update_message,
            "chat.postEphemeral": self._post_ephemeral,
        }
        if method in messages:
            return messages[method](args)
        if method == "auth.test":
            return {
                "ok": True,
                "url": "https://cache-flush-test.slack.com/",
                "team": "Cache Flush Test",
                "user": "cache-flush",
                "team_id": TEAM_ID,
                "user_id": BOT_USER_ID,
                "bot_id": BOT_ID,
                "is_enterprise_install": False,
            }
        return {"ok": False, "error": "unknown_method"}

    def _publish(self, args: Mapping[str, Any]) -> dict[str, Any]:
        """`views.publish`: the user's Home tab, one view ID per user."""
        user = args.get("user_id")
        if not isinstance(user, str) or not user:
            return {"ok": False, "error": "invalid_arguments"}
        return {"ok": True, "view": self._store_view(f"VHOME{user}", args)}

    def _store_view(self, view_id: str, args: Mapping[str, Any]) -> dict[str, Any]:
        sent = args.get("view")
        view = dict(sent) if isinstance(sent, dict) else {}
        view.update(
            {
                "id": view_id,
                "team_id": TEAM_ID,
                "app_id": APP_ID,
                "bot_id": BOT_ID,
                "hash": f"{1700000000 + self._next_id()}.{self._next_id():08x}",
                "root_view_id": view_id,
                "previous_view_id": None,
                "state": {"values": {}},
            }
        )
        with self._cond:
            self._views[view_id] = copy.deepcopy(view)
        return view

    def _post_ephemeral(self, args: Mapping[str, Any]) -> dict[str, Any]:
        if not args.get("channel"):
            return {"ok": False, "error": "channel_not_found"}
        if not args.get("user"):
            return {"ok": False, "error": "user_not_found"}
        return {"ok": True, "message_ts": f"{1700000000 + self._next_id()}.000100"}

    def _post_message(self, args: Mapping[str, Any]) -> dict[str, Any]:
        channel = args.get("channel")
        if not isinstance(channel, str) or not channel:
            return {"ok": False, "error": "channel_not_found"}
        if not (args.get("text") or args.get("blocks") or args.get("attachments")):
            return {"ok": False, "error": "no_text"}
        if channel[0] in "UW":
            channel = f"D{channel[1:]}"
        ts = f"{1700000000 + self._next_id()}.{self._next_id():06d}"
        message = {
            "type": "message",
            "user": BOT_USER_ID,
            "bot_id": BOT_ID,
            "app_id": APP_ID,
            "team": TEAM_ID,
            "text": args.get("text", ""),
            "ts": ts,
        }
        if "blocks" in args:
            message["blocks"] = args["blocks"]
        return {"ok": True, "channel": channel, "ts": ts, "message": message}


def _update_message(args: Mapping[str, Any]) -> dict[str, Any]:
    """Answer ``chat.update`` as Slack does for a message the bot posted."""
    channel, ts = args.get("channel"), args.get("ts")
    if not isinstance(channel, str) or not channel:
        return {"ok": False, "error": "channel_not_found"}
    if not isinstance(ts, str) or not ts:
        return {"ok": False, "error": "message_not_found"}
    if not (args.get("text") or args.get("blocks") or args.get("attachments")):
        return {"ok": False, "error": "no_text"}
    message = {"text": args.get("text", ""), "blocks": args.get("blocks", [])}
    return {"ok": True, "channel": channel, "ts": ts, "text": message["text"], "message": message}


def _call_args(request: RecordedRequest) -> dict[str, Any]:
    args: dict[str, Any] = dict(request.query)
    if request.form:
        args.update(request.form)
    if isinstance(request.json, dict):
        args.update(request.json)
    for name in _JSON_STRING_ARGS:
        value = args.get(name)
        if isinstance(value, str) and value[:1] in ("{", "["):
            try:
                args[name] = json.loads(value)
            except ValueError:
                continue
    return args
