"""Modal interactions: validate a submission, re-check access, start the flush once (SPEC 9)."""

from __future__ import annotations

import asyncio
import logging
from typing import Any

from azure.durable_functions import DurableOrchestrationClient

from shared import allowed_users, views
from shared.orchestration import ORCHESTRATOR, FlushRequest, instance_id, short_error
from shared.settings import Settings
from shared.slack_request import ViewSubmission, parse_view_submission
from shared.submission import FORM_CALLBACK_ID, URLS_BLOCK, Submission, validate_submission

logger = logging.getLogger(__name__)

START_FAILED = "The flush could not be started just now. Please submit again in a minute."


def _update(view: views.View) -> dict[str, Any]:
    return {"response_action": "update", "view": view}


async def start_once(client: DurableOrchestrationClient, request: FlushRequest) -> bool:
    """Start the orchestration unless this submission already has one; True if started now.

    The instance ID comes from the team and view, so a repeated or racing submission finds
    the existing instance (or is refused by the extension) and never flushes twice.
    """
    instance = instance_id(request.team_id, request.view_id)
    if await client.get_status(instance):
        logger.info("Orchestration %s already exists; not starting another", instance)
        return False
    try:
        await client.start_new(ORCHESTRATOR, instance, request.to_dict())
    except Exception as error:
        if "already exists" in str(error).lower() or await client.get_status(instance):
            logger.info("Orchestration %s was started by a concurrent submission", instance)
            return False
        raise
    logger.info("Started orchestration %s", instance)
    return True


async def handle_interaction(
    settings: Settings, payload: dict[str, Any], client: DurableOrchestrationClient
) -> dict[str, Any] | None:
    """The JSON answer for an interaction payload, or None for an empty 200."""
    kind = payload["type"]
    if kind != "view_submission":
        logger.info("Ignored a %s interaction", kind)
        return None
    submission = parse_view_submission(payload)
    if submission.callback_id != FORM_CALLBACK_ID:
        logger.info("Ignored a submission of another view (%s)", submission.callback_id)
        return None
    checked = validate_submission(
        submission.values, settings.flush_allowed_domains, settings.flush_allowed_hosts
    )
    if not isinstance(checked, Submission):
        return {"response_action": "errors", "errors": checked}
    return await _start_if_allowed(settings, submission, checked, client)


async def _start_if_allowed(
    settings: Settings,
    submission: ViewSubmission,
    checked: Submission,
    client: DurableOrchestrationClient,
) -> dict[str, Any]:
    try:
        allowed = await asyncio.to_thread(allowed_users.is_allowed, settings, submission.user_id)
    except allowed_users.AccessCheckUnavailable:
        return _update(views.access_unavailable_view())
    if not allowed:
        logger.info("User %s is no longer on the allowed-users list", submission.user_id)
        hint = settings.access_request_hint
        return _update(views.not_allowed_view(submission.user_name, submission.user_id, hint))
    request = FlushRequest(
        user_id=submission.user_id,
        user_name=submission.user_name,
        team_id=submission.team_id,
        view_id=submission.view_id,
        environment=checked.environment,
        urls=checked.urls,
        channel=settings.slack_channel,
        retry_interval_ms=round(settings.retry_interval_seconds * 1000),
    )
    try:
        await start_once(client, request)
    except Exception as error:
        logger.error("Could not start the flush orchestration: %s", short_error(error))
        return {"response_action": "errors", "errors": {URLS_BLOCK: START_FAILED}}
    return _update(views.processing_view())
