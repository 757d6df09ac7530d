"""Delivery of one notification to Slack, for the notify activity (SPEC 10.4)."""

from __future__ import annotations

import logging
from typing import Any

from shared.settings import Settings
from shared.slack_api import BACKGROUND_TIMEOUT_SECONDS, error_code, is_closed_view, web_client

logger = logging.getLogger(__name__)

RATE_LIMIT_RETRIES = 2


def notify(settings: Settings, request: dict[str, Any]) -> dict[str, Any]:
    """Update a view (`kind: view`) or post a message (`kind: message`).

    A view the user closed, or Slack expired, counts as delivered-nothing and returns
    `{"delivered": False, "reason": ...}`; any other Slack error raises, so the
    orchestrator's retry policy can try again.
    """
    client = web_client(settings, BACKGROUND_TIMEOUT_SECONDS, RATE_LIMIT_RETRIES)
    if request["kind"] == "view":
        try:
            client.views_update(view_id=request["view_id"], view=request["view"])
        except Exception as error:
            if not is_closed_view(error):
                raise
            logger.info("The modal was closed before the result arrived")
            return {"delivered": False, "reason": error_code(error)}
    else:
        client.chat_postMessage(
            channel=request["channel"], text=request["text"], blocks=request["blocks"]
        )
    return {"delivered": True, "reason": None}
