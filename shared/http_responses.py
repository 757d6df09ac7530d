"""What the HTTP functions share: the gate every Slack request passes, and the answer shapes."""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping
from typing import Any, NamedTuple, TypeVar

import azure.functions as func

from shared.deadline import Deadline
from shared.settings import ConfigurationError, Settings, load_settings
from shared.slack_request import RejectedRequest, verified_form, verified_json

MISCONFIGURED = "The app is not configured correctly"
JSON_CONTENT_TYPE = "application/json; charset=utf-8"
RETRY_HEADER = "X-Slack-Retry-Num"


def json_response(body: Any, status: int = 200) -> func.HttpResponse:
    """A JSON answer with `Content-Type: application/json; charset=utf-8`.

    The header is set explicitly: the worker adds the charset only to `text/*` types.
    Non-ASCII characters are escaped, so text echoed from a payload (a lone surrogate
    included, which UTF-8 cannot encode) always makes a valid body.
    """
    return func.HttpResponse(
        json.dumps(body),
        status_code=status,
        headers={"Content-Type": JSON_CONTENT_TYPE},
        mimetype="application/json",
        charset="utf-8",
    )


def text_response(reason: str, status: int) -> func.HttpResponse:
    """A one-line plain-text answer, for refusals and errors."""
    return func.HttpResponse(reason, status_code=status, mimetype="text/plain", charset="utf-8")


def empty_response() -> func.HttpResponse:
    """200 with an empty body: Slack's acknowledgement."""
    return func.HttpResponse(b"", status_code=200)


def refusal(rejected: RejectedRequest) -> func.HttpResponse:
    """The answer to a request the app refuses: its status, its reason as text."""
    return text_response(rejected.reason, rejected.status)


# The gate's results are NamedTuples rather than dataclasses: they are defined on the way to
# `views.open`, and are quicker to create (doc/adr/0020-the-first-call-without-slack-sdk.md).
class SlackRequest(NamedTuple):
    """A request that passed the gate: the settings, its form fields and its deadline."""

    settings: Settings
    fields: dict[str, str]
    deadline: Deadline


class SlackEvent(NamedTuple):
    """An Events API delivery that passed the gate: its JSON, whether it is a retry."""

    settings: Settings
    payload: dict[str, Any]
    retry: bool
    deadline: Deadline


ParsedT = TypeVar("ParsedT")


def _gate(
    req: func.HttpRequest, parse: Callable[[bytes, Mapping[str, str], str], ParsedT]
) -> tuple[Settings, ParsedT, Deadline] | func.HttpResponse:
    """Start the deadline, load the settings, verify and parse the request, or answer it.

    500 when the app is misconfigured; the refusal when the request fails verification or
    parsing (doc/behaviour.md).
    """
    deadline = Deadline.for_slack_request()
    try:
        settings = load_settings()
    except ConfigurationError:
        return text_response(MISCONFIGURED, 500)
    try:
        parsed = parse(req.get_body(), req.headers, settings.slack_signing_secret)
    except RejectedRequest as rejected:
        return refusal(rejected)
    return settings, parsed, deadline


def admit(req: func.HttpRequest) -> SlackRequest | func.HttpResponse:
    """The gate for a form-encoded request (slash commands, interactions)."""
    gated = _gate(req, verified_form)
    return gated if isinstance(gated, func.HttpResponse) else SlackRequest(*gated)


def admit_event(req: func.HttpRequest) -> SlackEvent | func.HttpResponse:
    """The gate for an Events API delivery (a JSON body); notes whether Slack is retrying."""
    gated = _gate(req, verified_json)
    if isinstance(gated, func.HttpResponse):
        return gated
    settings, payload, deadline = gated
    return SlackEvent(settings, payload, bool(req.headers.get(RETRY_HEADER)), deadline)
