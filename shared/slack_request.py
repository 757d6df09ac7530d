"""Verification and parsing of requests that claim to come from Slack (doc/behaviour.md)."""

from __future__ import annotations

import hashlib
import hmac
import json
import logging
import time
from collections.abc import Callable, Mapping
from typing import Any, NamedTuple
from urllib.parse import parse_qs

from shared.errors import AppError

logger = logging.getLogger(__name__)

MAX_BODY_BYTES = 1024 * 1024
TIMESTAMP_HEADER = "x-slack-request-timestamp"
SIGNATURE_HEADER = "x-slack-signature"
MAX_TIMESTAMP_DIGITS = 20
# How far a request's timestamp may be from now, either way, before it counts as a replay.
REPLAY_WINDOW_SECONDS = 5 * 60


class RejectedRequest(AppError):
    """A request the app refuses; `status` is the HTTP answer and the message its reason."""

    def __init__(self, status: int, reason: str) -> None:
        super().__init__(reason)
        self.status = status
        self.reason = reason


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


def is_signed(body: bytes, timestamp: str, signature: str, signing_secret: str, now: float) -> bool:
    """Slack's `v0` signature: HMAC-SHA256 of `v0:<timestamp>:<body>`, within the window.

    The comparison is constant-time. `timestamp` must be decimal and the body UTF-8.
    """
    if abs(now - int(timestamp)) > REPLAY_WINDOW_SECONDS:
        return False
    base = b"v0:" + timestamp.encode("ascii") + b":" + body
    digest = hmac.new(signing_secret.encode("utf-8"), base, hashlib.sha256).hexdigest()
    return hmac.compare_digest("v0=" + digest, signature)


def verify_signature(
    body: bytes,
    headers: Mapping[str, str],
    signing_secret: str,
    now: Callable[[], float] = time.time,
) -> None:
    """Check Slack's signature and the 5-minute replay window, or raise a 401.

    The check is Slack's documented one, written with the standard library: importing
    slack-sdk's `SignatureVerifier` would load its whole Web client before the first call
    out (doc/adr/0020-the-first-call-without-slack-sdk.md). The log line says why the
    request was refused without echoing the body or the signature.
    """
    lowered = {key.lower(): value for key, value in headers.items()}
    timestamp = lowered.get(TIMESTAMP_HEADER, "")
    signature = lowered.get(SIGNATURE_HEADER, "")
    well_formed = _is_decimal(timestamp) and len(timestamp) <= MAX_TIMESTAMP_DIGITS
    if not well_formed or not signature or not signature.isascii():
        reason = "missing or malformed signature headers"
    elif not _is_utf8(body):
        reason = "body is not UTF-8, so it cannot carry a Slack signature"
    elif not is_signed(body, timestamp, signature, signing_secret, now()):
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


class SlashCommand(NamedTuple):
    """The fields of a slash command the app uses.

    A NamedTuple rather than a dataclass: it is defined on the way to `views.open`, and is
    quicker to create (doc/adr/0020-the-first-call-without-slack-sdk.md).
    """

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
    except (ValueError, RecursionError) as error:  # RecursionError: nested past the limit
        raise RejectedRequest(400, "Body is not a JSON object") from error
    if not isinstance(data, dict):
        raise RejectedRequest(400, "Body is not a JSON object")
    return data
