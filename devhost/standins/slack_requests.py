"""Slack's requests to the app, shaped as Slack sends them and signed as Slack signs them.

The IDs, form fields and signature are the Slack simulator's (`devhost.simulate`), so a test,
a benchmark and devhost send the app the same requests.
"""

from __future__ import annotations

import itertools
import json
import threading
import time
from typing import Any
from urllib.parse import urlencode

from devhost.simulate.slack_user import (
    COMMAND_CHANNEL_ID,
    COMMAND_CHANNEL_NAME,
    SlackUser,
    slack_signature,
    slash_command_form,
)
from devhost.simulate.slack_user import view_submission_payload as submission_payload
from devhost.simulate.slack_workspace import APP_ID, BOT_ID, TEAM_ID, Trigger, ViewRecord

# The user and channel Slack's requests come from unless told otherwise (fixed values).
USER_ID = "U0ALLOWED1"
USER_NAME = "jane_doe"
CHANNEL_ID = COMMAND_CHANNEL_ID
CHANNEL_NAME = COMMAND_CHANNEL_NAME
# The signing secret these requests are signed with unless told otherwise (a test value).
SLACK_SIGNING_SECRET = "test-signing-secret-abcdef"  # noqa: S105 - a known test value

FORM_CONTENT_TYPE = "application/x-www-form-urlencoded"
LEGACY_VERIFICATION_TOKEN = "legacy-verification-token"  # noqa: S105 - a known test value
# Slack's response URLs; a loopback port nothing listens on, so a stray call fails fast.
RESPONSE_URL_BASE = "http://127.0.0.1:9/slack-response"

# The fields of a slash command's form, in the order Slack sends them.
SLASH_COMMAND_FIELDS = (
    "token",
    "team_id",
    "team_domain",
    "channel_id",
    "channel_name",
    "user_id",
    "user_name",
    "command",
    "text",
    "api_app_id",
    "is_enterprise_install",
    "response_url",
    "trigger_id",
)

_trigger_counter = itertools.count(1)
_trigger_lock = threading.Lock()
_issued: dict[str, Trigger] = {}


def new_trigger_id(user_id: str = USER_ID, team_id: str = TEAM_ID) -> str:
    """Issue a fresh trigger ID for ``user_id``, in Slack's ``<number>.<number>.<hex>`` shape.

    The in-process Slack Web API (`slack_stub`) accepts it in ``views.open`` as Slack does:
    once, within three seconds of now.
    """
    with _trigger_lock:
        n = next(_trigger_counter)
    return issue_trigger(f"{7000000000 + n}.{1234567890 + n}.{n:032x}", user_id, team_id)


def issue_trigger(trigger_id: str, user_id: str = USER_ID, team_id: str = TEAM_ID) -> str:
    """Issue ``trigger_id`` (a value a test chose) to ``user_id`` now, as `new_trigger_id` does."""
    with _trigger_lock:
        _issued[trigger_id] = Trigger(user_id, team_id, time.monotonic())
    return trigger_id


def issued_trigger(trigger_id: str) -> Trigger | None:
    """Return who ``new_trigger_id`` issued ``trigger_id`` to, and when; ``None`` if it did not."""
    with _trigger_lock:
        return _issued.get(trigger_id)


def slack_headers(
    secret: str = SLACK_SIGNING_SECRET, body: bytes = b"", timestamp: int | None = None
) -> dict[str, str]:
    """The headers Slack sends with ``body``: content type, timestamp and v0 signature.

    ``timestamp`` defaults to now (seconds since the epoch).
    """
    ts = str(int(time.time()) if timestamp is None else timestamp)
    return {
        "Content-Type": FORM_CONTENT_TYPE,
        "X-Slack-Request-Timestamp": ts,
        "X-Slack-Signature": signature_for(body, ts, secret),
    }


def signature_for(body: bytes, timestamp: str, secret: str = SLACK_SIGNING_SECRET) -> str:
    """Slack's ``v0=`` signature of the raw ``body`` bytes at ``timestamp`` with ``secret``."""
    return slack_signature(secret, timestamp, body)


def slash_command_body(**overrides: str) -> bytes:
    """A ``/flush`` slash-command form body; ``overrides`` replace or add fields.

    ``text`` is what the person typed: it is sent escaped, as Slack sends it.
    """
    user_id = overrides.get("user_id", USER_ID)
    team_id = overrides.get("team_id", TEAM_ID)
    chosen = overrides.get("trigger_id")
    trigger_id = (
        issue_trigger(chosen, user_id, team_id) if chosen else new_trigger_id(user_id, team_id)
    )
    user = SlackUser(user_id, overrides.get("user_name", USER_NAME), team_id)
    fields = slash_command_form(
        user,
        command="/flush",
        text=overrides.get("text", ""),
        channel_id=CHANNEL_ID,
        channel_name=CHANNEL_NAME,
        verification_token=LEGACY_VERIFICATION_TOKEN,
        response_url=f"{RESPONSE_URL_BASE}/commands/{team_id}/{trigger_id.split('.')[0]}",
        trigger_id=trigger_id,
    )
    fields.update((name, value) for name, value in overrides.items() if name != "text")
    return urlencode(fields).encode("ascii")


def interaction_body(payload: dict[str, Any]) -> bytes:
    """An interactivity form body: ``payload=<JSON>``."""
    return urlencode({"payload": json.dumps(payload)}).encode("ascii")


def view_submission_payload(
    *,
    user_id: str = USER_ID,
    user_name: str = USER_NAME,
    team_id: str = TEAM_ID,
    view_id: str = "V0FORM0001",
    environment: str | None = "staging",
    urls_text: str | None = "https://www.nhs.uk/conditions/",
    callback_id: str = "cache_flush_request",
    private_metadata: str = "",
    **extra: Any,
) -> dict[str, Any]:
    """A ``view_submission`` payload as Slack sends it for the form.

    ``environment=None`` leaves the select without a selection, ``urls_text=None`` the text
    input empty (Slack sends ``null`` for both). ``extra`` is merged into the top level.
    """
    selected = (
        None
        if environment is None
        else {
            "text": {"type": "plain_text", "text": environment.capitalize(), "emoji": True},
            "value": environment,
        }
    )
    view = {
        "id": view_id,
        "team_id": team_id,
        "type": "modal",
        "blocks": [
            {
                "type": "input",
                "block_id": "environment",
                "label": {"type": "plain_text", "text": "Environment"},
                "element": {"type": "static_select", "action_id": "environment_input"},
            },
            {
                "type": "input",
                "block_id": "urls",
                "label": {"type": "plain_text", "text": "URLs"},
                "element": {
                    "type": "plain_text_input",
                    "action_id": "urls_input",
                    "multiline": True,
                },
            },
        ],
        "private_metadata": private_metadata,
        "callback_id": callback_id,
        "hash": f"{int(time.time())}.abcDEF12",
        "title": {"type": "plain_text", "text": "Cache Flush"},
        "clear_on_close": False,
        "notify_on_close": False,
        "close": {"type": "plain_text", "text": "Cancel"},
        "submit": {"type": "plain_text", "text": "Submit"},
        "previous_view_id": None,
        "root_view_id": view_id,
        "app_id": APP_ID,
        "external_id": "",
        "app_installed_team_id": team_id,
        "bot_id": BOT_ID,
    }
    values = {
        "environment": {
            "environment_input": {"type": "static_select", "selected_option": selected}
        },
        "urls": {"urls_input": {"type": "plain_text_input", "value": urls_text}},
    }
    payload = submission_payload(
        SlackUser(user_id, user_name, team_id),
        ViewRecord(view=view, user_id=user_id, team_id=team_id),
        values,
        verification_token=LEGACY_VERIFICATION_TOKEN,
        trigger_id=new_trigger_id(user_id, team_id),
    )
    payload.update(extra)
    return payload


def view_submission_body(**fields: Any) -> bytes:
    """The form body of ``view_submission_payload(**fields)``."""
    return interaction_body(view_submission_payload(**fields))
