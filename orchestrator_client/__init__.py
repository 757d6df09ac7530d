"""HTTP function for modal interactions (route `orchestrator-client`)."""

from __future__ import annotations

import logging

import azure.durable_functions as df
import azure.functions as func

from shared.deadline import Deadline
from shared.http_responses import MISCONFIGURED, empty_response, json_response, text_response
from shared.interaction import handle_interaction
from shared.settings import ConfigurationError, load_settings
from shared.slack_request import RejectedRequest, parse_interaction, verified_form

logger = logging.getLogger(__name__)


async def main(req: func.HttpRequest, starter: str) -> func.HttpResponse:
    """Verify the request, validate a submission, start the flush, answer Slack."""
    deadline = Deadline.for_slack_request()
    try:
        settings = load_settings()
    except ConfigurationError:
        return text_response(MISCONFIGURED, 500)
    try:
        fields = verified_form(req.get_body(), req.headers, settings.slack_signing_secret)
        payload = parse_interaction(fields)
        client = df.DurableOrchestrationClient(starter)
        answer = await handle_interaction(settings, payload, client, deadline)
    except RejectedRequest as rejected:
        return text_response(rejected.reason, rejected.status)
    return empty_response() if answer is None else json_response(answer)
