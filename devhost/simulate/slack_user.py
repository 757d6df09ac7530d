"""The simulated user's side of Slack: the payloads Slack sends an app, built as Slack does."""

from __future__ import annotations

import copy
import hashlib
import hmac
from dataclasses import dataclass
from typing import Any

from devhost.simulate.slack_blocks import (
    SINGLE_SELECTS,
    TEXT_INPUTS,
    InputField,
    input_fields,
    is_empty,
    state_entry,
)
from devhost.simulate.slack_typed import escape
from devhost.simulate.slack_workspace import APP_ID, TEAM_DOMAIN, TEAM_ID, ViewRecord

REQUIRED_FIELD_MESSAGE = "Please fill out this field."
# The channel where the simulated user types slash commands (unless told otherwise).
COMMAND_CHANNEL_ID = "C0SIMGENRL"
COMMAND_CHANNEL_NAME = "general"


def slack_signature(secret: str, timestamp: str, body: bytes) -> str:
    """Return Slack's `v0=` signature: HMAC-SHA256 of `v0:{timestamp}:{body}` with `secret`.

    Over the raw body bytes, so bodies that are not UTF-8 can be signed too.
    """
    base = b"v0:" + timestamp.encode("utf-8", "surrogatepass") + b":" + body
    return "v0=" + hmac.new(secret.encode(), base, hashlib.sha256).hexdigest()


@dataclass(frozen=True)
class SlackUser:
    """Who acts in the simulated Slack client."""

    user_id: str
    user_name: str
    team_id: str = TEAM_ID
    team_domain: str = TEAM_DOMAIN

    def payload_fields(self) -> dict[str, Any]:
        """Return the `team` and `user` objects of an interaction payload."""
        return {
            "team": {"id": self.team_id, "domain": self.team_domain},
            "user": {
                "id": self.user_id,
                "username": self.user_name,
                "name": self.user_name,
                "team_id": self.team_id,
            },
        }


def slash_command_form(
    user: SlackUser,
    *,
    command: str,
    text: str,
    channel_id: str,
    channel_name: str,
    verification_token: str,
    response_url: str,
    trigger_id: str,
) -> dict[str, str]:
    """Return the form fields of a slash-command request, in Slack's order.

    Slack always escapes `&`, `<` and `>` in the `text` (the app's `should_escape: false`
    only keeps links, channels and users as typed, not turned into `<…>` tokens).
    """
    return {
        "token": verification_token,
        "team_id": user.team_id,
        "team_domain": user.team_domain,
        "channel_id": channel_id,
        "channel_name": channel_name,
        "user_id": user.user_id,
        "user_name": user.user_name,
        "command": command,
        "text": escape(text),
        "api_app_id": APP_ID,
        "is_enterprise_install": "false",
        "response_url": response_url,
        "trigger_id": trigger_id,
    }


def _pick_field(fields: list[InputField], kinds: frozenset[str], word: str) -> InputField | None:
    candidates = [field for field in fields if field.kind in kinds]
    named = [field for field in candidates if field.mentions(word)]
    multiline = [field for field in candidates if field.element.get("multiline")]
    for group in (named, multiline, candidates):
        if group:
            return group[0]
    return None


def shortcut_answers(view: dict[str, Any], data: dict[str, Any]) -> dict[str, Any]:
    """Map the `environment` and `urls` shortcuts onto the view's select and text input.

    Returns answers keyed by block ID; raises `ValueError` when the view has no
    field for a shortcut that was given.
    """
    fields = input_fields(view)
    answers: dict[str, Any] = {}
    for key, kinds, word in (
        ("environment", SINGLE_SELECTS, "environment"),
        ("urls", TEXT_INPUTS, "url"),
    ):
        if key not in data:
            continue
        field = _pick_field(fields, kinds, word)
        if field is None:
            raise ValueError(f"the view has no input that '{key}' could fill")
        answers[field.block_id] = data[key]
    return answers


def build_state(
    view: dict[str, Any], answers: dict[str, Any]
) -> tuple[dict[str, Any], dict[str, str]]:
    """Return the view's `state.values` and the required fields left empty.

    `answers` is keyed by block ID or action ID; inputs without an answer keep
    their initial value, as in the Slack client.
    """
    values: dict[str, Any] = {}
    missing: dict[str, str] = {}
    for field in input_fields(view):
        key = next((k for k in (field.block_id, field.action_id) if k in answers), None)
        entry = state_entry(field, answers.get(key) if key else None, answered=key is not None)
        values.setdefault(field.block_id, {})[field.action_id] = entry
        if not field.optional and is_empty(entry):
            missing[field.block_id] = REQUIRED_FIELD_MESSAGE
    return values, missing


def view_submission_payload(
    user: SlackUser,
    record: ViewRecord,
    values: dict[str, Any],
    *,
    verification_token: str,
    trigger_id: str,
) -> dict[str, Any]:
    """Return a `view_submission` interaction payload for the view with the given state."""
    view = copy.deepcopy(record.view)
    view["state"] = {"values": copy.deepcopy(values)}
    return {
        "type": "view_submission",
        **user.payload_fields(),
        "api_app_id": APP_ID,
        "token": verification_token,
        "trigger_id": trigger_id,
        "view": view,
        "response_urls": [],
        "is_enterprise_install": False,
        "enterprise": None,
    }


def view_closed_payload(
    user: SlackUser, record: ViewRecord, *, verification_token: str
) -> dict[str, Any]:
    """Return a `view_closed` interaction payload for a view the user dismissed."""
    return {
        "type": "view_closed",
        **user.payload_fields(),
        "api_app_id": APP_ID,
        "token": verification_token,
        "view": copy.deepcopy(record.view),
        "is_cleared": False,
        "is_enterprise_install": False,
        "enterprise": None,
    }


def find_button(
    blocks: list[Any],
    action_id: str,
    block_id: str | None = None,
    button_value: str | None = None,
) -> tuple[str, dict[str, Any]] | None:
    """Return (block ID, element) of the first button with `action_id` in `blocks`, if any.

    Buttons live in `actions` blocks and as a `section`'s accessory, as in Slack. A view can
    hold several buttons with the same `action_id` (a Flush again per flush): the block ID
    and the button's value pick one.
    """
    for block in blocks:
        if not isinstance(block, dict) or block_id not in (None, block.get("block_id")):
            continue
        elements = block.get("elements") if block.get("type") == "actions" else None
        for element in [*(elements or []), block.get("accessory")]:
            if (
                isinstance(element, dict)
                and element.get("type") == "button"
                and element.get("action_id") == action_id
                and button_value in (None, element.get("value"))
            ):
                return str(block.get("block_id", "")), element
    return None


def block_actions_payload(
    user: SlackUser,
    *,
    container: dict[str, Any],
    context: dict[str, Any],
    block_id: str,
    button: dict[str, Any],
    value: str | None,
    action_ts: str,
    verification_token: str,
    trigger_id: str,
) -> dict[str, Any]:
    """Return a `block_actions` payload for a click on `button`.

    `container` says where the button is (`message` or `view`); `context` adds what Slack
    sends with it (`channel`, `message`, `response_url` for a message, `view` for a modal).
    `value` replaces the button's own value (to test tampered payloads).
    """
    action: dict[str, Any] = {
        "action_id": button["action_id"],
        "block_id": block_id,
        "text": copy.deepcopy(button.get("text")),
        "value": button.get("value", "") if value is None else value,
        "type": "button",
        "action_ts": action_ts,
    }
    if button.get("style"):
        action["style"] = button["style"]
    return {
        "type": "block_actions",
        **user.payload_fields(),
        "api_app_id": APP_ID,
        "token": verification_token,
        "container": container,
        "trigger_id": trigger_id,
        "enterprise": None,
        "is_enterprise_install": False,
        **copy.deepcopy(context),
        "actions": [action],
    }
