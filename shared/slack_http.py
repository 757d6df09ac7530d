"""The rules of the app's calls to Slack, and the first call made with the standard library.

Every interactive call has a 2-second timeout and the request's deadline, follows no
redirect (doc/adr/0018-slack-client-refuses-redirects.md), retries a dropped connection once
and an HTTP 429 once after a `Retry-After` of at most a second. `shared.slack_api` gives
slack-sdk's client these rules.

Opening (or pushing) the checking view on a trigger is the first call out on every way into
the form; a trigger lives 3 seconds and on a cold worker this call comes first, so it is made
here with the standard library: importing any part of slack-sdk loads its whole Web client
and Block Kit models (doc/adr/0020-the-first-call-without-slack-sdk.md).
"""

from __future__ import annotations

import json
import logging
import time
from collections.abc import Callable, Mapping
from email.message import Message
from http.client import HTTPConnection, HTTPException, HTTPSConnection, RemoteDisconnected
from typing import Any
from urllib.parse import urlsplit

from shared.deadline import Deadline
from shared.errors import AppError
from shared.settings import Settings

INTERACTIVE_TIMEOUT_SECONDS = 2
INTERACTIVE_MAX_RETRY_AFTER_SECONDS = 1
# Under a deadline, a retry is attempted only when at least this much time is left after its
# longest wait.
MIN_RETRY_SECONDS = 0.3
REDIRECT_REFUSED = "Slack answered with a redirect (HTTP {code}), which the app does not follow"
USER_AGENT = "cache-flush-slack-app (Python http.client)"

logger = logging.getLogger(__name__)


class SlackCallFailed(AppError):
    """Slack did not open the view; `code` is Slack's error code or `http_<status>`."""

    def __init__(self, code: str, retry_after: int | None = None) -> None:
        super().__init__(code)
        self.code = code
        self.retry_after = retry_after


class RedirectRefused(AppError):
    """Slack answered with a redirect, which no call of the app follows."""


# What opening a view can raise: Slack's refusal or a redirect, the network (URLError and
# timeouts are OSErrors; an answer cut off is an HTTPException), or a body that is not JSON.
OPEN_ERRORS: tuple[type[Exception], ...] = (
    SlackCallFailed,
    RedirectRefused,
    OSError,
    HTTPException,
    ValueError,
)


def _retry_after(headers: Message) -> int | None:
    """The seconds a 429 asks to wait: its `Retry-After`, 1 without one, None if unreadable."""
    value = headers.get("Retry-After")
    if value is None:
        return 1
    return int(value) if value.isascii() and value.isdigit() else None


def _answer(status: int, body: bytes, headers: Message) -> dict[str, Any]:
    """Slack's JSON answer when `ok`, or SlackCallFailed naming its error."""
    try:
        data = json.loads(body.decode("utf-8")) if body else None
    except ValueError:
        data = None
    if isinstance(data, dict) and data.get("ok") is True and status == 200:
        return data
    code = data.get("error") if isinstance(data, dict) else None
    if not isinstance(code, str) or not code:
        code = f"http_{status}"
    raise SlackCallFailed(code, _retry_after(headers) if status == 429 else None)


def _post(url: str, token: str, payload: Mapping[str, Any], timeout: float) -> dict[str, Any]:
    """One POST of `payload` as JSON with the bot token; Slack's answer.

    http.client follows no redirect: a 3xx answer is refused, so the token goes nowhere else.
    """
    parts = urlsplit(url)
    connection_type = HTTPSConnection if parts.scheme == "https" else HTTPConnection
    connection = connection_type(parts.netloc, timeout=timeout)
    headers = {
        "Authorization": f"Bearer {token}",
        "Content-Type": "application/json; charset=utf-8",
        "User-Agent": USER_AGENT,
    }
    try:
        connection.request("POST", parts.path, json.dumps(payload).encode("utf-8"), headers)
        response = connection.getresponse()
        body = response.read()
    finally:
        connection.close()
    if 300 <= response.status < 400:
        raise RedirectRefused(REDIRECT_REFUSED.format(code=response.status))
    return _answer(response.status, body, response.headers)


def _retry_wait(error: Exception, deadline: Deadline) -> float | None:
    """How long to wait before the one retry `error` allows, or None for no retry."""
    if isinstance(error, SlackCallFailed):
        wait = error.retry_after
        if wait is None or wait > INTERACTIVE_MAX_RETRY_AFTER_SECONDS:
            return None
    elif isinstance(error, ConnectionError | RemoteDisconnected):
        wait = 0
    else:
        return None
    return (
        wait
        if deadline.remaining() >= INTERACTIVE_MAX_RETRY_AFTER_SECONDS + MIN_RETRY_SECONDS
        else None
    )


def call_view_method(
    settings: Settings,
    method: str,
    payload: Mapping[str, Any],
    deadline: Deadline,
    while_waiting: Callable[[], None] | None = None,
) -> dict[str, Any]:
    """Call `views.open` or `views.push` (`method`) and return Slack's answer.

    A dropped connection is retried at once, a 429 after its `Retry-After`; either once,
    only while the deadline leaves time, and with `while_waiting` started first, so work
    that does not need the view can use the wait.
    """
    url = settings.slack_api_url.rstrip("/") + "/" + method
    token = settings.slack_bot_token
    try:
        return _post(url, token, payload, min(INTERACTIVE_TIMEOUT_SECONDS, deadline.call_timeout()))
    except OPEN_ERRORS as error:
        wait = _retry_wait(error, deadline)
        if wait is None:
            raise
        logger.info("%s will be retried: %s", method, error_code(error))
    if while_waiting is not None:
        while_waiting()
    time.sleep(wait)
    return _post(url, token, payload, min(INTERACTIVE_TIMEOUT_SECONDS, deadline.call_timeout()))


def view_id(answer: Mapping[str, Any]) -> str:
    """The ID of the view Slack opened, from its answer."""
    view = answer.get("view")
    identifier = view.get("id") if isinstance(view, dict) else None
    if not isinstance(identifier, str) or not identifier:
        raise SlackCallFailed("no_view_id")
    return identifier


def error_code(error: Exception) -> str:
    """Slack's error code for a refused call, or the exception's class name otherwise."""
    return error.code if isinstance(error, SlackCallFailed) else type(error).__name__
