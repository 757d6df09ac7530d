"""The rules of the app's calls to Slack, and the first call made with the standard library.

Every interactive call has a 2-second timeout cut to the request's deadline, follows no
redirect (doc/adr/0018-refuse-redirects-in-the-slack-client.md), and retries an HTTP 429 once
after exactly the `Retry-After` it names, if that is at most a second and the deadline leaves
room. `shared.slack_api` gives slack-sdk's client these rules; a lost connection is retried
once by each path in its own way (here at once, by slack-sdk after its back-off).

Opening (or pushing) the checking view on a trigger is the first call out on every way into
the form; a trigger lives 3 seconds and on a cold worker this call comes first, so it is made
here with the standard library: importing any part of slack-sdk loads its whole Web client
and Block Kit models (doc/adr/0020-the-first-call-without-slack-sdk.md).
"""

from __future__ import annotations

import functools
import json
import logging
import ssl
import time
from collections.abc import Callable, Mapping
from email.message import Message
from http.client import HTTPConnection, HTTPException, HTTPSConnection
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


# What opening a view can raise: Slack's refusal or a redirect, the network (refused or lost
# connections, name lookups and timeouts are OSErrors; an answer cut off is an
# HTTPException), or a request http.client cannot encode (a ValueError).
OPEN_ERRORS: tuple[type[Exception], ...] = (
    SlackCallFailed,
    RedirectRefused,
    OSError,
    HTTPException,
    ValueError,
)


def retry_after_seconds(value: str | None) -> int | None:
    """The seconds a 429 asks to wait: its `Retry-After`, 1 without one, None if unreadable."""
    if value is None:
        return 1
    return int(value) if value.isascii() and value.isdigit() else None


def within(timeout: float, deadline: Deadline) -> float:
    """One call's timeout: its usual bound, or less when the deadline is closer."""
    return min(timeout, deadline.call_timeout())


@functools.cache
def _tls() -> ssl.SSLContext:
    """One default TLS context (certificates and host names checked), made on first use."""
    return ssl.create_default_context()


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
    retry_after = retry_after_seconds(headers.get("Retry-After")) if status == 429 else None
    raise SlackCallFailed(code, retry_after)


def _post(url: str, token: str, payload: Mapping[str, Any], timeout: float) -> dict[str, Any]:
    """One POST of `payload` as JSON with the bot token; Slack's answer.

    http.client follows no redirect: a 3xx answer is refused, so the token goes nowhere else.
    """
    parts = urlsplit(url)
    connection = (
        HTTPSConnection(parts.netloc, timeout=timeout, context=_tls())
        if parts.scheme == "https"
        else HTTPConnection(parts.netloc, timeout=timeout)
    )
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


def room_to_retry(deadline: Deadline, max_wait_seconds: float) -> bool:
    """Whether the deadline leaves time for the longest wait and a short call after it."""
    return deadline.remaining() >= max_wait_seconds + MIN_RETRY_SECONDS


def _retry_wait(error: Exception, deadline: Deadline) -> float | None:
    """How long to wait before the one retry `error` allows, or None for no retry."""
    if isinstance(error, SlackCallFailed):
        wait = error.retry_after
        if wait is None or wait > INTERACTIVE_MAX_RETRY_AFTER_SECONDS:
            return None
    elif isinstance(error, ConnectionError):  # refused, reset or closed without an answer
        wait = 0
    else:
        return None
    return wait if room_to_retry(deadline, INTERACTIVE_MAX_RETRY_AFTER_SECONDS) else None


def call_view_method(
    settings: Settings,
    method: str,
    payload: Mapping[str, Any],
    deadline: Deadline,
    while_waiting: Callable[[], None] | None = None,
) -> dict[str, Any]:
    """Call `views.open` or `views.push` (`method`) and return Slack's answer.

    A lost connection is retried at once, a 429 after its `Retry-After`; either once and
    only while the deadline leaves time. Before a 429's wait `while_waiting` is started, so
    work that does not need the view uses the wait; the time it takes counts as waited.
    """
    url = settings.slack_api_url.rstrip("/") + "/" + method
    token = settings.slack_bot_token
    try:
        return _post(url, token, payload, within(INTERACTIVE_TIMEOUT_SECONDS, deadline))
    except OPEN_ERRORS as error:
        wait = _retry_wait(error, deadline)
        if wait is None:
            raise
        logger.info("%s will be retried: %s", method, error_code(error))
    if wait:
        waited_from = time.monotonic()
        if while_waiting is not None:
            while_waiting()
        time.sleep(max(0.0, wait - (time.monotonic() - waited_from)))
    return _post(url, token, payload, within(INTERACTIVE_TIMEOUT_SECONDS, deadline))


def view_id(answer: Mapping[str, Any]) -> str:
    """The ID of the view Slack opened, from its answer."""
    view = answer.get("view")
    identifier = view.get("id") if isinstance(view, dict) else None
    if not isinstance(identifier, str) or not identifier:
        raise SlackCallFailed("no_view_id")
    return identifier


# What a failed call is called when Slack gave no error code, most specific first: the name
# the user is shown ("Slack said `timeout`") and the log line carries.
_FAILURE_NAMES: tuple[tuple[type[Exception], str], ...] = (
    (RedirectRefused, "redirect_refused"),
    (TimeoutError, "timeout"),
    (ConnectionError, "connection_lost"),
    (HTTPException, "bad_answer"),
    (OSError, "network_error"),
)


def failure_name(error: Exception) -> str:
    """A short name for a call that failed without an answer from Slack."""
    for kind, name in _FAILURE_NAMES:
        if isinstance(error, kind):
            return name
    return type(error).__name__


def error_code(error: Exception) -> str:
    """Slack's error code for a refused call; otherwise a short name for what went wrong."""
    return error.code if isinstance(error, SlackCallFailed) else failure_name(error)
