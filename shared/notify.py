"""Delivery of one notification to Slack, for the notify activity (SPEC 10.4)."""

from __future__ import annotations

import logging
from typing import Any

from slack_sdk.errors import SlackApiError

from shared.settings import Settings
from shared.slack_api import BACKGROUND_TIMEOUT_SECONDS, error_code, is_closed_view, web_client

logger = logging.getLogger(__name__)

RATE_LIMIT_RETRIES = 2


class DeliveryError(Exception):
    """Slack refused a notification; the message names the method and Slack's error code."""


def notify(settings: Settings, request: dict[str, Any]) -> dict[str, Any]:
    """Update a view (`kind: view`) or post a message (`kind: message`).

    A view the user closed, or Slack expired, counts as delivered-nothing and returns
    `{"delivered": False, "reason": ...}`; any other Slack error raises, so the
    orchestrator's retry policy can try again.
    """
    client = web_client(settings, BACKGROUND_TIMEOUT_SECONDS, RATE_LIMIT_RETRIES)
    method = "views.update" if request["kind"] == "view" else "chat.postMessage"
    try:
        if request["kind"] == "view":
            client.views_update(view_id=request["view_id"], view=request["view"])
        else:
            client.chat_postMessage(
                channel=request["channel"], text=request["text"], blocks=request["blocks"]
            )
    except SlackApiError as error:
        if request["kind"] == "view" and is_closed_view(error):
            logger.info("The modal was closed before the result arrived")
            return {"delivered": False, "reason": error_code(error)}
        raise DeliveryError(f"{method}: Slack answered {error_code(error)}") from error
    return {"delivered": True, "reason": None}
