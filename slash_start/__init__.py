"""HTTP function for the `/flush` slash command (route `slash-start`)."""

from __future__ import annotations

import azure.functions as func

from shared.deadline import Deadline
from shared.http_responses import MISCONFIGURED, empty_response, text_response
from shared.settings import ConfigurationError, load_settings
from shared.slack_request import RejectedRequest, parse_slash_command, verified_form
from shared.slash_command import handle_slash_command


def main(req: func.HttpRequest) -> func.HttpResponse:
    """Verify the request, then run the slash-command flow and acknowledge with 200."""
    deadline = Deadline.for_slack_request()
    try:
        settings = load_settings()
    except ConfigurationError:
        return text_response(MISCONFIGURED, 500)
    try:
        fields = verified_form(req.get_body(), req.headers, settings.slack_signing_secret)
        if fields.get("ssl_check") == "1":
            return empty_response()
        command = parse_slash_command(fields)
    except RejectedRequest as rejected:
        return text_response(rejected.reason, rejected.status)
    handle_slash_command(settings, command, deadline)
    return empty_response()
