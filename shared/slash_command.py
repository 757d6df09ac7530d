"""The `/flush` flow: open the modal first, then check the user and show the next view."""

from __future__ import annotations

import logging

from slack_sdk.web.client import WebClient

from shared import allowed_users, views
from shared.settings import Settings
from shared.slack_api import (
    INTERACTIVE_MAX_RETRY_AFTER_SECONDS,
    INTERACTIVE_TIMEOUT_SECONDS,
    error_code,
    is_closed_view,
    web_client,
)
from shared.slack_request import SlashCommand

logger = logging.getLogger(__name__)


def send_dm(client: WebClient, user_id: str, message: views.Message) -> None:
    """Post a direct message; a failure is logged, never raised."""
    try:
        client.chat_postMessage(channel=user_id, text=message["text"], blocks=message["blocks"])
    except Exception as error:
        logger.error("Could not send a direct message: %s", error_code(error))


def handle_slash_command(settings: Settings, command: SlashCommand) -> None:
    """Open the checking view, check access, then update the view (SPEC section 5).

    `views.open` is the first outbound call: the trigger ID expires after 3 seconds.
    """
    client = web_client(
        settings,
        INTERACTIVE_TIMEOUT_SECONDS,
        max_retry_after_seconds=INTERACTIVE_MAX_RETRY_AFTER_SECONDS,
    )
    try:
        opened = client.views_open(trigger_id=command.trigger_id, view=views.checking_view())
        view_id = opened["view"]["id"]
    except Exception as error:
        logger.warning("views.open failed: %s", error_code(error))
        send_dm(client, command.user_id, views.open_failed_message(error_code(error)))
        return
    try:
        _show_next_view(settings, client, command, view_id)
    except Exception as error:
        logger.exception("Unexpected error after the modal opened")
        send_dm(client, command.user_id, views.processing_error_message(error_code(error)))


def _show_next_view(
    settings: Settings, client: WebClient, command: SlashCommand, view_id: str
) -> None:
    notice = None
    try:
        allowed = allowed_users.is_allowed(settings, command.user_id)
    except allowed_users.AccessCheckUnavailable:
        view = views.access_unavailable_view()
    else:
        if allowed:
            view = views.form_view(
                views.initial_urls(command.text),
                settings.flush_allowed_domains,
                settings.flush_allowed_hosts,
            )
        else:
            logger.info("User %s is not on the allowed-users list", command.user_id)
            hint = settings.access_request_hint
            view = views.not_allowed_view(command.user_name, command.user_id, hint)
            notice = views.not_allowed_message(command.user_name, command.user_id, hint)
    try:
        client.views_update(view_id=view_id, view=view)
    except Exception as error:
        if not is_closed_view(error):
            raise
        logger.info("The user closed the modal before it could be updated")
        send_dm(client, command.user_id, views.view_closed_message())
    if notice is not None:
        send_dm(client, command.user_id, notice)
