"""Interactions: validate a submission, re-check access, start the flush once; approval clicks.

Rules in doc/behaviour.md; the deadline and the access decision in
doc/adr/0012-one-access-decision.md. A submission of an environment that needs approval starts
the same orchestration with an approval plan and answers with the awaiting-approval view; the
approval buttons are handled in `shared.approval_clicks`.
"""

from __future__ import annotations

import asyncio
import functools
import logging
from typing import Any

from azure.durable_functions import DurableOrchestrationClient

from shared import access, approval_views, history, instance_ids, message_links, views
from shared.approval import DecisionAction, plan_for
from shared.approval_clicks import handle_approval_click
from shared.deadline import Deadline
from shared.form_flow import prefill_of_urls, show_form
from shared.handoffs import FlushRequest
from shared.home import publish_home
from shared.home_views import OPEN_FORM_ACTION
from shared.interaction_payloads import (
    BlockAction,
    MessageShortcut,
    ViewSubmission,
    parse_block_action,
    parse_message_shortcut,
    parse_view_submission,
)
from shared.orchestration import ORCHESTRATOR, short_error
from shared.settings import Settings
from shared.slack_api import (
    BACKGROUND_MAX_RETRY_AFTER_SECONDS,
    BACKGROUND_TIMEOUT_SECONDS,
    CALL_ERRORS,
    error_code,
    web_client,
)
from shared.slack_request import RejectedRequest
from shared.slash_command import Opener, Prefill, open_checking_view, open_form
from shared.submission import (
    ENVIRONMENT_BLOCK,
    FORM_CALLBACK_ID,
    URLS_BLOCK,
    Submission,
    validate_submission,
)
from shared.view_answers import ViewAnswer

logger = logging.getLogger(__name__)

# Kept back from the access re-check for starting the orchestration.
START_RESERVE_SECONDS = 0.5
START_FAILED = "The flush could not be started just now. Please submit again in a minute."
CSV_APPROVERS = "approvers on the allowed-users list"
APPROVERS_NAMED = 10
ADMINISTRATORS = "the app's administrators"
LATE_START_FAILED_TEXT = "Cache flush could not start"
FLUSH_LINKS_CALLBACK = "flush_links"
FORM_ACTIONS = frozenset({OPEN_FORM_ACTION, views.FLUSH_AGAIN_ACTION})
# Kept back from reading an earlier flush for showing the form.
FORM_RESERVE_SECONDS = 0.8
# A Home tab refreshed after a decision needs about this long; with less left, it is not.
HOME_REFRESH_MIN_SECONDS = 1.2
NO_LINKS = "That message has no http(s) links, so the form starts empty: paste the URLs to flush."
AGAIN_NOT_YOURS = "That flush was someone else's, so the form starts empty."
AGAIN_GONE = (
    "That flush is no longer in the app's history, so the form starts empty: paste the URLs."
)
AGAIN_UNREADABLE = (
    "That flush could not be read just now, so the form starts empty: paste the URLs."
)
# Starts that Slack's deadline cut short, kept referenced until they finish.
_late_starts: set[asyncio.Future[Any]] = set()


def refused_as_running(error: Exception) -> bool:
    """Whether `start_new` failed because the extension refused an instance that is running.

    Checked against azure-functions-durable 1.7.0: `start_new` raises a bare `Exception` whose
    only argument is the extension's parsed error body, and the HTTP status (409 Conflict,
    from `OrchestrationAlreadyExistsException` under `NonRunningStates`) is not kept. The
    body's message is all that tells this refusal apart, so it is read here and nowhere else.
    """
    body = error.args[0] if error.args else None
    if not isinstance(body, dict):
        return False
    message = body.get("ExceptionMessage") or body.get("Message")
    return isinstance(message, str) and "already exists" in message.lower()


async def start_once(client: DurableOrchestrationClient, request: FlushRequest) -> bool:
    """Start the orchestration unless this submission already has one; True if started now.

    The instance ID comes from the team and view, so a repeated or racing submission finds
    the existing instance (or is refused by the extension) and never flushes twice.
    """
    instance = request.instance_id
    if await client.get_status(instance):
        logger.info("Orchestration %s already exists; not starting another", instance)
        return False
    try:
        await client.start_new(ORCHESTRATOR, instance, request.to_dict())
    except Exception as error:  # the Durable client raises a bare Exception for an error answer
        if await client.get_status(instance) or refused_as_running(error):
            logger.info("Orchestration %s was started by a concurrent submission", instance)
            return False
        raise
    logger.info("Started orchestration %s", instance)
    return True


async def handle_interaction(
    settings: Settings,
    payload: dict[str, Any],
    client: DurableOrchestrationClient,
    deadline: Deadline,
) -> ViewAnswer | None:
    """The answer to an interaction payload, or None for an empty 200."""
    kind = payload["type"]
    if kind == "block_actions":
        await _handle_block_action(settings, payload, client, deadline)
        return None
    if kind == "message_action":
        await _handle_message_shortcut(settings, parse_message_shortcut(payload), deadline)
        return None
    if kind != "view_submission":
        logger.info("Ignored a %r interaction", kind[:50])
        return None
    submission = parse_view_submission(payload)
    if submission.callback_id != FORM_CALLBACK_ID:
        logger.info("Ignored a submission of another view (%r)", submission.callback_id[:50])
        return None
    checked = validate_submission(
        submission.values, settings.flush_allowed_domains, settings.flush_allowed_hosts
    )
    if not isinstance(checked, Submission):
        return ViewAnswer.show_errors(checked)
    return await _start_if_allowed(settings, submission, checked, client, deadline)


async def _handle_block_action(
    settings: Settings,
    payload: dict[str, Any],
    client: DurableOrchestrationClient,
    deadline: Deadline,
) -> None:
    """Open the form (New flush, Flush again) or take an approval decision; log any other."""
    click = parse_block_action(payload)
    if click is not None and click.action_id in FORM_ACTIONS:
        await _open_form_from_click(settings, click, client, deadline)
        return
    action = DecisionAction.for_action_id(click.action_id) if click else None
    if click is None or action is None:
        logger.info(
            "Ignored a block_actions interaction (%r)", click.action_id[:50] if click else ""
        )
        return
    if not click.value:
        raise RejectedRequest(400, "Approval action has no value")
    raised = await handle_approval_click(settings, click, action, client, deadline)
    if raised and click.on_home_tab and deadline.remaining() > HOME_REFRESH_MIN_SECONDS:
        await publish_home(
            settings, client, click.team_id, click.user_id, deadline, settled={click.value}
        )


async def _open_form_from_click(
    settings: Settings,
    click: BlockAction,
    client: DurableOrchestrationClient,
    deadline: Deadline,
) -> None:
    """Open the form for New flush (empty) or Flush again (as the earlier flush was).

    The checking view opens at once, while the earlier flush is read from its instance.
    """
    if not click.trigger_id:
        raise RejectedRequest(400, "Block action has no trigger_id")
    opener = Opener(click.trigger_id, click.user_id, click.user_name, click.view_type == "modal")
    opening = asyncio.ensure_future(
        asyncio.to_thread(open_checking_view, settings, opener, deadline)
    )
    prefill = Prefill()
    if click.action_id == views.FLUSH_AGAIN_ACTION:
        prefill = await _prefill_again(client, click, deadline.earlier_by(FORM_RESERVE_SECONDS))
    opened = await opening
    if opened is not None:
        await asyncio.to_thread(show_form, settings, opened, opener, prefill, deadline)


async def _prefill_again(
    client: DurableOrchestrationClient, click: BlockAction, deadline: Deadline
) -> Prefill:
    """The environment and URLs of the flush the click names, if it is the clicker's own."""
    if not instance_ids.belongs_to(click.value, click.team_id, click.user_id):
        logger.info("%r clicked Flush again on a flush that is not theirs", click.user_id[:50])
        return Prefill(note=AGAIN_NOT_YOURS)
    try:
        status = await asyncio.wait_for(
            client.get_status(click.value, show_input=True), deadline.remaining()
        )
    except Exception as error:  # the Durable client raises a bare Exception for an error answer
        logger.warning(
            "Could not read %r to flush again: %s", click.value[:100], short_error(error)
        )
        return Prefill(note=AGAIN_UNREADABLE)
    flush = history.flush_of(status) if status else None
    if flush is None:
        return Prefill(note=AGAIN_GONE)
    return prefill_of_urls(flush.request.urls, flush.request.environment)


async def _handle_message_shortcut(
    settings: Settings, shortcut: MessageShortcut, deadline: Deadline
) -> None:
    """Open the form with the links of the message the shortcut was used on."""
    if shortcut.callback_id != FLUSH_LINKS_CALLBACK:
        logger.info("Ignored the message shortcut %r", shortcut.callback_id[:50])
        return
    prefill = prefill_of_urls(message_links.links_in(shortcut.message), if_none=NO_LINKS)
    opener = Opener(shortcut.trigger_id, shortcut.user_id, shortcut.user_name)
    await asyncio.to_thread(open_form, settings, opener, prefill, deadline)


def approvers_text(settings: Settings, requester_id: str) -> str:
    """Who may approve, as mrkdwn: the approver user groups, then the list's approvers.

    The list's approvers are named (the requester left out: four eyes) as far as the list
    is cached from the access check just made; otherwise they are described.
    """
    groups = [f"<!subteam^{group}>" for group in settings.approver_usergroups]
    listed = sorted(access.listed_approvers(settings) - {requester_id})
    people = [f"<@{user}>" for user in listed[:APPROVERS_NAMED]]
    if len(listed) > APPROVERS_NAMED:
        people.append(f"{len(listed) - APPROVERS_NAMED} more on the allowed-users list")
    return ", ".join([*groups, *people] or [CSV_APPROVERS])


async def _start_if_allowed(
    settings: Settings,
    submission: ViewSubmission,
    checked: Submission,
    client: DurableOrchestrationClient,
    deadline: Deadline,
) -> ViewAnswer:
    decision = await asyncio.to_thread(
        access.check,
        settings,
        submission.user_id,
        access.Permission.FLUSH,
        deadline.earlier_by(START_RESERVE_SECONDS),
    )
    if decision is access.Access.DENIED:
        logger.info("User %r may no longer flush", submission.user_id[:50])
        hint, contact = settings.access_request_hint, settings.support_contact
        return ViewAnswer.update(
            views.not_allowed_view(submission.user_name, submission.user_id, hint, contact)
        )
    if decision is access.Access.UNAVAILABLE or deadline.expired():
        # Nothing starts once Slack may have stopped waiting for this answer.
        return ViewAnswer.update(views.access_unavailable_view(settings.support_contact))
    request = await asyncio.to_thread(_flush_request, settings, submission, checked, deadline)
    if not isinstance(request, FlushRequest):
        return ViewAnswer.show_errors(request)
    try:
        confirmed = await start_within(settings, client, request, deadline)
    except Exception as error:  # last resort: whatever failed, the form says so
        logger.error("Could not start the flush orchestration: %s", short_error(error))
        return ViewAnswer.show_errors({URLS_BLOCK: START_FAILED})
    if not confirmed:
        return ViewAnswer.update(sent_view(request))
    return ViewAnswer.update(_answer_view(request))


def _flush_request(
    settings: Settings, submission: ViewSubmission, checked: Submission, deadline: Deadline
) -> FlushRequest | dict[str, str]:
    """The orchestration's input for an allowed submission, or the inline errors instead."""
    plan = plan_for(settings, checked.environment, approvers_text(settings, submission.user_id))
    if plan is not None:
        refused = _approval_refusal(settings, submission, checked, deadline)
        if refused:
            return refused
    return FlushRequest(
        user_id=submission.user_id,
        user_name=submission.user_name,
        team_id=submission.team_id,
        view_id=submission.view_id,
        environment=checked.environment,
        urls=checked.urls,
        channel=settings.slack_channel,
        retry_interval_ms=round(settings.retry_interval_seconds * 1000),
        approval=plan,
        enterprise_id=submission.enterprise_id,
        support_contact=settings.support_contact,
    )


def no_approver_error(settings: Settings, environment: str) -> str:
    """The inline error when nobody but the requester may approve: who to ask."""
    contact = settings.support_contact or ADMINISTRATORS
    return (
        f"Flushes of {environment} need a second person's approval, and nobody but you may "
        f"approve them. Ask {contact} to add an approver, then submit again."
    )


def _approval_refusal(
    settings: Settings, submission: ViewSubmission, checked: Submission, deadline: Deadline
) -> dict[str, str] | None:
    """Inline errors when a request needing approval could not be approved as sent.

    Every URL must fit the request message and its thread, and someone other than the
    requester must be able to approve.
    """
    if not approval_views.shows_every_url(checked.urls):
        return {URLS_BLOCK: approval_views.too_many_urls_error()}
    if not access.someone_else_may_approve(
        settings, submission.user_id, deadline.earlier_by(START_RESERVE_SECONDS)
    ):
        logger.info(
            "Nobody but %s may approve a flush of %s", submission.user_id, checked.environment
        )
        return {ENVIRONMENT_BLOCK: no_approver_error(settings, checked.environment)}
    return None


async def start_within(
    settings: Settings,
    client: DurableOrchestrationClient,
    request: FlushRequest,
    deadline: Deadline,
) -> bool:
    """Start the orchestration once, within the deadline; False if not confirmed in time.

    A start the deadline cuts short goes on in the background: it is neither lost nor
    repeated (the instance ID is the submission's), and if it finally fails the requester
    is told by direct message. A start that fails in time raises.
    """
    task = asyncio.ensure_future(start_once(client, request))
    try:
        await asyncio.wait_for(asyncio.shield(task), deadline.remaining())
    except TimeoutError:
        logger.warning("The durable API did not confirm the start in time; it goes on")
        _late_starts.add(task)
        task.add_done_callback(functools.partial(_late_start_done, settings, request))
        return False
    return True


def _late_start_done(settings: Settings, request: FlushRequest, task: asyncio.Task[bool]) -> None:
    """Log how a late start ended; if it failed, tell the requester by direct message."""
    _late_starts.discard(task)
    error = None if task.cancelled() else task.exception()
    if not task.cancelled() and error is None:
        logger.info("The late start of %s finished", request.instance_id)
        return
    logger.error("The late start failed: %s", short_error(error) if error else "cancelled")
    telling = asyncio.ensure_future(asyncio.to_thread(_tell_start_failed, settings, request))
    _late_starts.add(telling)
    telling.add_done_callback(_late_starts.discard)


def _tell_start_failed(settings: Settings, request: FlushRequest) -> None:
    """DM the requester that the flush they were told was sent never started."""
    message = views.message_of(
        LATE_START_FAILED_TEXT,
        [
            views.section(
                ":x: *Your cache flush could not be started, so nothing was flushed.* "
                "Please run `/flush` and submit it again."
            )
        ],
    )
    try:
        web_client(
            settings,
            BACKGROUND_TIMEOUT_SECONDS,
            max_retry_after_seconds=BACKGROUND_MAX_RETRY_AFTER_SECONDS,
        ).chat_postMessage(channel=request.user_id, text=message["text"], blocks=message["blocks"])
    except CALL_ERRORS as error:
        logger.error("Could not tell %s the start failed: %s", request.user_id, error_code(error))


def sent_view(request: FlushRequest) -> views.View:
    """The modal when the start was sent but not confirmed within Slack's deadline."""
    where = (
        f" It goes to {approval_views.channel_text(request.approval.channel)} for approval."
        if request.approval is not None
        else ""
    )
    return views.modal(
        [
            views.section(":outbox_tray: *Your request has been sent.*"),
            views.section(
                f"The app could not confirm in time that it has started.{where} The result "
                "will come in a direct message, so you can close this view safely."
            ),
        ]
    )


def _answer_view(request: FlushRequest) -> views.View:
    """The processing view, or the awaiting-approval view with its Cancel request button."""
    if request.approval is None:
        return views.processing_view()
    return approval_views.awaiting_approval_view(request.approval, request.instance_id)
