"""HttpResponse shapes shared by the HTTP functions."""

from __future__ import annotations

import json
from typing import Any

import azure.functions as func

MISCONFIGURED = "The app is not configured correctly"
JSON_CONTENT_TYPE = "application/json; charset=utf-8"


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
