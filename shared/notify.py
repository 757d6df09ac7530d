"""Delivery of one notification to Slack, for the notify activity (doc/behaviour.md).

A view the user closed, or Slack expired, counts as delivered-nothing, and so does a message
to update that someone deleted; any other Slack error raises `DeliveryError`, so the
orchestrator's retry policy can try again. A rate limit is waited out only when Slack asks
for a short wait: a longer one raises at once, and the durable retry policy takes over
instead of the activity sleeping until its timeout.
"""

from __future__ import annotations

import logging
from typing import Any, assert_never

from slack_sdk.errors import SlackApiError
from slack_sdk.web.slack_response import SlackResponse

from shared.errors import AppError
from shared.handoffs import Delivery, Notification, NotificationKind
from shared.settings import Settings
from shared.slack_api import (
    BACKGROUND_MAX_RETRY_AFTER_SECONDS,
    BACKGROUND_TIMEOUT_SECONDS,
    error_code,
    is_closed_view,
    web_client,
)

logger = logging.getLogger(__name__)

RATE_LIMIT_RETRIES = 2
DELETED_MESSAGE_ERRORS = frozenset({"message_not_found"})


class DeliveryError(AppError):
    """Slack refused a notification; the message names the method and Slack's error code."""


def _text(response: SlackResponse, name: str) -> str | None:
    value: Any = response.get(name)
    return value if isinstance(value, str) and value else None


def _placed(response: SlackResponse) -> Delivery:
    """A delivered message, with where Slack put it (channel ID and ts)."""
    return Delivery(delivered=True, channel=_text(response, "channel"), ts=_text(response, "ts"))


def deliver(settings: Settings, notification: Notification) -> Delivery:
    """Make the notification's Slack call; for a message, report where it is (channel, ts)."""
    client = web_client(
        settings,
        BACKGROUND_TIMEOUT_SECONDS,
        rate_limit_retries=RATE_LIMIT_RETRIES,
        max_retry_after_seconds=BACKGROUND_MAX_RETRY_AFTER_SECONDS,
    )
    try:
        match notification.kind:
            case NotificationKind.UPDATE_VIEW:
                client.views_update(view_id=notification.view_id, view=notification.view)
                return Delivery(delivered=True)
            case NotificationKind.POST_MESSAGE:
                posted = client.chat_postMessage(
                    channel=notification.channel,
                    text=notification.text,
                    blocks=list(notification.blocks),
                    thread_ts=notification.thread_ts or None,
                )
                return _placed(posted)
            case NotificationKind.UPDATE_MESSAGE:
                updated = client.chat_update(
                    channel=notification.channel,
                    ts=notification.ts,
                    text=notification.text,
                    blocks=list(notification.blocks),
                )
                return _placed(updated)
            case _:
                assert_never(notification.kind)
    except SlackApiError as error:
        code = error_code(error)
        if notification.kind is NotificationKind.UPDATE_VIEW and is_closed_view(error):
            logger.info("The modal was closed before the result arrived")
            return Delivery(delivered=False, reason=code)
        if notification.kind is NotificationKind.UPDATE_MESSAGE and code in DELETED_MESSAGE_ERRORS:
            logger.info("The message to update no longer exists")
            return Delivery(delivered=False, reason=code)
        method = notification.slack_method
        raise DeliveryError(f"{method}: Slack answered {code}") from error
