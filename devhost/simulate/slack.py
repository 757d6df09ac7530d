"""HTTP face of the Slack simulator: the Web API the app calls and the user's side of Slack."""

from __future__ import annotations

import asyncio
import copy
import hmac
import json
import logging
import secrets
import time
from collections.abc import Callable, MutableMapping
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlencode

import aiohttp
from aiohttp import web

from devhost.simulate.demo_users import DEMO_USERGROUPS
from devhost.simulate.events import EventLog, utc_now_iso
from devhost.simulate.faults import FaultQueue, drop_connection
from devhost.simulate.httputil import (
    bad_request,
    events_handler,
    fault_handlers,
    json_answer,
    optional_number,
    optional_str,
    read_json_object,
    required_str,
)
from devhost.simulate.slack_blocks import check_view, input_fields
from devhost.simulate.slack_home import HomeTabs
from devhost.simulate.slack_user import (
    COMMAND_CHANNEL_ID,
    COMMAND_CHANNEL_NAME,
    SlackUser,
    block_actions_payload,
    build_state,
    find_button,
    shortcut_answers,
    slack_signature,
    slash_command_form,
    view_closed_payload,
    view_submission_payload,
)
from devhost.simulate.slack_workspace import (
    TEAM_DOMAIN,
    TEAM_ID,
    SlackWorkspace,
    ViewRecord,
    fail,
    fault_answer,
)

log = logging.getLogger("devhost.simulate.slack")

SLACK_REQUEST_TIMEOUT_SECONDS = 3.0
SLASH_COMMAND_PATH = "/api/slash-start"
INTERACTIVITY_PATH = "/api/orchestrator-client"
FAULT_KEYS = frozenset(
    {"method", "times", "status", "retry_after", "error", "body", "delay", "drop"}
)
_JSON_ARGUMENTS = ("blocks", "view", "attachments")


@dataclass(frozen=True)
class Delivery:
    """What came back when the simulator sent the app a request, as Slack would see it."""

    status: int | None
    body: str | None
    error: str | None = None

    def describe(self) -> dict[str, Any]:
        """Return the delivery for JSON answers and records."""
        answer: dict[str, Any] = {"status": self.status, "body": self.body}
        if self.error:
            answer["error"] = self.error
        return answer


@dataclass(frozen=True)
class DeliveryOptions:
    """Per-request knobs of the driving endpoints (for testing the app's defences)."""

    timeout: float = SLACK_REQUEST_TIMEOUT_SECONDS
    timestamp: int | None = None
    signing_secret: str | None = None

    @classmethod
    def from_request(cls, data: dict[str, Any]) -> DeliveryOptions:
        """Read `timeout`, `timestamp` and `signing_secret` from a driving request's JSON."""
        timestamp = optional_number(data, "timestamp", 0, 2**40)
        return cls(
            timeout=optional_number(data, "timeout", 0.1, 120) or SLACK_REQUEST_TIMEOUT_SECONDS,
            timestamp=None if timestamp is None else int(timestamp),
            signing_secret=optional_str(data, "signing_secret") or None,
        )


@dataclass(frozen=True)
class ApiCall:
    """A Web API request: its arguments, and its token kept apart from them."""

    args: dict[str, Any]
    token: str | None
    invalid_json: bool = False


async def _read_call(request: web.Request) -> ApiCall:
    """Read arguments from the query and a JSON or form body, as Slack accepts them."""
    args: dict[str, Any] = dict(request.query)
    invalid_json = False
    if request.method == "POST" and request.content_type == "application/json":
        body = _json_or_none(await request.text() or "{}")
        invalid_json = not isinstance(body, dict)
        args.update(body if isinstance(body, dict) else {})
    elif request.method == "POST":
        form = await request.post()
        args.update({key: value for key, value in form.items() if isinstance(value, str)})
    for key in _JSON_ARGUMENTS:
        if isinstance(args.get(key), str):
            decoded = _json_or_none(args[key])
            args[key] = args[key] if decoded is None else decoded
    form_token = args.pop("token", None)
    scheme, _, bearer = request.headers.get("Authorization", "").partition(" ")
    token = bearer.strip() if scheme.lower() == "bearer" and bearer.strip() else form_token
    return ApiCall(args, token if isinstance(token, str) else None, invalid_json)


class SlackSimulator:
    """The Slack Web API and Slack client of one simulated workspace."""

    def __init__(
        self,
        base_url: str,
        environ: MutableMapping[str, str],
        events: EventLog,
        clock: Callable[[], float],
    ) -> None:
        """Create the simulator; it reads the bot token and signing secret from `environ`."""
        self._base_url = base_url.rstrip("/")
        self._environ = environ
        self._events = events
        self.workspace = SlackWorkspace(events, clock, DEMO_USERGROUPS)
        self.home = HomeTabs(self.workspace, events)
        self._faults = FaultQueue()
        self._calls: list[dict[str, Any]] = []
        self._verification_token = secrets.token_hex(12)
        self._response_urls: dict[str, tuple[str, str]] = {}
        self._user_names: dict[str, str] = {}
        self._session: aiohttp.ClientSession | None = None

    def register(self, app: web.Application) -> None:
        """Add the `/sim/slack/…` routes to `app`."""
        add_fault, clear_faults, list_faults = fault_handlers(self._faults, FAULT_KEYS)
        app.router.add_get("/sim/slack/api/{method}", self._web_api)
        app.router.add_post("/sim/slack/api/{method}", self._web_api)
        app.router.add_get("/sim/slack/calls", self._list_calls)
        app.router.add_get("/sim/slack/views", self._list_views)
        app.router.add_get("/sim/slack/messages", self._list_messages)
        app.router.add_get("/sim/slack/events", events_handler(self._events, "slack"))
        app.router.add_post("/sim/slack/command", self._command)
        app.router.add_post("/sim/slack/submit", self._submit)
        app.router.add_post("/sim/slack/close", self._close)
        app.router.add_post("/sim/slack/click", self._click)
        app.router.add_get("/sim/slack/usergroups", self._list_usergroups)
        app.router.add_post("/sim/slack/usergroups", self._set_usergroup)
        app.router.add_post("/sim/slack/response/{key}", self._response_url)
        app.router.add_post("/sim/slack/reset", self._reset)
        app.router.add_get("/sim/slack/faults", list_faults)
        app.router.add_post("/sim/slack/faults", add_fault)
        app.router.add_delete("/sim/slack/faults", clear_faults)
        app.on_cleanup.append(self._close_session)

    def reset(self) -> None:
        """Forget views, messages, calls, faults, user names and the Slack events."""
        self.workspace.reset()
        self.home.reset()
        self._faults.clear()
        self._calls.clear()
        self._response_urls.clear()
        self._user_names.clear()
        self._events.forget("slack")

    # --- the Web API the app calls -------------------------------------------------------------

    async def _web_api(self, request: web.Request) -> web.StreamResponse:
        method = request.match_info["method"]
        call = await _read_call(request)
        record: dict[str, Any] = {"time": utc_now_iso(), "method": method, "args": call.args}
        fault = self._faults.take(method)
        if fault is not None:
            record["fault"] = fault.describe()
            await asyncio.sleep(fault.delay)
        if fault is not None and fault.replaces_answer:
            if fault.drop:
                self._record_call(record, None, None)
                return drop_connection(request)
            status, body, headers = fault_answer(fault)
            self._record_call(record, status, body)
            return json_answer(body, status=status, headers=headers)
        answer = self._answer(method, call)
        self._record_call(record, 200, answer)
        return json_answer(answer)

    def _answer(self, method: str, call: ApiCall) -> dict[str, Any]:
        if call.invalid_json:
            return fail("invalid_json")
        if not self.workspace.knows(method):
            return fail("unknown_method")
        if not call.token:
            return fail("not_authed")
        expected = self._environ.get("SLACK_BOT_USER_OAUTH_ACCESS_TOKEN", "")
        if not expected or not hmac.compare_digest(call.token.encode(), expected.encode()):
            return fail("invalid_auth")
        return self.workspace.call(method, call.args)

    def _record_call(self, record: dict[str, Any], status: int | None, answer: Any) -> None:
        outcome: dict[str, Any] = {"status": status}
        if status is None:
            outcome["dropped"] = True
        elif isinstance(answer, dict):
            outcome["ok"] = answer.get("ok")
            if answer.get("error"):
                outcome["error"] = answer["error"]
        record["outcome"] = outcome
        record["seq"] = self._events.add("slack", "api_call", record)
        self._calls.append(record)
        log.info(
            "Slack simulator: %s answered %s", record["method"], outcome.get("error") or status
        )

    # --- the user's side: what Slack sends the app ----------------------------------------------

    async def _post_to_app(
        self, path: str, form: dict[str, str], options: DeliveryOptions
    ) -> Delivery:
        """Sign a form body as Slack does and POST it to the app; never raises."""
        return await self.post_signed(
            path, urlencode(form), "application/x-www-form-urlencoded", options
        )

    async def send_interaction(self, payload: dict[str, Any], options: DeliveryOptions) -> Delivery:
        """POST an interaction payload to the app as Slack does: a signed form field `payload`."""
        form = {"payload": json.dumps(payload, separators=(",", ":"))}
        return await self._post_to_app(INTERACTIVITY_PATH, form, options)

    async def post_signed(
        self,
        path: str,
        body: str,
        content_type: str,
        options: DeliveryOptions,
        extra_headers: dict[str, str] | None = None,
    ) -> Delivery:
        """Sign `body` as Slack does (v0 over `v0:{timestamp}:{body}`) and POST it to the app.

        Never raises: a timeout or a connection failure is a `Delivery` with its `error`.
        """
        timestamp = str(options.timestamp if options.timestamp is not None else int(time.time()))
        secret = options.signing_secret or self._environ.get("SLACK_SIGNING_SECRET", "")
        headers = {
            "Content-Type": content_type,
            "User-Agent": "Slackbot 1.0 (simulated)",
            "X-Slack-Request-Timestamp": timestamp,
            **(extra_headers or {}),
        }
        if secret:
            headers["X-Slack-Signature"] = slack_signature(secret, timestamp, body.encode())
        if self._session is None or self._session.closed:
            self._session = aiohttp.ClientSession()
        timeout = aiohttp.ClientTimeout(total=options.timeout)
        try:
            async with self._session.post(
                self._base_url + path, data=body.encode(), headers=headers, timeout=timeout
            ) as response:
                return Delivery(response.status, await response.text())
        except TimeoutError:
            return Delivery(None, None, "operation_timeout")
        except aiohttp.ClientError as error:
            return Delivery(None, None, f"dispatch_failed: {type(error).__name__}")

    async def _close_session(self, _app: web.Application) -> None:
        if self._session is not None:
            await self._session.close()

    @property
    def verification_token(self) -> str:
        """The legacy verification `token` Slack puts in every payload it sends the app."""
        return self._verification_token

    def new_response_url(self, channel_id: str, user_id: str) -> str:
        """A fresh `response_url`: what the app posts there shows in `channel_id` to `user_id`."""
        key = secrets.token_hex(12)
        self._response_urls[key] = (channel_id, user_id)
        return f"{self._base_url}/sim/slack/response/{key}"

    def user_from(self, data: dict[str, Any]) -> SlackUser:
        """The acting user of a driving request (`user_id`, optional `user_name`, team)."""
        user_id = required_str(data, "user_id")
        default_name = self._user_names.get(user_id, user_id.lower())
        user_name = optional_str(data, "user_name", default_name) or default_name
        self._user_names[user_id] = user_name
        return SlackUser(
            user_id=user_id,
            user_name=user_name,
            team_id=optional_str(data, "team_id", TEAM_ID) or TEAM_ID,
            team_domain=optional_str(data, "team_domain", TEAM_DOMAIN) or TEAM_DOMAIN,
        )

    async def _command(self, request: web.Request) -> web.StreamResponse:
        data = await read_json_object(request)
        user = self.user_from(data)
        options = DeliveryOptions.from_request(data)
        channel_id = optional_str(data, "channel_id", COMMAND_CHANNEL_ID) or COMMAND_CHANNEL_ID
        trigger_id = self.workspace.issue_trigger(user.user_id, user.team_id)
        form = slash_command_form(
            user,
            command=optional_str(data, "command", "/flush") or "/flush",
            text=optional_str(data, "text", "") or "",
            channel_id=channel_id,
            channel_name=optional_str(data, "channel_name", COMMAND_CHANNEL_NAME) or "",
            verification_token=self._verification_token,
            response_url=self.new_response_url(channel_id, user.user_id),
            trigger_id=trigger_id,
        )
        delivery = await self._post_to_app(SLASH_COMMAND_PATH, form, options)
        reply = (delivery.body or "").strip() if delivery.status == 200 else ""
        if reply:
            parsed = _json_or_none(reply)
            message = parsed if isinstance(parsed, dict) else {"text": reply}
            self.workspace.add_ephemeral(channel_id, user.user_id, message)
        self._events.add(
            "slack",
            "command",
            {"user_id": user.user_id, "command": form["command"], "text": form["text"]}
            | delivery.describe(),
        )
        log.info("Slack simulator: %s by %s -> %s", form["command"], user.user_id, delivery.status)
        return json_answer({**delivery.describe(), "trigger_id": trigger_id})

    def _open_view(self, user_id: str, view_id: str | None) -> ViewRecord:
        record = self.workspace.view(view_id) if view_id else self.workspace.open_view_of(user_id)
        if record is None or record.user_id != user_id or not record.is_open:
            raise bad_request(
                f"user {user_id} has no open view" + (f" {view_id}" if view_id else ""), 404
            )
        return record

    async def _submit(self, request: web.Request) -> web.StreamResponse:
        data = await read_json_object(request)
        user = self.user_from(data)
        options = DeliveryOptions.from_request(data)
        record = self._open_view(user.user_id, optional_str(data, "view_id"))
        explicit = data.get("values") or {}
        if not isinstance(explicit, dict):
            raise bad_request("'values' must be an object keyed by block or action ID")
        try:
            answers = shortcut_answers(record.view, data) | explicit
        except ValueError as error:
            raise bad_request(str(error)) from None
        values, missing = build_state(record.view, answers)
        if missing:
            raise web.HTTPUnprocessableEntity(
                text=json.dumps(
                    {
                        "error": "required fields are empty",
                        "view_id": record.view_id,
                        "client_errors": missing,
                    }
                ),
                content_type="application/json",
            )
        record.view["state"] = {"values": copy.deepcopy(values)}
        payload = view_submission_payload(
            user,
            record,
            values,
            verification_token=self._verification_token,
            trigger_id=self.workspace.issue_trigger(user.user_id, user.team_id),
        )
        updates_before = record.updates
        delivery = await self.send_interaction(payload, options)
        raced = record.updates - updates_before
        action, outcome = self._apply_submission_answer(record, delivery)
        if raced and action == "update":
            outcome += f" (over {raced} views.update made while the submission was in flight)"
        submission = {"time": utc_now_iso(), "values": values, **delivery.describe()}
        record.submissions.append(submission | {"response_action": action, "outcome": outcome})
        self._events.add(
            "slack",
            "submission",
            {"view_id": record.view_id, "user_id": user.user_id, "outcome": outcome, **submission},
        )
        log.info("Slack simulator: submission of %s -> %s", record.view_id, outcome)
        return json_answer(
            {
                **delivery.describe(),
                "view_id": record.view_id,
                "response_action": action,
                "outcome": outcome,
            }
        )

    def _apply_submission_answer(
        self, record: ViewRecord, delivery: Delivery
    ) -> tuple[str | None, str]:
        """Do what Slack does with the app's answer to a submission; return (action, outcome)."""
        answer = _submission_answer(delivery)
        if isinstance(answer, str):
            return None, answer
        action = answer.get("response_action")
        if action in (None, "clear"):
            self.workspace.close(record, "submission")
            return action, "cleared" if action else "closed"
        if action == "update":
            return action, self._show_view(record, answer.get("view"))
        if action == "errors":
            return action, self._show_errors(record, answer.get("errors"))
        return action, f"kept_open: unknown response_action {action!r}"

    def _show_view(self, record: ViewRecord, view: Any) -> str:
        problems = check_view(view)
        if problems:
            return "kept_open: invalid view: " + "; ".join(problems[:3])
        self.workspace.replace_view(record, view, "response_action")
        return "updated"

    def _show_errors(self, record: ViewRecord, errors: Any) -> str:
        input_blocks = {field.block_id for field in input_fields(record.view)}
        if not isinstance(errors, dict) or not errors:
            return "kept_open: 'errors' must be a non-empty object"
        unknown = sorted(key for key in errors if key not in input_blocks)
        if unknown or not all(isinstance(message, str) for message in errors.values()):
            return f"kept_open: errors must map input block IDs to strings (bad: {unknown})"
        self.workspace.set_errors(record, errors)
        return "errors_shown"

    async def _close(self, request: web.Request) -> web.StreamResponse:
        data = await read_json_object(request)
        user = self.user_from(data)
        options = DeliveryOptions.from_request(data)
        record = self._open_view(user.user_id, optional_str(data, "view_id"))
        self.workspace.close(record, "user")
        answer: dict[str, Any] = {"view_id": record.view_id, "closed": True, "notified": False}
        if record.view.get("notify_on_close"):
            payload = view_closed_payload(user, record, verification_token=self._verification_token)
            delivery = await self.send_interaction(payload, options)
            answer |= {"notified": True, **delivery.describe()}
        log.info("Slack simulator: %s closed %s", user.user_id, record.view_id)
        return json_answer(answer)

    async def _click(self, request: web.Request) -> web.StreamResponse:
        """Click a button in a posted message (`channel`, `ts`) or in a modal (`view_id`)."""
        data = await read_json_object(request)
        user = self.user_from(data)
        action_id = required_str(data, "action_id")
        view_id = optional_str(data, "view_id")
        if view_id:
            record = self._open_view(user.user_id, view_id)
            blocks = record.view["blocks"]
            container: dict[str, Any] = {"type": "view", "view_id": view_id}
            context: dict[str, Any] = {"view": record.view}
        else:
            blocks, container, context = self._message_context(user, data)
        found = find_button(blocks, action_id)
        if found is None:
            raise bad_request(f"no button with action_id {action_id!r} there", 404)
        return await self.click(user, data, found, container, context)

    async def click(
        self,
        user: SlackUser,
        data: dict[str, Any],
        found: tuple[str, dict[str, Any]],
        container: dict[str, Any],
        context: dict[str, Any],
    ) -> web.StreamResponse:
        """Send the app `user`'s click on the (block ID, button) `found`; answer the driver.

        `data` is the driving request (its `value` and delivery options); `container` and
        `context` say where the button is, as in Slack's `block_actions` payload.
        """
        block_id, button = found
        payload = block_actions_payload(
            user,
            container=container,
            context=context,
            block_id=block_id,
            button=button,
            value=optional_str(data, "value"),
            action_ts=f"{time.time():.6f}",
            verification_token=self._verification_token,
            trigger_id=self.workspace.issue_trigger(user.user_id, user.team_id),
        )
        delivery = await self.send_interaction(payload, DeliveryOptions.from_request(data))
        action_id = button["action_id"]
        self._events.add(
            "slack",
            "block_action",
            {"user_id": user.user_id, "action_id": action_id, "container": container}
            | delivery.describe(),
        )
        log.info(
            "Slack simulator: %s clicked %s in a %s -> %s",
            user.user_id,
            action_id,
            container["type"],
            delivery.status,
        )
        return json_answer({**delivery.describe(), "container": container})

    def _message_context(
        self, user: SlackUser, data: dict[str, Any]
    ) -> tuple[list[Any], dict[str, Any], dict[str, Any]]:
        """Return the blocks, `container` and context of a click on a posted message."""
        channel, ts = required_str(data, "channel"), required_str(data, "ts")
        channel_id = self.workspace.resolve_channel_id(channel)
        record = self.workspace.message(channel_id, ts) if channel_id else None
        if channel_id is None or record is None:
            raise bad_request(f"no message {ts} in {channel}", 404)
        container = {
            "type": "message",
            "message_ts": ts,
            "channel_id": channel_id,
            "is_ephemeral": False,
        }
        context = {
            "channel": {"id": channel_id, "name": record["channel_name"] or ""},
            "message": record["message"],
            "response_url": self.new_response_url(channel_id, user.user_id),
        }
        return record["message"].get("blocks") or [], container, context

    async def _list_usergroups(self, _request: web.Request) -> web.StreamResponse:
        return json_answer({"usergroups": self.workspace.usergroups()})

    async def _set_usergroup(self, request: web.Request) -> web.StreamResponse:
        data = await read_json_object(request)
        users = data.get("users")
        if users is not None and not isinstance(users, list):
            raise bad_request("'users' must be a list of member IDs, or null to delete the group")
        try:
            self.workspace.set_usergroup(required_str(data, "usergroup"), users)
        except ValueError as error:
            raise bad_request(str(error)) from None
        return json_answer({"usergroups": self.workspace.usergroups()})

    async def _response_url(self, request: web.Request) -> web.StreamResponse:
        target = self._response_urls.get(request.match_info["key"])
        if target is None:
            raise bad_request("unknown response_url", 404)
        self.workspace.add_ephemeral(*target, await read_json_object(request))
        return json_answer({"ok": True})

    # --- inspection -----------------------------------------------------------------------------

    async def _list_calls(self, request: web.Request) -> web.StreamResponse:
        method = request.query.get("method")
        calls = [call for call in self._calls if not method or call["method"] == method]
        return json_answer({"calls": calls})

    async def _list_views(self, request: web.Request) -> web.StreamResponse:
        return json_answer({"views": self.workspace.views(request.query.get("user_id"))})

    async def _list_messages(self, request: web.Request) -> web.StreamResponse:
        messages = self.workspace.messages(
            user_id=request.query.get("user_id"),
            channel=request.query.get("channel"),
            visible_to=request.query.get("visible_to"),
        )
        return json_answer({"messages": messages})

    async def _reset(self, _request: web.Request) -> web.StreamResponse:
        self.reset()
        return json_answer({"reset": True})


def _submission_answer(delivery: Delivery) -> dict[str, Any] | str:
    """Return the app's JSON answer, or why Slack keeps the view open with an error."""
    if delivery.status != 200:
        return f"kept_open: {delivery.error or f'app answered {delivery.status}'}"
    text = (delivery.body or "").strip()
    answer = _json_or_none(text) if text else {}
    if not isinstance(answer, dict):
        return "kept_open: the answer is not a JSON object"
    return answer


def _json_or_none(text: str) -> Any:
    try:
        return json.loads(text)
    except ValueError:
        return None
