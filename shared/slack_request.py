"""Verification and parsing of requests that claim to come from Slack (doc/behaviour.md)."""

from __future__ import annotations

import json
import logging
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any
from urllib.parse import parse_qs

from slack_sdk.signature import Clock, SignatureVerifier

logger = logging.getLogger(__name__)

MAX_BODY_BYTES = 1024 * 1024
TIMESTAMP_HEADER = "x-slack-request-timestamp"
SIGNATURE_HEADER = "x-slack-signature"
MAX_TIMESTAMP_DIGITS = 20


class RejectedRequest(Exception):
    """A request the app refuses; `status` is the HTTP answer and the message its reason."""

    def __init__(self, status: int, reason: str) -> None:
        super().__init__(reason)
        self.status = status
        self.reason = reason


class _InjectedClock(Clock):
    def __init__(self, now: Callable[[], float]) -> None:
        self._now = now

    def now(self) -> float:
        return self._now()


def _is_decimal(text: str) -> bool:
    """Only ASCII digits: `str.isdigit` also accepts `²` or `٣`, which `int` refuses."""
    return text.isascii() and text.isdigit()


def _declares_too_much(content_length: str) -> bool:
    """Whether a decimal Content-Length exceeds 1 MiB.

    Lengths are compared first, so a thousand-digit value never reaches `int`'s limit.
    """
    if not _is_decimal(content_length):
        return False
    digits = content_length.lstrip("0")
    return len(digits) > len(str(MAX_BODY_BYTES)) or int(digits or "0") > MAX_BODY_BYTES


def check_size(body: bytes, headers: Mapping[str, str]) -> None:
    """Refuse bodies over 1 MiB (413), whatever Content-Length claims."""
    if len(body) > MAX_BODY_BYTES or _declares_too_much(headers.get("content-length", "")):
        raise RejectedRequest(413, "Request body is larger than 1 MiB")


def _is_utf8(body: bytes) -> bool:
    try:
        body.decode("utf-8")
    except UnicodeDecodeError:
        return False
    return True


def verify_signature(
    body: bytes,
    headers: Mapping[str, str],
    signing_secret: str,
    now: Callable[[], float] = time.time,
) -> None:
    """Check Slack's signature and the 5-minute replay window, or raise a 401.

    The comparison is constant-time (slack-sdk's SignatureVerifier). The log line says
    why the request was refused without echoing the body or the signature.
    """
    lowered = {key.lower(): value for key, value in headers.items()}
    timestamp = lowered.get(TIMESTAMP_HEADER, "")
    signature = lowered.get(SIGNATURE_HEADER, "")
    verifier = SignatureVerifier(signing_secret, clock=_InjectedClock(now))
    well_formed = _is_decimal(timestamp) and len(timestamp) <= MAX_TIMESTAMP_DIGITS
    if not well_formed or not signature or not signature.isascii():
        reason = "missing or malformed signature headers"
    elif not _is_utf8(body):
        reason = "body is not UTF-8, so it cannot carry a Slack signature"
    elif not verifier.is_valid(body=body, timestamp=timestamp, signature=signature):
        reason = "signature mismatch or timestamp outside the 5-minute window"
    else:
        return
    logger.warning("Refused a request that Slack did not sign: %s", reason)
    raise RejectedRequest(401, "Invalid Slack signature")


def parse_form(body: bytes) -> dict[str, str]:
    """Decode an `application/x-www-form-urlencoded` body strictly, or raise a 400."""
    try:
        text = body.decode("utf-8")
        fields = parse_qs(text, keep_blank_values=True, strict_parsing=bool(text), errors="strict")
    except (UnicodeDecodeError, ValueError) as error:
        raise RejectedRequest(400, "Body is not a valid form encoding") from error
    return {name: values[0] for name, values in fields.items()}


def _required(fields: Mapping[str, Any], names: tuple[str, ...], what: str) -> None:
    missing = [name for name in names if not isinstance(fields.get(name), str) or not fields[name]]
    if missing:
        raise RejectedRequest(400, f"{what} is missing {', '.join(missing)}")


@dataclass(frozen=True)
class SlashCommand:
    """The fields of a slash command the app uses."""

    user_id: str
    user_name: str
    team_id: str
    trigger_id: str
    text: str


def parse_slash_command(fields: Mapping[str, str]) -> SlashCommand:
    """Build a SlashCommand from the form fields, or raise a 400 naming what is missing."""
    _required(fields, ("user_id", "trigger_id"), "Slash command")
    return SlashCommand(
        user_id=fields["user_id"],
        user_name=fields.get("user_name", "") or fields["user_id"],
        team_id=fields.get("team_id", ""),
        trigger_id=fields["trigger_id"],
        text=fields.get("text", ""),
    )


def parse_interaction(fields: Mapping[str, str]) -> dict[str, Any]:
    """Return the JSON `payload` of an interaction, or raise a 400."""
    raw = fields.get("payload")
    if raw is None:
        raise RejectedRequest(400, "Interaction is missing its payload")
    try:
        payload = json.loads(raw)
    except (ValueError, RecursionError) as error:
        raise RejectedRequest(400, "Interaction payload is not JSON") from error
    if not isinstance(payload, dict) or not isinstance(payload.get("type"), str):
        raise RejectedRequest(400, "Interaction payload has no type")
    return payload


@dataclass(frozen=True)
class ViewSubmission:
    """The fields of a `view_submission` interaction the app uses."""

    user_id: str
    user_name: str
    team_id: str
    view_id: str
    callback_id: str
    values: dict[str, Any]
    enterprise_id: str | None = None


def _object(value: Any) -> dict[str, Any]:
    return value if isinstance(value, dict) else {}


def _text(value: Any) -> str:
    return value if isinstance(value, str) else ""


def parse_view_submission(payload: Mapping[str, Any]) -> ViewSubmission:
    """Pick the user, team, view and form values out of a `view_submission` payload."""
    user = _object(payload.get("user"))
    view = _object(payload.get("view"))
    state = _object(view.get("state"))
    if not _text(user.get("id")) or not _text(view.get("id")):
        raise RejectedRequest(400, "View submission is missing the user or the view")
    team_id = (
        _text(_object(payload.get("team")).get("id"))
        or _text(user.get("team_id"))
        or _text(view.get("team_id"))
    )
    return ViewSubmission(
        user_id=user["id"],
        user_name=_text(user.get("username")) or _text(user.get("name")) or user["id"],
        team_id=team_id,
        view_id=view["id"],
        callback_id=_text(view.get("callback_id")),
        values=_object(state.get("values")),
        enterprise_id=_enterprise_id(payload),
    )


def _enterprise_id(payload: Mapping[str, Any]) -> str | None:
    """The Enterprise Grid organisation of an interaction, or None outside Grid."""
    enterprise = _text(_object(payload.get("enterprise")).get("id"))
    return enterprise or _text(_object(payload.get("user")).get("enterprise_id")) or None


def verified_body(body: bytes, headers: Mapping[str, str], signing_secret: str) -> bytes:
    """Size check, then signature check: the gate for every Slack request, before parsing."""
    lowered = {key.lower(): value for key, value in headers.items()}
    check_size(body, lowered)
    verify_signature(body, lowered, signing_secret)
    return body


def verified_form(body: bytes, headers: Mapping[str, str], signing_secret: str) -> dict[str, str]:
    """The gate, then form decoding (slash commands and interactions)."""
    return parse_form(verified_body(body, headers, signing_secret))


def verified_json(body: bytes, headers: Mapping[str, str], signing_secret: str) -> dict[str, Any]:
    """The gate, then a JSON object (Events API deliveries), or a 400."""
    try:
        data = json.loads(verified_body(body, headers, signing_secret).decode("utf-8"))
    except ValueError as error:
        raise RejectedRequest(400, "Body is not a JSON object") from error
    if not isinstance(data, dict):
        raise RejectedRequest(400, "Body is not a JSON object")
    return data


@dataclass(frozen=True)
class BlockAction:
    """A click on an interactive element (`block_actions`), with what the app uses of it.

    `channel_id` and `message_ts` identify the clicked message, and `view_id` the modal
    clicked in; a click in a modal has no channel. `team_id` and `enterprise_id` are the
    clicker's workspace and Enterprise Grid organisation (None outside Grid).
    """

    user_id: str
    user_name: str
    action_id: str
    value: str
    channel_id: str | None
    view_id: str | None
    team_id: str = ""
    enterprise_id: str | None = None
    message_ts: str | None = None
    view_type: str | None = None
    trigger_id: str = ""

    @property
    def on_home_tab(self) -> bool:
        """Whether the click was made on the app's Home tab."""
        return self.view_type == "home"


def parse_block_action(payload: Mapping[str, Any]) -> BlockAction | None:
    """The first action of a `block_actions` payload, or None when it carries no action.

    Strict: a payload without an `actions` list, or whose action or user is malformed,
    raises a 400 naming what is wrong.
    """
    actions = payload.get("actions")
    if not isinstance(actions, list):
        raise RejectedRequest(400, "Block action is missing its actions list")
    if not actions:
        return None
    action = actions[0]
    if not isinstance(action, dict) or not _text(action.get("action_id")):
        raise RejectedRequest(400, "Block action has no action_id")
    value = action.get("value", "")
    if not isinstance(value, str):
        raise RejectedRequest(400, "Block action value is not text")
    user = _object(payload.get("user"))
    if not _text(user.get("id")):
        raise RejectedRequest(400, "Block action is missing the user")
    container = _object(payload.get("container"))
    in_view = container.get("type") == "view"
    channel_id = _text(container.get("channel_id")) or _text(
        _object(payload.get("channel")).get("id")
    )
    view_id = _text(container.get("view_id")) or _text(_object(payload.get("view")).get("id"))
    return BlockAction(
        user_id=user["id"],
        user_name=_text(user.get("username")) or _text(user.get("name")) or user["id"],
        action_id=action["action_id"],
        value=value,
        channel_id=None if in_view else channel_id or None,
        view_id=(view_id or None) if in_view else None,
        team_id=_text(_object(payload.get("team")).get("id")) or _text(user.get("team_id")),
        enterprise_id=_enterprise_id(payload),
        view_type=(_text(_object(payload.get("view")).get("type")) or None) if in_view else None,
        trigger_id=_text(payload.get("trigger_id")),
        message_ts=None
        if in_view
        else _text(container.get("message_ts"))
        or _text(_object(payload.get("message")).get("ts"))
        or None,
    )


@dataclass(frozen=True)
class MessageShortcut:
    """A message shortcut (`message_action`): who used it, on which message, with what trigger."""

    callback_id: str
    trigger_id: str
    user_id: str
    user_name: str
    team_id: str
    message: dict[str, Any]


def parse_message_shortcut(payload: Mapping[str, Any]) -> MessageShortcut:
    """The shortcut a `message_action` payload carries, or a 400 naming what is missing."""
    user = _object(payload.get("user"))
    trigger_id, user_id = _text(payload.get("trigger_id")), _text(user.get("id"))
    if not trigger_id or not user_id:
        raise RejectedRequest(400, "Message shortcut is missing its trigger_id or user")
    return MessageShortcut(
        callback_id=_text(payload.get("callback_id")),
        trigger_id=trigger_id,
        user_id=user_id,
        user_name=_text(user.get("username")) or _text(user.get("name")) or user_id,
        team_id=_text(_object(payload.get("team")).get("id")) or _text(user.get("team_id")),
        message=_object(payload.get("message")),
    )
