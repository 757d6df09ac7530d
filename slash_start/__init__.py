"""HTTP function for the `/flush` slash command (route `slash-start`)."""

from __future__ import annotations

import azure.functions as func

from shared.http_responses import admit, empty_response, refusal
from shared.slack_request import RejectedRequest, parse_slash_command
from shared.slash_command import handle_slash_command


def main(req: func.HttpRequest) -> func.HttpResponse:
    """Verify the request, then run the slash-command flow and acknowledge with 200."""
    request = admit(req)
    if isinstance(request, func.HttpResponse):
        return request
    if request.fields.get("ssl_check") == "1":
        return empty_response()
    try:
        command = parse_slash_command(request.fields)
    except RejectedRequest as rejected:
        return refusal(rejected)
    handle_slash_command(request.settings, command, request.deadline)
    return empty_response()
