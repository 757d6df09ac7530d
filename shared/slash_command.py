"""The `/flush` flow: open the modal first, then check the user and show the next view.

The whole flow is held to the request's deadline (doc/adr/0012-one-access-decision.md): no
Slack call may outlast it, and slack-sdk retries only while time is left.
"""

from __future__ import annotations

import logging

from slack_sdk.http_retry.handler import RetryHandler
from slack_sdk.http_retry.request import HttpRequest
from slack_sdk.http_retry.response import HttpResponse
from slack_sdk.http_retry.state import RetryState
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
)
from shared.slack_request import SlashCommand

logger = logging.getLogger(__name__)

# Kept back from the access check for the views.update (and DM) that follow it.
UPDATE_RESERVE_SECONDS = 0.6
# A retry is attempted only when at least this much time is left after its wait.
MIN_RETRY_SECONDS = 0.3


class _WithinDeadline(RetryHandler):
    """A slack-sdk retry handler that retries only while the deadline leaves time."""

    def __init__(self, inner: RetryHandler, client: WebClient, deadline: Deadline) -> None:
        super().__init__(max_retry_count=inner.max_retry_count)
        self._inner = inner
        self._client = client
        self._deadline = deadline

    def can_retry(
        self,
        *,
        state: RetryState,
        request: HttpRequest,
        response: HttpResponse | None = None,
        error: Exception | None = None,
    ) -> bool:
        """Defer to the wrapped handler, unless the deadline is too close."""
        if self._deadline.remaining() < INTERACTIVE_MAX_RETRY_AFTER_SECONDS + MIN_RETRY_SECONDS:
            return False
        return self._inner.can_retry(state=state, request=request, response=response, error=error)

    def prepare_for_next_attempt(
        self,
        *,
        state: RetryState,
        request: HttpRequest,
        response: HttpResponse | None = None,
        error: Exception | None = None,
    ) -> None:
        """Wait as the wrapped handler does, then give the next attempt what remains."""
        self._inner.prepare_for_next_attempt(
            state=state, request=request, response=response, error=error
        )
        self._client.timeout = _timeout(self._deadline)  # type: ignore[assignment]


def _timeout(deadline: Deadline) -> float:
    """One Slack call's timeout: its usual bound, or less when the deadline is closer."""
    return min(INTERACTIVE_TIMEOUT_SECONDS, deadline.call_timeout())


def _client_within(settings: Settings, deadline: Deadline) -> WebClient:
    client = web_client(
        settings,
        _timeout(deadline),
        max_retry_after_seconds=INTERACTIVE_MAX_RETRY_AFTER_SECONDS,
    )
    client.retry_handlers = [_WithinDeadline(h, client, deadline) for h in client.retry_handlers]
    return client


def _bounded(client: WebClient, deadline: Deadline) -> WebClient:
    """The client, its next call bounded by the deadline too."""
    client.timeout = _timeout(deadline)  # type: ignore[assignment]  # fractions work
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

    `views.open` is the first outbound call: the trigger ID expires after 3 seconds.
    """
    client = _client_within(settings, deadline)
    try:
        opened = client.views_open(trigger_id=command.trigger_id, view=views.checking_view())
        view_id = opened["view"]["id"]
    except Exception as error:
        logger.warning("views.open failed: %s", error_code(error))
        send_dm(client, command.user_id, views.open_failed_message(error_code(error)), deadline)
        return
    try:
        _show_next_view(settings, client, command, view_id, deadline)
    except Exception as error:
        logger.exception("Unexpected error after the modal opened")
        message = views.processing_error_message(error_code(error))
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
        return views.access_unavailable_view(), None
    logger.info("User %s may not flush", command.user_id)
    hint = settings.access_request_hint
    return (
        views.not_allowed_view(command.user_name, command.user_id, hint),
        views.not_allowed_message(command.user_name, command.user_id, hint),
    )


def _show_next_view(
    settings: Settings, client: WebClient, command: SlashCommand, view_id: str, deadline: Deadline
) -> None:
    decision = access.check(
        settings,
        command.user_id,
        access.Permission.FLUSH,
        deadline.earlier_by(UPDATE_RESERVE_SECONDS),
    )
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
