"""Opening the form: the checking view first, then the user is checked and the form shown.

The `/flush` command, New flush, Flush again and the message shortcut all open it this way.

The whole flow is held to the request's deadline (doc/adr/0012-one-access-decision.md): no
Slack call may outlast it, and slack-sdk retries only while time is left.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import dataclass

from slack_sdk.errors import SlackApiError
from slack_sdk.web.client import WebClient

from shared import access, views
from shared.deadline import Deadline
from shared.settings import Settings
from shared.slack_api import (
    CALL_ERRORS,
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
# What Slack answers a views.push when there is no stack to push onto.
PUSH_REFUSALS = frozenset({"not_found", "push_limit_reached"})
# What opening the checking view can raise: a failed call, or an answer without the view's ID.
OPEN_ERRORS: tuple[type[Exception], ...] = (*CALL_ERRORS, LookupError, TypeError)


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
    except CALL_ERRORS as error:
        logger.error("Could not send a direct message: %s", error_code(error))


@dataclass(frozen=True)
class Opener:
    """Who opens the form and with which click or command: its trigger and the person.

    `in_modal` is set for a click inside a modal: Slack then takes the new view as a view
    pushed onto that modal's stack (`views.push`), not as a new modal.
    """

    trigger_id: str
    user_id: str
    user_name: str
    in_modal: bool = False


@dataclass(frozen=True)
class Prefill:
    """What the form opens with: the URLs field's value, the environment, and a note."""

    urls: str = ""
    environment: str | None = None
    note: str | None = None

    @classmethod
    def of_urls(
        cls, urls: Sequence[str], environment: str | None = None, *, if_none: str | None = None
    ) -> Prefill:
        """The form with these URLs, saying so when not all fit (or `if_none` when none)."""
        kept = views.fitting_urls(urls)
        if not urls:
            note = if_none
        elif len(kept) < len(urls):
            note = (
                f"Only the first {len(kept)} of the {len(urls)} URLs fit the form: flush the "
                "others in a second request."
            )
        else:
            note = None
        return cls("\n".join(kept), environment, note)


@dataclass(frozen=True)
class OpenedView:
    """The checking view that was opened, and the client that opened it."""

    client: WebClient
    view_id: str


def handle_slash_command(settings: Settings, command: SlashCommand, deadline: Deadline) -> None:
    """Open the checking view, check access, then show the form with the command's URLs."""
    opener = Opener(command.trigger_id, command.user_id, command.user_name)
    open_form(settings, opener, Prefill(views.initial_urls(command.text)), deadline)


def open_form(settings: Settings, opener: Opener, prefill: Prefill, deadline: Deadline) -> None:
    """Open the checking view, check access, then update the view (doc/behaviour.md).

    The same flow serves `/flush`, New flush, Flush again and the message shortcut.
    """
    opened = open_checking_view(settings, opener, deadline)
    if opened is not None:
        show_form(settings, opened, opener, prefill, deadline)


def open_checking_view(settings: Settings, opener: Opener, deadline: Deadline) -> OpenedView | None:
    """Open (or push) the checking view: the first call out, as the trigger expires in 3 s.

    When Slack asks to wait and retry, the allowed-users list is read during the wait. A
    failure is told to the user by direct message, and None returned.
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
        return OpenedView(client, _show_checking_view(client, opener))
    except OPEN_ERRORS as error:
        logger.warning("views.open failed: %s", error_code(error))
        notice = views.open_failed_message(error_code(error), settings.support_contact)
        send_dm(client, opener.user_id, notice, deadline)
        return None


def _show_checking_view(client: WebClient, opener: Opener) -> str:
    """Push the checking view onto the clicker's modal, or open it; its view ID.

    A push Slack refuses because that modal has closed or its stack is full (`not_found`,
    `push_limit_reached`) consumed no trigger, so the view opens as a new modal instead.
    """
    view = views.checking_view()
    if opener.in_modal:
        try:
            return str(client.views_push(trigger_id=opener.trigger_id, view=view)["view"]["id"])
        except SlackApiError as error:
            if error_code(error) not in PUSH_REFUSALS:
                raise
            logger.info("views.push refused (%s); opening a new modal", error_code(error))
    return str(client.views_open(trigger_id=opener.trigger_id, view=view)["view"]["id"])


def show_form(
    settings: Settings, opened: OpenedView, opener: Opener, prefill: Prefill, deadline: Deadline
) -> None:
    """Check access, then replace the checking view by the form or the not-allowed view."""
    try:
        _show_next_view(settings, opened, opener, prefill, deadline)
    except Exception as error:  # last resort: whatever failed, the user is told by DM
        logger.exception("Unexpected error after the modal opened")
        message = views.processing_error_message(error_code(error), settings.support_contact)
        send_dm(opened.client, opener.user_id, message, deadline)


def _next_view(
    settings: Settings, opener: Opener, prefill: Prefill, decision: access.Access
) -> tuple[views.View, views.Message | None]:
    """The view to show for the decision, and the DM that goes with it, if any."""
    if decision is access.Access.GRANTED:
        form = views.form_view(
            prefill.urls,
            settings.flush_allowed_domains,
            settings.flush_allowed_hosts,
            environment=prefill.environment,
            note=prefill.note,
        )
        return form, None
    if decision is access.Access.UNAVAILABLE:
        return views.access_unavailable_view(settings.support_contact), None
    logger.info("User %s may not flush", opener.user_id)
    hint, contact = settings.access_request_hint, settings.support_contact
    return (
        views.not_allowed_view(opener.user_name, opener.user_id, hint, contact),
        views.not_allowed_message(opener.user_name, opener.user_id, hint, contact),
    )


def _show_next_view(
    settings: Settings, opened: OpenedView, opener: Opener, prefill: Prefill, deadline: Deadline
) -> None:
    """Decide access with time kept back, then show the view (and DM) by `deadline`."""
    access_deadline = deadline.earlier_by(UPDATE_RESERVE_SECONDS)
    decision = access.check(settings, opener.user_id, access.Permission.FLUSH, access_deadline)
    view, notice = _next_view(settings, opener, prefill, decision)
    client = opened.client
    try:
        _bounded(client, deadline).views_update(view_id=opened.view_id, view=view)
    except CALL_ERRORS as error:
        if not is_closed_view(error):
            raise
        logger.info("The user closed the modal before it could be updated")
        send_dm(client, opener.user_id, views.view_closed_message(), deadline)
    if notice is not None:
        send_dm(client, opener.user_id, notice, deadline)
