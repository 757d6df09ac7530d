"""Slack Web API access: a configured slack-sdk WebClient and its error vocabulary.

See doc/behaviour.md, "Using the Slack Web API".
"""

from __future__ import annotations

from slack_sdk.errors import SlackApiError
from slack_sdk.http_retry.builtin_handlers import (
    ConnectionErrorRetryHandler,
    RateLimitErrorRetryHandler,
)
from slack_sdk.http_retry.request import HttpRequest
from slack_sdk.http_retry.response import HttpResponse
from slack_sdk.http_retry.state import RetryState
from slack_sdk.web.client import WebClient

from shared.settings import Settings

CLOSED_VIEW_ERRORS = frozenset({"not_found", "view_not_found"})
INTERACTIVE_TIMEOUT_SECONDS = 2
BACKGROUND_TIMEOUT_SECONDS = 10
INTERACTIVE_MAX_RETRY_AFTER_SECONDS = 1
BACKGROUND_MAX_RETRY_AFTER_SECONDS = 5


class BoundedRateLimitRetryHandler(RateLimitErrorRetryHandler):
    """slack-sdk's 429 handler, retrying only when `Retry-After` fits a time budget.

    The slash command must finish within Slack's 3 seconds, and an activity must not sleep
    until its function timeout: a longer `Retry-After` surfaces the error at once instead.
    """

    def __init__(self, max_retry_count: int, max_retry_after_seconds: int) -> None:
        super().__init__(max_retry_count=max_retry_count)
        self.max_retry_after_seconds = max_retry_after_seconds

    def _can_retry(
        self,
        *,
        state: RetryState,
        request: HttpRequest,
        response: HttpResponse | None = None,
        error: Exception | None = None,
    ) -> bool:
        if response is None or response.status_code != 429:
            return False
        values = {name.lower(): value for name, value in response.headers.items()}
        retry_after = (values.get("retry-after") or ["1"])[0]
        return retry_after.isdecimal() and int(retry_after) <= self.max_retry_after_seconds


def web_client(
    settings: Settings,
    timeout: float,
    *,
    max_retry_after_seconds: int,
    rate_limit_retries: int = 1,
) -> WebClient:
    """A WebClient on the configured base URL, with a timeout and bounded retry handlers.

    Connection resets are retried once; HTTP 429 is retried after its `Retry-After` only
    when Slack asks for at most `max_retry_after_seconds`, so no call ever sleeps longer.
    """
    return WebClient(
        token=settings.slack_bot_token,
        base_url=settings.slack_api_url,
        timeout=timeout,  # type: ignore[arg-type]  # urllib accepts fractions of a second
        retry_handlers=[
            ConnectionErrorRetryHandler(max_retry_count=1),
            BoundedRateLimitRetryHandler(rate_limit_retries, max_retry_after_seconds),
        ],
    )


def error_code(error: Exception) -> str:
    """Slack's error code for an API error, or the exception's class name otherwise."""
    response = getattr(error, "response", None) if isinstance(error, SlackApiError) else None
    data = getattr(response, "data", None)
    code = data.get("error") if isinstance(data, dict) else None
    if isinstance(code, str) and code:
        return code
    if response is not None:
        return f"http_{response.status_code}"
    return type(error).__name__


def is_closed_view(error: Exception) -> bool:
    """Whether the error means the user has already closed (or Slack expired) the view."""
    return error_code(error) in CLOSED_VIEW_ERRORS
