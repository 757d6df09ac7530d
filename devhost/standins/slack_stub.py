"""The Slack Web API for in-process tests and benchmarks (``SLACK_API_URL`` = ``base_url``).

Answers come from devhost's simulated workspace (`devhost.simulate.slack_workspace`), the one
model of Slack's Web API in this repository; this module puts a recording, scriptable HTTP
server around it.
"""

from __future__ import annotations

import copy
import hmac
import json
import threading
import time
from collections.abc import Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from devhost.simulate.events import EventLog
from devhost.simulate.slack_home import HomeTabs
from devhost.simulate.slack_workspace import SlackWorkspace, fail, fault_answer
from devhost.standins.recording import RecordedRequest, header_value, redact_headers
from devhost.standins.slack_requests import issued_trigger
from devhost.standins.stub_server import Reply, ReplyScript, StubServer

if TYPE_CHECKING:
    from devhost.simulate.faults import Fault

_JSON_STRING_ARGS = ("view", "blocks", "attachments", "metadata")


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
    """Answers ``/api/<method>`` as the simulated workspace does; records calls, plays scripts.

    With ``token`` set, calls without it answer ``not_authed``/``invalid_auth`` as Slack does.
    ``views.open`` and ``views.push`` accept the trigger IDs `slack_requests` issued (to the
    user whose request carried them), for three seconds and once, as Slack does. Unless
    ``strict_views``, ``views.update`` of a view this server did not open updates it as if it
    had been opened before (tests often start from a submission of a view opened elsewhere);
    with ``strict_views`` it answers ``not_found``.
    """

    def __init__(self, token: str | None = None, *, strict_views: bool = False) -> None:
        """Create the stand-in; ``start()`` (or ``with``) binds it."""
        super().__init__("slack")
        self.expected_token = token
        self.strict_views = strict_views
        events = EventLog()
        self.workspace = SlackWorkspace(events, time.monotonic)
        self.homes = HomeTabs(self.workspace, events)
        self._model_lock = threading.Lock()
        self._script: ReplyScript[Fault | Reply] = ReplyScript()
        self._calls: list[SlackCall] = []

    @property
    def base_url(self) -> str:
        """The Web API base URL, with a trailing slash, as ``SLACK_API_URL`` expects."""
        return f"{self.origin}/api/"

    def reply(self, method: str, *answers: Fault | Reply) -> None:
        """Queue one-shot ``answers`` for ``method`` (used in order, once each).

        A `Fault` is the simulator's (the same effects as ``POST /sim/slack/faults``; its
        ``method`` and ``times`` are not used here); a `Reply` is sent as it is (a redirect,
        a body that is not JSON).
        """
        self._script.push(method, *answers)

    def always(self, method: str, answer: Fault | Reply | None) -> None:
        """Answer every later ``method`` call so (``None`` restores the workspace's answers)."""
        self._script.set_standing(method, answer)

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
        """The latest view the workspace holds for ``view_id`` (opened or updated), if any."""
        with self._model_lock:
            found = self.workspace.view(view_id)
            return copy.deepcopy(found.view) if found is not None else None

    def views(self) -> list[dict[str, Any]]:
        """Every view the workspace holds, as ``GET /sim/slack/views`` lists them."""
        with self._model_lock:
            return self.workspace.views()

    def post_message(self, channel: str, text: str) -> str:
        """Post a message as the app did earlier (not recorded as a call); return its ``ts``."""
        with self._model_lock:
            answer = self.workspace.call("chat.postMessage", {"channel": channel, "text": text})
        if not answer["ok"]:
            raise ValueError(f"cannot post to {channel!r}: {answer['error']}")
        return str(answer["ts"])

    def message(self, channel: str, ts: str) -> dict[str, Any] | None:
        """The message the workspace holds in ``channel`` (ID or name) at ``ts``, if any."""
        with self._model_lock:
            channel_id = self.workspace.resolve_channel_id(channel)
            found = self.workspace.message(channel_id, ts) if channel_id else None
            return copy.deepcopy(found["message"]) if found is not None else None

    def clear(self) -> None:
        """Forget recorded calls, requests, views, Home tabs, messages and scripted replies."""
        with self._cond:
            self._calls.clear()
        with self._model_lock:
            self.workspace.reset()
            self.homes.reset()
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
        return Reply(json=self._model_answer(method, args))

    def _auth_error(self, request: RecordedRequest, args: Mapping[str, Any]) -> str | None:
        if self.expected_token is None:
            return None
        call = SlackCall(request.seq, "", dict(args), dict(request.headers))
        if call.token is None:
            return "not_authed"
        return None if call.has_token(self.expected_token) else "invalid_auth"

    def _to_reply(self, answer: Fault | Reply, method: str, args: dict[str, Any]) -> Reply:
        if isinstance(answer, Reply):
            return answer
        if answer.drop:
            return Reply(delay=answer.delay, drop=True)
        if not answer.replaces_answer:
            return Reply(json=self._model_answer(method, args), delay=answer.delay)
        status, body, headers = fault_answer(answer)
        return Reply(status, json=body, headers=headers, delay=answer.delay)

    def _model_answer(self, method: str, args: dict[str, Any]) -> dict[str, Any]:
        """Answer as the simulated workspace does, after taking in what the kit sent as Slack."""
        with self._model_lock:
            if not self.workspace.knows(method):
                return fail("unknown_method")
            trigger_id = args.get("trigger_id")
            if method in ("views.open", "views.push") and isinstance(trigger_id, str):
                issued = issued_trigger(trigger_id)
                if issued is not None:
                    self.workspace.accept_trigger(trigger_id, issued)
            view_id = args.get("view_id")
            if method == "views.update" and isinstance(view_id, str) and not self.strict_views:
                self.workspace.accept_view(view_id, args.get("view"))
            return self.workspace.call(method, args)


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
