"""Client for the cache-flush API (SPEC sections 8 and 10.2).

The function key is moved from the configured URL's `code` parameter into the
`x-functions-key` header, so it never sits in a URL that a library might log.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import asdict, dataclass
from typing import Any
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

import requests

logger = logging.getLogger(__name__)

TRANSIENT_STATUSES = frozenset({429, 502, 503, 504})
CONNECT_TIMEOUT_SECONDS = 5.0
MAX_BODY_CHARS = 64 * 1024
KEY_HEADER = "x-functions-key"


class TransientFlushError(Exception):
    """A failure worth retrying: no response, a timeout, or 429/502/503/504."""


@dataclass(frozen=True)
class FlushResult:
    """A final answer from cache-flush: `ok` for any 2xx."""

    ok: bool
    status: int | None
    body: Any
    error: str | None = None

    def to_dict(self) -> dict[str, Any]:
        """The JSON-ready form passed back to the orchestrator."""
        return asdict(self)


def split_function_key(url: str) -> tuple[str, str | None]:
    """Return the URL without its `code` query parameter, and that key (or None)."""
    parts = urlsplit(url)
    query = parse_qsl(parts.query, keep_blank_values=True)
    keys = [value for name, value in query if name == "code"]
    rest = [(name, value) for name, value in query if name != "code"]
    return urlunsplit(parts._replace(query=urlencode(rest))), (keys[0] if keys else None)


def _body(response: requests.Response) -> Any:
    try:
        return response.json()
    except ValueError:
        return response.text[:MAX_BODY_CHARS]


def request_flush(
    configured_url: str,
    environment: str,
    urls: Sequence[str],
    timeout_seconds: float,
    session: requests.Session | None = None,
) -> FlushResult:
    """POST the flush request; return a final result or raise TransientFlushError."""
    url, key = split_function_key(configured_url)
    headers = {KEY_HEADER: key} if key else {}
    sender = session or requests
    try:
        response = sender.post(
            url,
            json={"environment": environment, "objects": list(urls)},
            headers=headers,
            timeout=(min(CONNECT_TIMEOUT_SECONDS, timeout_seconds), timeout_seconds),
        )
    except requests.Timeout as error:
        raise TransientFlushError(
            f"no response: cache-flush did not answer within {timeout_seconds:g} s"
        ) from error
    except requests.RequestException as error:
        raise TransientFlushError(
            f"no response: could not reach cache-flush ({type(error).__name__})"
        ) from error
    body = _body(response)
    if response.status_code in TRANSIENT_STATUSES:
        raise TransientFlushError(f"cache-flush answered HTTP {response.status_code}")
    ok = 200 <= response.status_code < 300
    logger.info("cache-flush answered HTTP %d", response.status_code)
    return FlushResult(ok=ok, status=response.status_code, body=body)
