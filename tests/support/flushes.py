"""Flushes as tests make them: Slack's signed requests to `/api/orchestrator-client`, flushes
the durable API already holds, and a message whose links the shortcut would flush."""

from __future__ import annotations

import dataclasses
import json
from datetime import datetime
from typing import Any

import azure.functions as func

import orchestrator_client
from devhost.standins.slack_requests import slack_headers
from shared.handoffs import FlushRequest
from shared.instance_ids import instance_id
from tests.support import constants
from tests.support.app_env import AppEnv
from tests.support.loop import run
from tests.support.requests import http_request


def call_orchestrator_client(
    env: AppEnv, body: bytes, headers: dict[str, str] | None = None
) -> func.HttpResponse:
    """POST ``body`` to `/api/orchestrator-client`, signed as Slack signs it unless ``headers``."""
    signed = slack_headers(constants.SLACK_SIGNING_SECRET, body) if headers is None else headers
    request = http_request("orchestrator-client", body, signed)
    return run(orchestrator_client.main(request, env.durable_client_binding))


def flush_request(**changes: Any) -> FlushRequest:
    """The test user's request to flush one staging URL, with ``changes`` to its fields."""
    request = FlushRequest(
        user_id=constants.USER_ID,
        user_name=constants.USER_NAME,
        team_id=constants.TEAM_ID,
        view_id="V0FORM0001",
        environment="staging",
        urls=("https://www.nhs.uk/",),
        channel=None,
        retry_interval_ms=5000,
    )
    return dataclasses.replace(request, **changes)


def store_flush(
    env: AppEnv,
    request: FlushRequest,
    status: str = "Completed",
    *,
    custom_status: Any = None,
    created: datetime | None = None,
) -> str:
    """Store the flush of ``request`` in the durable API's stand-in; return its instance ID.

    The input is the JSON text the client sent, as the extension shows it.
    """
    instance = instance_id(request.team_id, request.user_id, request.view_id)
    env.durable_api.set_status(
        instance,
        status,
        input=json.dumps(request.to_dict()),
        custom_status=custom_status,
        created=created,
    )
    return instance


# A message with links in every place Slack puts them: a section's mrkdwn, rich text
# (section, list, quote), and the text, which repeats some; with a mailto link and a mention
# that are not links to flush.
MESSAGE_WITH_LINKS: dict[str, Any] = {
    "text": "Stale: <https://www.nhs.uk/a/> and <https://www.nhs.uk/b/|this page>, "
    "not <mailto:x@nhs.uk> nor <@U0SOMEONE>; also <https://www.nhs.uk/e/>",
    "blocks": [
        {"type": "section", "text": {"type": "mrkdwn", "text": "<https://www.nhs.uk/d/>"}},
        {
            "type": "rich_text",
            "elements": [
                {
                    "type": "rich_text_section",
                    "elements": [
                        {"type": "text", "text": "Stale: "},
                        {"type": "link", "url": "https://www.nhs.uk/a/"},
                        {"type": "link", "url": "https://www.nhs.uk/b/", "text": "this page"},
                    ],
                },
                {
                    "type": "rich_text_list",
                    "elements": [
                        {
                            "type": "rich_text_section",
                            "elements": [{"type": "link", "url": "https://www.nhs.uk/c/"}],
                        }
                    ],
                },
                {
                    "type": "rich_text_quote",
                    "elements": [
                        {"type": "link", "url": "https://www.nhs.uk/f/"},
                        {"type": "link", "url": "https://www.nhs.uk/d/"},
                    ],
                },
            ],
        },
    ],
}
# Its links, each once, in order: the blocks first, then the text.
MESSAGE_LINKS = [f"https://www.nhs.uk/{page}/" for page in ("d", "a", "b", "c", "f", "e")]
