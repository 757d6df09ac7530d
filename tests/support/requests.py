"""Real ``azure.functions.HttpRequest`` objects as the Functions host would build them."""

from __future__ import annotations

import time
from collections.abc import Mapping

import azure.functions as func
import pytest

from devhost.standins.slack_requests import slack_headers
from tests.support import constants

HOST_ORIGIN = "http://localhost:7071"
SECRET = constants.SLACK_SIGNING_SECRET

# Headers for a body that Slack did not sign, or that was changed or replayed since:
# every Slack endpoint answers each of them with 401.
FORGED_HEADERS = [
    pytest.param(lambda body: slack_headers("wrong-secret", body), id="wrong-signature"),
    pytest.param(lambda body: {"Content-Type": "application/x-www-form-urlencoded"}, id="none"),
    pytest.param(
        lambda body: slack_headers(SECRET, body, int(time.time()) - 301),
        id="older-than-5-minutes",
    ),
    pytest.param(
        lambda body: slack_headers(SECRET, body, int(time.time()) + 301),
        id="future-beyond-5-minutes",
    ),
    pytest.param(
        lambda body: slack_headers(SECRET, body + b"&text=evil"), id="body-altered-after-signing"
    ),
    pytest.param(
        lambda body: {**slack_headers(SECRET, body), "X-Slack-Request-Timestamp": "soon"},
        id="malformed-timestamp",
    ),
]


def http_request(
    path: str,
    body: bytes,
    headers: Mapping[str, str],
    method: str = "POST",
    params: Mapping[str, str] | None = None,
) -> func.HttpRequest:
    """A request for ``/api/<path>`` with ``body``, ``headers`` and query ``params``."""
    return func.HttpRequest(
        method=method,
        url=f"{HOST_ORIGIN}/api/{path.lstrip('/')}",
        headers=dict(headers),
        params=dict(params or {}),
        route_params={},
        body=body,
    )
