"""The `/flush` flow: open the modal first, then check the user and show the next view.

The whole flow is held to the request's deadline (doc/adr/0012-one-access-decision.md): no
Slack call may outlast it, and slack-sdk retries only while time is left.
"""

from __future__ import annotations

import logging

from slack_sdk.web.client import WebClient

from shared import access, views
from shared.deadline import Deadline
from shared.settings import Settings
from shared.slack_api import (
    INTERACTIVE_MAX_RETRY_AFTER_SECONDS,
    INTERACTIVE_TIMEOUT_SECONDS,
    error_code,
    is_closed_view,
    web_client,
    within,
)
from shared.slack_request import SlashCommand

logger = logging.getLogger(__name__)

# Kept back from the access check for the views.update (and DM) that follow it.
UPDATE_RESERVE_SECONDS = 0.6


def _bounded(client: WebClient, deadline: Deadline) -> WebClient:
    """The client, its next call bounded by the deadline too."""
    client.timeout = within(INTERACTIVE_TIMEOUT_SECONDS, deadline)  # type: ignore[assignment]
    return client


def send_dm(client: WebClient, user_id: str, message: views.Message, deadline: Deadline) -> None:
    """Post a direct message within the deadline; a failure is logged, never raised."""
    if deadline.expired():
        logger.warning("No time left to send a direct message")
        return
    try:
        _bounded(client, deadline).chat_postMessage(
            channel=user_id, text=message["text"], blocks=message["blocks"]
        )
    except Exception as error:
        logger.error("Could not send a direct message: %s", error_code(error))


def handle_slash_command(settings: Settings, command: SlashCommand, deadline: Deadline) -> None:
    """Open the checking view, check access, then update the view (doc/behaviour.md).

    `views.open` is the first outbound call: the trigger ID expires after 3 seconds. When
    Slack asks it to wait and retry, the allowed-users list is read during the wait.
    """
    access_deadline = deadline.earlier_by(UPDATE_RESERVE_SECONDS)
    client = web_client(
        settings,
        INTERACTIVE_TIMEOUT_SECONDS,
        max_retry_after_seconds=INTERACTIVE_MAX_RETRY_AFTER_SECONDS,
        deadline=deadline,
        while_waiting=lambda: access.prefetch(settings, access_deadline),
    )
    try:
        opened = client.views_open(trigger_id=command.trigger_id, view=views.checking_view())
        view_id = opened["view"]["id"]
    except Exception as error:
        logger.warning("views.open failed: %s", error_code(error))
        notice = views.open_failed_message(error_code(error), settings.support_contact)
        send_dm(client, command.user_id, notice, deadline)
        return
    try:
        _show_next_view(
            settings, client, command, view_id, deadline, access_deadline=access_deadline
        )
    except Exception as error:
        logger.exception("Unexpected error after the modal opened")
        message = views.processing_error_message(error_code(error), settings.support_contact)
        send_dm(client, command.user_id, message, deadline)


def _next_view(
    settings: Settings, command: SlashCommand, decision: access.Access
) -> tuple[views.View, views.Message | None]:
    """The view to show for the decision, and the DM that goes with it, if any."""
    if decision is access.Access.GRANTED:
        urls = views.initial_urls(command.text)
        form = views.form_view(urls, settings.flush_allowed_domains, settings.flush_allowed_hosts)
        return form, None
    if decision is access.Access.UNAVAILABLE:
        return views.access_unavailable_view(settings.support_contact), None
    logger.info("User %s may not flush", command.user_id)
    hint, contact = settings.access_request_hint, settings.support_contact
    return (
        views.not_allowed_view(command.user_name, command.user_id, hint, contact),
        views.not_allowed_message(command.user_name, command.user_id, hint, contact),
    )


def _show_next_view(
    settings: Settings,
    client: WebClient,
    command: SlashCommand,
    view_id: str,
    deadline: Deadline,
    *,
    access_deadline: Deadline,
) -> None:
    """Decide access by `access_deadline`, then show the view (and DM) by `deadline`."""
    decision = access.check(settings, command.user_id, access.Permission.FLUSH, access_deadline)
    view, notice = _next_view(settings, command, decision)
    try:
        _bounded(client, deadline).views_update(view_id=view_id, view=view)
    except Exception as error:
        if not is_closed_view(error):
            raise
        logger.info("The user closed the modal before it could be updated")
        send_dm(client, command.user_id, views.view_closed_message(), deadline)
    if notice is not None:
        send_dm(client, command.user_id, notice, deadline)
