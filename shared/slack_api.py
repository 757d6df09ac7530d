"""Slack Web API access: a configured slack-sdk WebClient and its error vocabulary (SPEC 11)."""

from __future__ import annotations

from slack_sdk.errors import SlackApiError
from slack_sdk.http_retry.builtin_handlers import (
    ConnectionErrorRetryHandler,
    RateLimitErrorRetryHandler,
)
from slack_sdk.web.client import WebClient

from shared.settings import Settings

CLOSED_VIEW_ERRORS = frozenset({"not_found", "view_not_found"})
INTERACTIVE_TIMEOUT_SECONDS = 2
BACKGROUND_TIMEOUT_SECONDS = 10


def web_client(settings: Settings, timeout: float, rate_limit_retries: int = 1) -> WebClient:
    """A WebClient on the configured base URL, with a timeout and slack-sdk's retry handlers.

    Connection resets are retried once; HTTP 429 is retried after its `Retry-After`.
    """
    return WebClient(
        token=settings.slack_bot_token,
        base_url=settings.slack_api_url,
        timeout=timeout,  # type: ignore[arg-type] (urllib accepts fractions of a second)
        retry_handlers=[
            ConnectionErrorRetryHandler(max_retry_count=1),
            RateLimitErrorRetryHandler(max_retry_count=rate_limit_retries),
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
