"""Clicks on the approval buttons: check them, raise the decision, or tell the clicker why not.

A click (`approve_flush`, `reject_flush`, `cancel_flush`; each button's value is the
instance ID) is checked against the instance's durable status: the click comes from the
request's workspace (its Enterprise Grid organisation, or else its team), the request must
still wait for a decision, approve and reject come from an approver who is not the requester
(four eyes) and from the request's own message (the channel and ts the orchestrator
recorded), cancel from the requester alone, in their modal, DM or Home tab. A valid click is
raised on the instance as a `Decision`; the orchestrator takes the first one. A refused click
changes nothing, and the clicker alone is told why (naming the support contact when they
should ask someone, and only Cancel buttons that exist): ephemerally in the message's
channel, or by direct message for a click in the modal. Everything happens within the
request's deadline (doc/behaviour.md, "Approvals and user groups").
"""

from __future__ import annotations

import asyncio
import enum
import logging
import re
from dataclasses import dataclass, field

from azure.durable_functions import DurableOrchestrationClient

from shared import access, audit, instance_ids, views
from shared.approval import DECISION_EVENT, Decision, DecisionAction, Stage, WaitingPlaces
from shared.deadline import Deadline, run_within
from shared.handoffs import FlushRequest
from shared.history import json_value, request_of
from shared.interaction_payloads import BlockAction
from shared.orchestration import short_error
from shared.settings import Settings
from shared.slack_api import (
    CALL_ERRORS_WITHIN_DEADLINE,
    error_code,
    web_client,
)
from shared.slack_http import INTERACTIVE_MAX_RETRY_AFTER_SECONDS
from shared.submission import either

logger = logging.getLogger(__name__)

# Kept back from the checks for raising the decision and telling the clicker.
REPLY_RESERVE_SECONDS = 0.5
PENDING_RUNTIME_STATUSES = frozenset({"Pending", "Running"})
_DM_CHANNEL = re.compile(r"D[A-Z0-9]{2,40}")


class Refusal(enum.Enum):
    """Why a click changed nothing (or may not have); the value is what the clicker is told."""

    UNKNOWN = "This approval request is not known to the app, so nothing changed."
    NOT_APPROVAL = "This cache flush does not wait for approval, so nothing changed."
    NOT_PENDING = "This request is no longer waiting for a decision{ending}. Nothing changed."
    NOT_APPROVER = (
        "Only approvers can approve or reject cache flushes. Nothing changed. Ask {who} if "
        "you should be one."
    )
    OWN_REQUEST = (
        "You asked for this flush, so someone else must approve or reject it (four eyes). "
        "To withdraw it, use *Cancel request* in {places}. Nothing changed."
    )
    OTHER_WORKSPACE = "This request belongs to another Slack workspace, so nothing changed."
    NOT_REQUEST_MESSAGE = (
        "These buttons are not on this request's own message, so nothing changed. Use "
        "Approve or Reject on the request message in the approvals channel."
    )
    NOT_REQUESTER_PLACE = (
        "A request can be cancelled only with *Cancel request* in {places}, so nothing changed."
    )
    NOT_REQUESTER = "Only the person who asked for this flush can cancel it. Nothing changed."
    CHECK_UNAVAILABLE = (
        "Your click could not be checked right now, so nothing changed. Please try again in "
        "a minute."
    )
    NOT_CONFIRMED = (
        "Your decision could not be confirmed in time. If the request message does not show "
        "it within a minute, please click again."
    )


VIEW_PLACE = "the request's view (if still open)"
DM_PLACE = "the direct message the app sent you about it"
HOME_PLACE = "the app's Home tab (under Your pending requests)"

ENDINGS = {
    Stage.APPROVED: ": it was already approved",
    Stage.FLUSHED: ": it was already approved",
    Stage.FLUSH_FAILED: ": it was already approved",
    Stage.REJECTED: ": it was already rejected",
    Stage.CANCELLED: ": the requester cancelled it",
    Stage.EXPIRED: ": it expired",
    Stage.REQUEST_FAILED: ": the approval request could not be posted",
    Stage.NOT_ALLOWED: ": it was approved, but the requester may no longer flush",
}


@dataclass(frozen=True)
class PendingRequest:
    """What the durable status says of a request: its input, whether it still waits, where.

    `places` are where the orchestrator put the request message and the requester's DM.
    """

    request: FlushRequest
    pending: bool
    stage: Stage | None
    places: WaitingPlaces = field(default_factory=WaitingPlaces)


async def _read_request(
    client: DurableOrchestrationClient, instance: str, deadline: Deadline
) -> PendingRequest | Refusal:
    """The request behind an instance ID, or why the click cannot be taken."""
    if not instance_ids.is_instance_id(instance):
        return Refusal.UNKNOWN
    try:
        status = await asyncio.wait_for(
            client.get_status(instance, show_input=True), deadline.remaining()
        )
    except Exception as error:  # the Durable client raises a bare Exception for an error answer
        logger.warning("Could not read the status of %s: %s", instance, short_error(error))
        return Refusal.CHECK_UNAVAILABLE
    if not status:
        return Refusal.UNKNOWN
    request = request_of(status)
    if request is None:
        return Refusal.UNKNOWN
    if request.approval is None:
        return Refusal.NOT_APPROVAL
    runtime = status.runtime_status.value if status.runtime_status else ""
    custom = json_value(status.custom_status)
    stage = Stage.of_status(custom)
    waiting = stage is Stage.AWAITING_APPROVAL or (stage is None and runtime == "Pending")
    pending = runtime in PENDING_RUNTIME_STATUSES and waiting
    return PendingRequest(request, pending, stage, WaitingPlaces.of_status(custom))


def same_workspace(click: BlockAction, request: FlushRequest) -> bool:
    """Whether the click comes from the request's Enterprise Grid organisation, or its team."""
    if request.enterprise_id:
        return click.enterprise_id == request.enterprise_id
    return click.team_id == request.team_id


def from_request_message(click: BlockAction, found: PendingRequest) -> bool:
    """Whether an Approve or Reject click comes from the request's own message.

    The one place that says where a decision may come from: the message the orchestrator
    posted and recorded (a duplicate left by a retried post does not count), or the
    approver's own Home tab, which lists the requests waiting for them.
    """
    if click.on_home_tab:
        return True
    place = found.places.request
    return place is not None and click.channel_id == place.channel and click.message_ts == place.ts


def from_requester_place(click: BlockAction, found: PendingRequest) -> bool:
    """Whether a Cancel click comes from the request's modal, the requester's DM or Home tab.

    The DM counts by its channel: the recorded one once known, and until then any direct
    message conversation (only the requester's own DM with the app can hold the button).
    """
    if click.on_home_tab:
        return True
    if click.view_id is not None:
        return click.view_id == found.request.view_id
    channel = click.channel_id or ""
    dm = found.places.dm
    return channel == dm.channel if dm is not None else bool(_DM_CHANNEL.fullmatch(channel))


def cancel_places(found: PendingRequest) -> str:
    """Where the requester's Cancel request buttons are, as words: only places that exist.

    The direct message when it was delivered (its place is recorded), the requester's Home
    tab, which lists the request while it waits, and last the modal it was submitted from,
    which the requester may have closed since.
    """
    places = [DM_PLACE] if found.places.dm is not None else []
    places.append(HOME_PLACE)
    if found.request.view_id:
        places.append(VIEW_PLACE)
    return either(places)


def refusal_text(refusal: Refusal, settings: Settings, found: PendingRequest | None) -> str:
    """What the clicker is told: the refusal with who to ask and where Cancel is.

    `found` is the request, when it could be read (the places Cancel is named from it).
    """
    return refusal.value.format(
        ending="",
        who=views.contact_text(settings.support_contact),
        places=HOME_PLACE if found is None else cancel_places(found),
    )


def _who_may(click: BlockAction, action: DecisionAction, found: PendingRequest) -> Refusal | None:
    """The refusal that needs no I/O, if any.

    Another workspace, a request that has ended, four eyes, or a click that does not come
    from where the request's buttons are.
    """
    if not same_workspace(click, found.request):
        return Refusal.OTHER_WORKSPACE
    if not found.pending:
        return Refusal.NOT_PENDING
    is_requester = click.user_id == found.request.user_id
    if action is DecisionAction.CANCEL:
        if not is_requester:
            return Refusal.NOT_REQUESTER
        return None if from_requester_place(click, found) else Refusal.NOT_REQUESTER_PLACE
    if is_requester:
        return Refusal.OWN_REQUEST
    return None if from_request_message(click, found) else Refusal.NOT_REQUEST_MESSAGE


async def _check(
    settings: Settings,
    click: BlockAction,
    action: DecisionAction,
    found: PendingRequest,
    checks: Deadline,
) -> Refusal | Stage | None:
    """None if the click may be raised; otherwise the refusal (or the ending it came after)."""
    refusal = _who_may(click, action, found)
    if refusal is Refusal.NOT_PENDING and found.stage is not None:
        return found.stage
    if refusal is not None or action is DecisionAction.CANCEL:
        return refusal
    decision = await asyncio.to_thread(
        access.check, settings, click.user_id, access.Permission.APPROVE, checks
    )
    if decision is access.Access.GRANTED:
        return None
    return (
        Refusal.CHECK_UNAVAILABLE if decision is access.Access.UNAVAILABLE else Refusal.NOT_APPROVER
    )


async def handle_approval_click(
    settings: Settings,
    click: BlockAction,
    action: DecisionAction,
    client: DurableOrchestrationClient,
    deadline: Deadline,
) -> bool:
    """Raise a valid click as the decision, or tell the clicker privately why it was refused.

    True when the decision was raised.
    """
    checks = deadline.earlier_by(REPLY_RESERVE_SECONDS)
    found = await _read_request(client, click.value, checks)
    request: PendingRequest | None
    checked: Refusal | Stage | None
    if isinstance(found, Refusal):
        request, checked = None, found
    else:
        request = found
        checked = await _check(settings, click, action, request, checks)
    if checked is None:
        checked = await _raise(click, action, client, deadline)
    if checked is None:
        return True
    if isinstance(checked, Stage):
        text = Refusal.NOT_PENDING.value.format(ending=ENDINGS.get(checked, ""))
        reason = f"{Refusal.NOT_PENDING.name} ({checked.value})"
    else:
        text = refusal_text(checked, settings, request)
        reason = checked.name
    logger.info(
        "Refused %r by %r on %r: %s",
        click.action_id[:50],
        click.user_id[:50],
        click.value[:100],
        reason,
    )
    await asyncio.to_thread(_tell_clicker, settings, click, text, deadline)
    return False


async def _raise(
    click: BlockAction,
    action: DecisionAction,
    client: DurableOrchestrationClient,
    deadline: Deadline,
) -> Refusal | None:
    """Raise the decision on the instance; a refusal if it could not be raised."""
    decision = Decision(action, click.user_id, click.user_name)
    try:
        await asyncio.wait_for(
            client.raise_event(click.value, DECISION_EVENT, decision.to_dict()),
            deadline.earlier_by(REPLY_RESERVE_SECONDS / 2).remaining(),
        )
    except TimeoutError:
        logger.warning("Raising the decision on %r did not finish in time", click.value[:100])
        return Refusal.NOT_CONFIRMED
    except Exception as error:  # the Durable client raises a bare Exception for an error answer
        # The instance ended between the status check and the event (410), or vanished.
        logger.info("The decision on %r was not taken: %s", click.value[:100], short_error(error))
        return Refusal.NOT_PENDING
    audit.decision_raised(click.value, click, action.value)
    return None


def _tell_clicker(settings: Settings, click: BlockAction, text: str, deadline: Deadline) -> None:
    """Tell the clicker alone: ephemerally in the channel, or by DM for a click in a modal."""
    client = web_client(
        settings,
        deadline.call_timeout(),
        max_retry_after_seconds=INTERACTIVE_MAX_RETRY_AFTER_SECONDS,
        rate_limit_retries=0,
    )

    def send() -> None:
        if click.channel_id:
            client.chat_postEphemeral(channel=click.channel_id, user=click.user_id, text=text)
        else:
            client.chat_postMessage(channel=click.user_id, text=text)

    try:
        run_within(deadline, send)
    except CALL_ERRORS_WITHIN_DEADLINE as error:
        logger.warning(
            "Could not tell %s why the click was refused: %s", click.user_id, error_code(error)
        )
