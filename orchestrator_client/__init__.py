"""HTTP function for modal interactions (route `orchestrator-client`)."""

from __future__ import annotations

import azure.durable_functions as df
import azure.functions as func

from shared.http_responses import admit, empty_response, json_response, refusal
from shared.interaction import handle_interaction
from shared.slack_request import RejectedRequest, parse_interaction


async def main(req: func.HttpRequest, starter: str) -> func.HttpResponse:
    """Verify the request, validate a submission, start the flush, answer Slack."""
    request = admit(req)
    if isinstance(request, func.HttpResponse):
        return request
    try:
        payload = parse_interaction(request.fields)
        client = df.DurableOrchestrationClient(starter)
        answer = await handle_interaction(request.settings, payload, client, request.deadline)
    except RejectedRequest as rejected:
        return refusal(rejected)
    return empty_response() if answer is None else json_response(answer.to_dict())
