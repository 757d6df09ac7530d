"""HTTP function for Slack's Events API (route `slack-events`): the URL check, the Home tab."""

from __future__ import annotations

import azure.durable_functions as df
import azure.functions as func

from shared.events import handle_event
from shared.http_responses import admit_event, empty_response, json_response, refusal
from shared.slack_request import RejectedRequest


async def main(req: func.HttpRequest, starter: str) -> func.HttpResponse:
    """Verify the delivery, then answer the URL check or publish the opener's Home tab."""
    event = admit_event(req)
    if isinstance(event, func.HttpResponse):
        return event
    try:
        client = df.DurableOrchestrationClient(starter)
        answer = await handle_event(
            event.settings, event.payload, client, event.deadline, retry=event.retry
        )
    except RejectedRequest as rejected:
        return refusal(rejected)
    return empty_response() if answer is None else json_response(answer)
