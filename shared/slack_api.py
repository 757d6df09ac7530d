"""Slack Web API access: slack-sdk's WebClient with the rules of `shared.slack_http`.

See doc/behaviour.md, "Using the Slack Web API".
"""

from __future__ import annotations

import time
from collections.abc import Callable
from email.message import Message
from http.client import HTTPException
from typing import IO, Any
from urllib.request import (
    HTTPRedirectHandler,
    HTTPSHandler,
    OpenerDirector,
    ProxyHandler,
    Request,
    build_opener,
)

from slack_sdk.errors import SlackApiError, SlackClientError, SlackRequestError
from slack_sdk.http_retry.builtin_handlers import (
    ConnectionErrorRetryHandler,
    RateLimitErrorRetryHandler,
)
from slack_sdk.http_retry.handler import RetryHandler
from slack_sdk.http_retry.response import HttpResponse
from slack_sdk.http_retry.state import RetryState
from slack_sdk.web.client import WebClient

from shared.deadline import Deadline, DeadlineExceeded
from shared.settings import Settings
from shared.slack_http import (
    REDIRECT_REFUSED,
    RedirectRefused,
    failure_name,
    retry_after_seconds,
    room_to_retry,
    within,
)

CLOSED_VIEW_ERRORS = frozenset({"not_found", "view_not_found"})
BACKGROUND_TIMEOUT_SECONDS = 10
BACKGROUND_MAX_RETRY_AFTER_SECONDS = 5
# What one Web API call can raise: Slack's error answers, the SDK's own errors and a refused
# redirect, the network (urllib's URLError and every timeout are OSErrors; an answer cut off is
# an HTTPException), and a body that is not JSON (a ValueError).
CALL_ERRORS: tuple[type[Exception], ...] = (
    SlackClientError,
    RedirectRefused,
    OSError,
    HTTPException,
    ValueError,
)
# The same for a call made through `run_within`, which also gives up at the deadline.
CALL_ERRORS_WITHIN_DEADLINE: tuple[type[Exception], ...] = (DeadlineExceeded, *CALL_ERRORS)


class _RefuseRedirects(HTTPRedirectHandler):
    """Turns every redirect into an error: the request, and its bot token, goes nowhere else."""

    def redirect_request(  # noqa: PLR0917 - urllib's signature
        self,
        req: Request,
        fp: IO[bytes],
        code: int,
        msg: str,
        headers: Message,
        newurl: str,
    ) -> Request | None:
        """Refuse the redirect (urllib's handler would resend the Authorization header)."""
        raise RedirectRefused(REDIRECT_REFUSED.format(code=code))


class SlackClient(WebClient):
    """slack-sdk's WebClient, except that it never follows a redirect.

    urllib's default opener follows 3xx answers and sends the request's headers, the bot
    token included, to wherever the redirect points; this client's opener refuses them.
    """

    def _opener(self) -> OpenerDirector:
        handlers: list[Any] = [_RefuseRedirects(), HTTPSHandler(context=self.ssl)]
        if isinstance(self.proxy, str) and self.proxy:
            handlers.append(ProxyHandler({"http": self.proxy, "https": self.proxy}))
        return build_opener(*handlers)

    def _perform_urllib_http_request_internal(self, url: str, req: Request) -> dict[str, Any]:
        """Send one request with the redirect-refusing opener; answer as slack-sdk expects."""
        if not url.lower().startswith(("http://", "https://")):
            raise SlackRequestError("Only http and https URLs are allowed for the Slack API")
        with self._opener().open(req, timeout=self.timeout) as response:
            data: bytes = response.read()
            headers = response.headers
            status = response.status
        if headers.get_content_type() == "application/gzip":
            return {"status": status, "headers": headers, "body": data}
        charset = headers.get_content_charset() or "utf-8"
        return {"status": status, "headers": headers, "body": data.decode(charset)}


class BoundedRateLimitRetryHandler(RateLimitErrorRetryHandler):
    """slack-sdk's 429 handler, retrying only when `Retry-After` fits a time budget.

    The slash command must finish within Slack's 3 seconds, and an activity must not sleep
    until its function timeout: a longer `Retry-After` surfaces the error at once instead.
    It waits exactly the `Retry-After` Slack names (1 s without one), as the first call does
    (`shared.slack_http`), not slack-sdk's up to a second more at random, so a wait never
    outlasts the room the deadline was checked for.
    """

    def __init__(self, max_retry_count: int, max_retry_after_seconds: int) -> None:
        super().__init__(max_retry_count=max_retry_count)
        self.max_retry_after_seconds = max_retry_after_seconds

    def _can_retry(self, *, response: HttpResponse | None = None, **attempt: Any) -> bool:
        if response is None or response.status_code != 429:
            return False
        wait = _retry_after(response)
        return wait is not None and wait <= self.max_retry_after_seconds

    def prepare_for_next_attempt(
        self, *, state: RetryState, response: HttpResponse | None = None, **attempt: Any
    ) -> None:
        """Sleep the `Retry-After` Slack named, then count the attempt."""
        wait = _retry_after(response) if response is not None else None
        state.next_attempt_requested = True
        time.sleep(wait or 0)
        state.increment_current_attempt()


def _retry_after(response: HttpResponse) -> int | None:
    """The seconds a 429 answer asks to wait (`shared.slack_http.retry_after_seconds`)."""
    values = {name.lower(): value for name, value in response.headers.items()}
    found = values.get("retry-after")
    return retry_after_seconds(found[0] if found else None)


class _WithinDeadline(RetryHandler):
    """One of slack-sdk's retry handlers, held to a request's deadline as well.

    A retry is attempted only while the deadline leaves room for the longest wait and a
    short call after it; the attempt after the wait gets what remains as its timeout.
    `while_waiting`, if given, is started before each wait, so work that does not depend on
    the call can use the time.
    """

    def __init__(
        self,
        inner: RetryHandler,
        client: WebClient,
        deadline: Deadline,
        max_wait_seconds: float,
        while_waiting: Callable[[], None] | None,
    ) -> None:
        super().__init__(max_retry_count=inner.max_retry_count)
        self._inner = inner
        self._client = client
        self._timeout = client.timeout
        self._deadline = deadline
        self._max_wait_seconds = max_wait_seconds
        self._while_waiting = while_waiting

    def can_retry(self, **attempt: Any) -> bool:
        """Defer to the wrapped handler, unless the deadline is too close."""
        if not room_to_retry(self._deadline, self._max_wait_seconds):
            return False
        return self._inner.can_retry(**attempt)

    def prepare_for_next_attempt(self, **attempt: Any) -> None:
        """Wait as the wrapped handler does, then give the next attempt what remains."""
        if self._while_waiting is not None:
            self._while_waiting()
        self._inner.prepare_for_next_attempt(**attempt)
        self._client.timeout = within(self._timeout, self._deadline)  # type: ignore[assignment]


def web_client(
    settings: Settings,
    timeout: float,
    *,
    max_retry_after_seconds: int,
    rate_limit_retries: int = 1,
    deadline: Deadline | None = None,
    while_waiting: Callable[[], None] | None = None,
) -> WebClient:
    """A client on the configured base URL, with a timeout and bounded retry handlers.

    It follows no redirect (`SlackClient`). Connection resets are retried once; HTTP 429 is
    retried after its `Retry-After` only when Slack asks for at most
    `max_retry_after_seconds`, so no call ever sleeps longer. With a `deadline`, no call
    outlasts it and a retry starts only while it leaves time, and `while_waiting` is started
    before each retry's wait.
    """
    client = SlackClient(
        token=settings.slack_bot_token,
        base_url=settings.slack_api_url,
        timeout=timeout,  # type: ignore[arg-type]  # urllib accepts fractions of a second
        retry_handlers=[
            ConnectionErrorRetryHandler(max_retry_count=1),
            BoundedRateLimitRetryHandler(rate_limit_retries, max_retry_after_seconds),
        ],
    )
    if deadline is None:
        return client
    client.retry_handlers = [
        _WithinDeadline(handler, client, deadline, max_retry_after_seconds, while_waiting)
        for handler in client.retry_handlers
    ]
    client.timeout = within(timeout, deadline)  # type: ignore[assignment]
    return client


def error_code(error: Exception) -> str:
    """Slack's error code for an API error; otherwise the name the first call would give it."""
    response = getattr(error, "response", None) if isinstance(error, SlackApiError) else None
    data = getattr(response, "data", None)
    code = data.get("error") if isinstance(data, dict) else None
    if isinstance(code, str) and code:
        return code
    if response is not None:
        return f"http_{response.status_code}"
    return failure_name(error)


def is_closed_view(error: Exception) -> bool:
    """Whether the error means the user has already closed (or Slack expired) the view."""
    return error_code(error) in CLOSED_VIEW_ERRORS
