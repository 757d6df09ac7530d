"""The Home tab, Events API deliveries, message shortcuts and messages people post.

Like the rest of the simulated client, these send the app what Slack would, signed with
`SLACK_SIGNING_SECRET`: Events API envelopes as JSON to `/api/slack-events`, and
`block_actions` (clicks on the Home tab) and `message_action` (shortcuts) payloads as a form
field `payload` to `/api/orchestrator-client`. See README.md for each endpoint.
"""

from __future__ import annotations

import base64
import copy
import json
import logging
import secrets
import string
import time
from typing import Any

from aiohttp import web

from devhost.simulate import httputil
from devhost.simulate.events import EventLog
from devhost.simulate.slack import Delivery, DeliveryOptions, SlackSimulator
from devhost.simulate.slack_typed import typed_message
from devhost.simulate.slack_user import (
    COMMAND_CHANNEL_ID,
    COMMAND_CHANNEL_NAME,
    SlackUser,
    find_button,
)
from devhost.simulate.slack_workspace import APP_ID, BOT_USER_ID, TEAM_ID, stable_id

log = logging.getLogger("devhost.simulate.slack")

EVENTS_PATH = "/api/slack-events"
SHORTCUT_CALLBACK_ID = "flush_links"
# Slack names the channel of a direct message so in interaction payloads.
DM_CHANNEL_NAME = "directmessage"
HOME_TABS = ("home", "messages", "about")
RETRY_REASONS = ("http_timeout", "http_error", "too_many_redirects", "connection_failed")
MAX_RETRY_NUM = 3
_ID_ALPHABET = string.ascii_uppercase + string.digits


def _new_event_id() -> str:
    return "Ev" + "".join(secrets.choice(_ID_ALPHABET) for _ in range(10))


def _compact(payload: dict[str, Any]) -> str:
    return json.dumps(payload, separators=(",", ":"))


def event_envelope(event: dict[str, Any], *, verification_token: str) -> dict[str, Any]:
    """Return the `event_callback` envelope Slack wraps an event in, with a new event ID."""
    context = {"id": secrets.token_hex(8), "team": TEAM_ID, "app": APP_ID}
    encoded = base64.urlsafe_b64encode(_compact(context).encode()).decode().rstrip("=")
    return {
        "token": verification_token,
        "team_id": TEAM_ID,
        "api_app_id": APP_ID,
        "event": event,
        "type": "event_callback",
        "event_id": _new_event_id(),
        "event_time": int(time.time()),
        "authorizations": [
            {
                "enterprise_id": None,
                "team_id": TEAM_ID,
                "user_id": BOT_USER_ID,
                "is_bot": True,
                "is_enterprise_install": False,
            }
        ],
        "is_ext_shared_channel": False,
        "event_context": "4-" + encoded,
    }


def message_action_payload(
    user: SlackUser,
    *,
    callback_id: str,
    channel: dict[str, str],
    message: dict[str, Any],
    response_url: str,
    verification_token: str,
    trigger_id: str,
) -> dict[str, Any]:
    """Return the `message_action` payload of a message shortcut run on `message`."""
    return {
        "type": "message_action",
        "token": verification_token,
        "action_ts": f"{time.time():.6f}",
        **user.payload_fields(),
        "channel": dict(channel),
        "is_enterprise_install": False,
        "enterprise": None,
        "callback_id": callback_id,
        "trigger_id": trigger_id,
        "response_url": response_url,
        "message_ts": message["ts"],
        "message": copy.deepcopy(message),
    }


class SlackSurfaces:
    """Routes for the Home tab, Events API deliveries, message shortcuts and user posts."""

    def __init__(self, slack: SlackSimulator, events: EventLog) -> None:
        """Act through `slack` (its workspace, Home tabs and signed delivery to the app)."""
        self._slack = slack
        self._events = events
        self._sent: dict[str, dict[str, Any]] = {}

    def register(self, app: web.Application) -> None:
        """Add the routes to `app`."""
        app.router.add_get("/sim/slack/home", self._list_homes)
        app.router.add_post("/sim/slack/home/open", self._open_home)
        app.router.add_post("/sim/slack/home/click", self._click_home)
        app.router.add_post("/sim/slack/app-event", self._app_event)
        app.router.add_post("/sim/slack/url-verification", self._url_verification)
        app.router.add_post("/sim/slack/shortcut", self._shortcut)
        app.router.add_post("/sim/slack/post", self._post)

    def reset(self) -> None:
        """Forget the envelopes sent (their event IDs can no longer be retried)."""
        self._sent.clear()

    # --- the Events API ------------------------------------------------------------------------

    async def _deliver(
        self, envelope: dict[str, Any], data: dict[str, Any], retry: tuple[int, str] | None
    ) -> Delivery:
        headers = (
            {"X-Slack-Retry-Num": str(retry[0]), "X-Slack-Retry-Reason": retry[1]} if retry else {}
        )
        options = DeliveryOptions.from_request(data)
        body = _compact(envelope)
        return await self._slack.post_signed(
            EVENTS_PATH, body, "application/json", options, headers
        )

    async def _send_event(self, event: dict[str, Any], data: dict[str, Any]) -> dict[str, Any]:
        """Deliver `event` (or resend the envelope named by `retry_of`); the answer to return."""
        retry_of = httputil.optional_str(data, "retry_of")
        retry: tuple[int, str] | None = None
        if retry_of:
            envelope = self._sent.get(retry_of)
            if envelope is None:
                raise httputil.bad_request(f"no event {retry_of} was sent", 404)
            number = httputil.optional_number(data, "retry_num", 1, MAX_RETRY_NUM)
            reason = (
                httputil.optional_str(data, "retry_reason", RETRY_REASONS[0]) or RETRY_REASONS[0]
            )
            if reason not in RETRY_REASONS:
                raise httputil.bad_request(
                    f"'retry_reason' must be one of {', '.join(RETRY_REASONS)}"
                )
            retry = (int(number or 1), reason)
        else:
            envelope = event_envelope(event, verification_token=self._slack.verification_token)
            self._sent[envelope["event_id"]] = envelope
        delivery = await self._deliver(envelope, data, retry)
        record = {
            "event_id": envelope["event_id"],
            "event_type": envelope["event"].get("type"),
            "user_id": envelope["event"].get("user"),
            "retry_num": retry[0] if retry else 0,
            **delivery.describe(),
        }
        self._events.add("slack", "event_delivery", record)
        log.info(
            "Slack simulator: event %s (%s) -> %s",
            record["event_type"],
            record["event_id"],
            delivery.status,
        )
        return {**delivery.describe(), "event_id": envelope["event_id"]}

    async def _app_event(self, request: web.Request) -> web.StreamResponse:
        data = await httputil.read_json_object(request)
        event = data.get("event")
        if not data.get("retry_of") and (
            not isinstance(event, dict) or not isinstance(event.get("type"), str)
        ):
            raise httputil.bad_request("'event' must be an object with a 'type'")
        return httputil.json_answer(await self._send_event(copy.deepcopy(event or {}), data))

    async def _url_verification(self, request: web.Request) -> web.StreamResponse:
        data = await httputil.read_json_object(request)
        challenge = secrets.token_urlsafe(32)
        body = {
            "token": self._slack.verification_token,
            "challenge": challenge,
            "type": "url_verification",
        }
        delivery = await self._deliver(body, data, None)
        # Slack accepts the challenge as plain text or as the `challenge` of a JSON object.
        text = (delivery.body or "").strip()
        try:
            parsed = json.loads(text)
        except ValueError:
            parsed = None
        echoed = parsed.get("challenge") if isinstance(parsed, dict) else text
        verified = delivery.status == 200 and echoed == challenge
        return httputil.json_answer(
            {**delivery.describe(), "challenge": challenge, "verified": verified}
        )

    # --- the App Home tab ----------------------------------------------------------------------

    async def _list_homes(self, request: web.Request) -> web.StreamResponse:
        return httputil.json_answer({"homes": self._slack.home.homes(request.query.get("user_id"))})

    async def _open_home(self, request: web.Request) -> web.StreamResponse:
        """The user opens the app's Home tab: Slack sends `app_home_opened`, every time."""
        data = await httputil.read_json_object(request)
        user = self._slack.user_from(data)
        tab = httputil.optional_str(data, "tab", "home") or "home"
        if tab not in HOME_TABS:
            raise httputil.bad_request(f"'tab' must be one of {', '.join(HOME_TABS)}")
        event: dict[str, Any] = {
            "type": "app_home_opened",
            "user": user.user_id,
            "channel": stable_id("D", user.user_id),
            "tab": tab,
            "event_ts": f"{time.time():.6f}",
        }
        home = self._slack.home.home_of(user.user_id)
        if home is not None and tab == "home":
            event["view"] = copy.deepcopy(home.view)
        answer = await self._send_event(event, data)
        after = self._slack.home.home_of(user.user_id)
        return httputil.json_answer({**answer, "home": after.snapshot() if after else None})

    async def _click_home(self, request: web.Request) -> web.StreamResponse:
        """Click a button on the user's Home tab: a `block_actions` payload from a view."""
        data = await httputil.read_json_object(request)
        user = self._slack.user_from(data)
        action_id = httputil.required_str(data, "action_id")
        home = self._slack.home.home_of(user.user_id)
        if home is None:
            raise httputil.bad_request(f"user {user.user_id} has no Home tab yet", 404)
        found = find_button(
            home.view["blocks"],
            action_id,
            httputil.optional_str(data, "block_id"),
            httputil.optional_str(data, "button_value"),
        )
        if found is None:
            raise httputil.bad_request(
                f"no button with action_id {action_id!r} on the Home tab", 404
            )
        container = {"type": "view", "view_id": home.view["id"]}
        return await self._slack.click(user, data, found, container, {"view": home.view})

    # --- channel messages: posting and shortcuts -----------------------------------------------

    def _channel(self, channel: str) -> tuple[str, str]:
        """Return (ID, name) of a channel given by name or ID; 404 when there is none."""
        if channel.removeprefix("#") in (COMMAND_CHANNEL_ID, COMMAND_CHANNEL_NAME):
            return COMMAND_CHANNEL_ID, COMMAND_CHANNEL_NAME
        if channel.startswith("D"):
            return channel, DM_CHANNEL_NAME
        found = self._slack.workspace.channel_named(channel)
        if found is None:
            raise httputil.bad_request(f"no channel {channel}", 404)
        return found[0], found[1] or ""

    async def _post(self, request: web.Request) -> web.StreamResponse:
        """The user types a message in a channel; it is stored as Slack stores it."""
        data = await httputil.read_json_object(request)
        user = self._slack.user_from(data)
        typed = httputil.required_str(data, "text")
        channel = httputil.optional_str(data, "channel", COMMAND_CHANNEL_ID) or COMMAND_CHANNEL_ID
        if channel.startswith("D"):
            raise httputil.bad_request("people post here in channels only (a name or a C… ID)")
        channel_id, channel_name = self._channel(channel)
        text, blocks = typed_message(typed)
        record = self._slack.workspace.post_as_user(
            channel_id, channel_name, user.user_id, text, blocks
        )
        log.info("Slack simulator: %s posted in %s", user.user_id, channel_name or channel_id)
        return httputil.json_answer(
            {"ok": True, "channel": channel_id, "ts": record["message"]["ts"]}
            | {"message": record["message"]}
        )

    async def _shortcut(self, request: web.Request) -> web.StreamResponse:
        """Run a message shortcut on a message: a `message_action` payload."""
        data = await httputil.read_json_object(request)
        user = self._slack.user_from(data)
        channel_id, channel_name = self._channel(httputil.required_str(data, "channel"))
        ts = httputil.required_str(data, "ts")
        record = self._slack.workspace.message(channel_id, ts)
        if record is None:
            raise httputil.bad_request(f"no message {ts} in {channel_id}", 404)
        callback_id = httputil.optional_str(data, "callback_id", SHORTCUT_CALLBACK_ID)
        payload = message_action_payload(
            user,
            callback_id=callback_id or SHORTCUT_CALLBACK_ID,
            channel={"id": channel_id, "name": channel_name},
            message=record["message"],
            response_url=self._slack.new_response_url(channel_id, user.user_id),
            verification_token=self._slack.verification_token,
            trigger_id=self._slack.workspace.issue_trigger(user.user_id, user.team_id),
        )
        delivery = await self._slack.send_interaction(payload, DeliveryOptions.from_request(data))
        self._events.add(
            "slack",
            "shortcut",
            {
                "user_id": user.user_id,
                "callback_id": payload["callback_id"],
                "channel": channel_id,
                "message_ts": ts,
            }
            | delivery.describe(),
        )
        log.info("Slack simulator: %s ran shortcut %s", user.user_id, payload["callback_id"])
        return httputil.json_answer({**delivery.describe(), "trigger_id": payload["trigger_id"]})
