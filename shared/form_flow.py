"""After the checking view is open: the access check, then the form or the reason why not.

Loaded by `shared.slash_command` once `views.open` has been answered, so nothing here delays
it (doc/adr/0020-the-first-call-without-slack-sdk.md). The views are updated and the DMs sent
with the app's slack-sdk client, within the request's deadline.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence

from slack_sdk.web.client import WebClient

from shared import access, slack_text, views
from shared.deadline import Deadline
from shared.settings import Settings
from shared.slack_api import (
    CALL_ERRORS,
    error_code,
    is_closed_view,
    web_client,
)
from shared.slack_http import (
    INTERACTIVE_MAX_RETRY_AFTER_SECONDS,
    INTERACTIVE_TIMEOUT_SECONDS,
    within,
)
from shared.slash_command import UPDATE_RESERVE_SECONDS, Opener, Prefill
from shared.submission import split_urls

logger = logging.getLogger(__name__)


def prefill_of_urls(
    urls: Sequence[str], environment: str | None = None, *, if_none: str | None = None
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
    return Prefill("\n".join(kept), environment, note)


def prefill_of_command(text: str) -> Prefill:
    """The form for `/flush` with the command's text: its URLs, split as on submit.

    Slack sends the text escaped (`&amp;`, `&lt;`, `&gt;`) and perhaps with link tokens: the
    form shows what the person typed.
    """
    return prefill_of_urls(split_urls(slack_text.typed_text(text)))


def _client(settings: Settings, deadline: Deadline) -> WebClient:
    """The app's Slack client for the calls after the checking view, held to `deadline`."""
    return web_client(
        settings,
        INTERACTIVE_TIMEOUT_SECONDS,
        max_retry_after_seconds=INTERACTIVE_MAX_RETRY_AFTER_SECONDS,
        deadline=deadline,
    )


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


def tell_open_failed(settings: Settings, opener: Opener, code: str, deadline: Deadline) -> None:
    """Tell the user by DM that the form could not open, and why."""
    notice = views.open_failed_message(code, settings.support_contact)
    send_dm(_client(settings, deadline), opener.user_id, notice, deadline)


def show_form(
    settings: Settings, view_id: str, opener: Opener, prefill: Prefill, deadline: Deadline
) -> None:
    """Check access, then replace the checking view by the form or the not-allowed view."""
    client = _client(settings, deadline)
    try:
        _show_next_view(settings, client, view_id, opener, prefill, deadline)
    except Exception as error:  # last resort: whatever failed, the user is told by DM
        logger.exception("Unexpected error after the modal opened")
        message = views.processing_error_message(error_code(error), settings.support_contact)
        send_dm(client, opener.user_id, message, deadline)


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


def _show_next_view(  # noqa: PLR0917 - the view, its client and what it shows
    settings: Settings,
    client: WebClient,
    view_id: str,
    opener: Opener,
    prefill: Prefill,
    deadline: Deadline,
) -> None:
    """Decide access with time kept back, then show the view (and DM) by `deadline`."""
    access_deadline = deadline.earlier_by(UPDATE_RESERVE_SECONDS)
    decision = access.check(settings, opener.user_id, access.Permission.FLUSH, access_deadline)
    view, notice = _next_view(settings, opener, prefill, decision)
    try:
        _bounded(client, deadline).views_update(view_id=view_id, view=view)
    except CALL_ERRORS as error:
        if not is_closed_view(error):
            raise
        logger.info("The user closed the modal before it could be updated")
        send_dm(client, opener.user_id, views.view_closed_message(), deadline)
    if notice is not None:
        send_dm(client, opener.user_id, notice, deadline)
