"""Opening the form: the checking view first, then the user is checked and the form shown.

The `/flush` command, New flush, Flush again and the message shortcut all open it this way.
Opening the checking view is the first call out (`shared.slack_http`). What follows it (the
access check, the form, the slack-sdk client) is in `shared.form_flow`, loaded only once the
view is open, so that a cold worker sends `views.open` as early as it can
(doc/adr/0020-the-first-call-without-slack-sdk.md).

The whole flow is held to the request's deadline (doc/adr/0012-one-access-decision.md): no
Slack call may outlast it.
"""

from __future__ import annotations

import logging
from typing import Any, NamedTuple

from shared.deadline import Deadline
from shared.settings import Settings
from shared.slack_http import OPEN_ERRORS, call_view_method, error_code, view_id
from shared.slack_request import SlashCommand

logger = logging.getLogger(__name__)

# What Slack answers a views.push when there is no stack to push onto.
PUSH_REFUSALS = frozenset({"not_found", "push_limit_reached"})
# Kept back from the access check for the views.update (and DM) that follow it.
UPDATE_RESERVE_SECONDS = 0.6
CHECKING_TEXT = (
    ":hourglass_flowing_sand: Checking that this request came from Slack "
    "and that you may flush the cache…"
)


# The records below are NamedTuples, not dataclasses: they are defined on the way to
# views.open, and a NamedTuple class is several times quicker to create (ADR 0020).
class Opener(NamedTuple):
    """Who opens the form and with which click or command: its trigger and the person.

    `in_modal` is set for a click inside a modal: Slack then takes the new view as a view
    pushed onto that modal's stack (`views.push`), not as a new modal.
    """

    trigger_id: str
    user_id: str
    user_name: str
    in_modal: bool = False


class Prefill(NamedTuple):
    """What the form opens with: the URLs field's value, the environment, and a note."""

    urls: str = ""
    environment: str | None = None
    note: str | None = None


def checking_view() -> dict[str, Any]:
    """The first view, opened at once while the request and the user are checked.

    Built here rather than in `shared.views`, which is loaded only after it is open.
    """
    return {
        "type": "modal",
        "title": {"type": "plain_text", "text": "Cache Flush", "emoji": True},
        "close": {"type": "plain_text", "text": "Close", "emoji": True},
        "blocks": [
            {"type": "section", "text": {"type": "mrkdwn", "text": CHECKING_TEXT}},
            {
                "type": "section",
                "text": {
                    "type": "mrkdwn",
                    "text": "The form appears here as soon as the checks are done.",
                },
            },
        ],
    }


def handle_slash_command(settings: Settings, command: SlashCommand, deadline: Deadline) -> None:
    """Open the checking view, check access, then show the form with the command's URLs."""
    opener = Opener(command.trigger_id, command.user_id, command.user_name)
    opened = open_checking_view(settings, opener, deadline)
    if opened is not None:
        from shared import form_flow  # noqa: PLC0415 - after views.open (see module doc)

        prefill = form_flow.prefill_of_command(command.text)
        form_flow.show_form(settings, opened, opener, prefill, deadline)


def open_form(settings: Settings, opener: Opener, prefill: Prefill, deadline: Deadline) -> None:
    """Open the checking view, check access, then update the view (doc/behaviour.md)."""
    opened = open_checking_view(settings, opener, deadline)
    if opened is not None:
        from shared import form_flow  # noqa: PLC0415 - after views.open (see module doc)

        form_flow.show_form(settings, opened, opener, prefill, deadline)


def open_checking_view(settings: Settings, opener: Opener, deadline: Deadline) -> str | None:
    """Open (or push) the checking view and return its ID: the first call out.

    When Slack asks to wait and retry, the allowed-users list is read during the wait. A
    failure is told to the user by direct message, and None returned.
    """
    try:
        return _show_checking_view(settings, opener, deadline)
    except OPEN_ERRORS as error:
        logger.warning("views.open failed: %s", error_code(error))
        from shared import form_flow  # noqa: PLC0415 - only when the view did not open

        form_flow.tell_open_failed(settings, opener, error_code(error), deadline)
        return None


def _prefetch_access(settings: Settings, deadline: Deadline) -> None:
    """Start reading the allowed-users list while Slack makes the opening call wait."""
    from shared import access  # noqa: PLC0415 - only when Slack asks to wait

    access.prefetch(settings, deadline.earlier_by(UPDATE_RESERVE_SECONDS))


def _call(settings: Settings, method: str, opener: Opener, deadline: Deadline) -> str:
    """Open or push (`method`) the checking view on the opener's trigger; its view ID."""
    answer = call_view_method(
        settings,
        method,
        {"trigger_id": opener.trigger_id, "view": checking_view()},
        deadline,
        while_waiting=lambda: _prefetch_access(settings, deadline),
    )
    return view_id(answer)


def _show_checking_view(settings: Settings, opener: Opener, deadline: Deadline) -> str:
    """Push the checking view onto the clicker's modal, or open it; its view ID.

    A push Slack refuses because that modal has closed or its stack is full (`not_found`,
    `push_limit_reached`) consumed no trigger, so the view opens as a new modal instead.
    """
    if opener.in_modal:
        try:
            return _call(settings, "views.push", opener, deadline)
        except OPEN_ERRORS as error:
            if error_code(error) not in PUSH_REFUSALS:
                raise
            logger.info("views.push refused (%s); opening a new modal", error_code(error))
    return _call(settings, "views.open", opener, deadline)
