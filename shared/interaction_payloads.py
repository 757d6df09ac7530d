"""The interactions the app handles, picked out of Slack's payloads (doc/behaviour.md).

Each parser is strict: a payload missing what the app needs is refused with a 400 naming it.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from shared.slack_request import RejectedRequest


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


def _user_name(user: Mapping[str, Any]) -> str:
    """The user's handle, else their name, else their member ID."""
    return _text(user.get("username")) or _text(user.get("name")) or _text(user.get("id"))


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
        user_name=_user_name(user),
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
        user_name=_user_name(user),
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
        user_name=_user_name(user),
        message=_object(payload.get("message")),
    )
