"""Client for the cache-flush API (doc/behaviour.md, "The cache-flush API").

One call, one typed result: every answer, a timeout or a network error comes back as a
`FlushResult` (never as an exception), so the orchestrator can retry and still tell the user
what cache-flush last said. The function key is moved from the configured URL's `code`
parameter into the `x-functions-key` header, so it never sits in a URL that a library might
log; redirects are never followed, so the key only ever goes to the configured host.
"""

from __future__ import annotations

import json
import logging
from datetime import UTC, datetime
from email.utils import parsedate_to_datetime
from typing import Any
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

import requests

from shared.handoffs import FlushCall, FlushResult

logger = logging.getLogger(__name__)

CONNECT_TIMEOUT_SECONDS = 5.0
MAX_BODY_BYTES = 64 * 1024
READ_CHUNK_BYTES = 8 * 1024
TRUNCATED = "\n… (truncated)"
KEY_HEADER = "x-functions-key"
MAX_RETRY_AFTER_SECONDS = 86_400
REDIRECT_NOT_FOLLOWED = "cache-flush answered with a redirect, which the app does not follow"


def split_function_key(url: str) -> tuple[str, str | None]:
    """Return the URL without its `code` query parameter, and that key (or None)."""
    parts = urlsplit(url)
    query = parse_qsl(parts.query, keep_blank_values=True)
    keys = [value for name, value in query if name == "code"]
    rest = [(name, value) for name, value in query if name != "code"]
    return urlunsplit(parts._replace(query=urlencode(rest))), (keys[0] if keys else None)


def _refuse_constant(name: str) -> Any:
    raise ValueError(f"{name} is not JSON")


def _read_body(response: requests.Response) -> Any:
    """At most MAX_BODY_BYTES of the body: parsed JSON, or text (marked when truncated).

    A body the connection cuts short is logged and kept only as far as it could be read
    (often nothing): the status alone still answers.
    """
    data = b""
    try:
        for chunk in response.iter_content(READ_CHUNK_BYTES):
            data += chunk
            if len(data) > MAX_BODY_BYTES:
                break
    except requests.RequestException as error:
        logger.warning("The cache-flush answer's body was cut short (%s)", type(error).__name__)
    if len(data) > MAX_BODY_BYTES:
        return data[:MAX_BODY_BYTES].decode("utf-8", errors="replace") + TRUNCATED
    try:
        return json.loads(data, parse_constant=_refuse_constant)
    except ValueError:
        return data.decode("utf-8", errors="replace")


def request_flush(
    configured_url: str,
    call: FlushCall,
    timeout_seconds: float,
    session: requests.Session | None = None,
) -> FlushResult:
    """POST the flush request once; return what happened as a `FlushResult`."""
    url, key = split_function_key(configured_url)
    headers = {KEY_HEADER: key} if key else {}
    sender = session or requests
    try:
        with sender.post(
            url,
            json={"environment": call.environment, "objects": list(call.urls)},
            headers=headers,
            timeout=(min(CONNECT_TIMEOUT_SECONDS, timeout_seconds), timeout_seconds),
            allow_redirects=False,
            stream=True,
        ) as response:
            status = response.status_code
            body = _read_body(response)
            retry_after = retry_after_seconds(response.headers.get("Retry-After"))
    except requests.Timeout:
        return FlushResult.no_response(f"cache-flush did not answer within {timeout_seconds:g} s")
    except requests.RequestException as error:
        return FlushResult.no_response(f"could not reach cache-flush ({type(error).__name__})")
    logger.info("cache-flush answered HTTP %d", status)
    if 300 <= status < 400:
        return FlushResult.answered(status, body, REDIRECT_NOT_FOLLOWED)
    return FlushResult.answered(status, body, retry_after_seconds=retry_after)


def retry_after_seconds(value: str | None, now: datetime | None = None) -> float | None:
    """The wait a `Retry-After` header asks for, in seconds: a number or an HTTP date.

    None when absent or unreadable; at most MAX_RETRY_AFTER_SECONDS.
    """
    text = (value or "").strip()
    if text.isdecimal():
        return float(min(int(text), MAX_RETRY_AFTER_SECONDS))
    try:
        when = parsedate_to_datetime(text)
    except (TypeError, ValueError, IndexError):
        return None
    if when.tzinfo is None:
        return None
    wait = (when - (now or datetime.now(UTC))).total_seconds()
    return min(max(wait, 0.0), float(MAX_RETRY_AFTER_SECONDS))
