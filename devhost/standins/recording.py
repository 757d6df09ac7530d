"""What the stand-in servers record, with one arrival order shared by all of them."""

from __future__ import annotations

import itertools
import threading
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

_counter = itertools.count(1)
_counter_lock = threading.Lock()

SENSITIVE_HEADERS = frozenset({"authorization", "x-functions-key", "x-slack-signature"})
SENSITIVE_QUERY_KEYS = frozenset({"code", "sig"})
REDACTED = "[redacted]"


def next_seq() -> int:
    """Return the next number of the arrival order shared by every stand-in in this process."""
    with _counter_lock:
        return next(_counter)


def redact_headers(headers: Mapping[str, str]) -> dict[str, str]:
    """Copy ``headers`` with credential-bearing values replaced, for messages and reprs."""
    return {k: REDACTED if k.lower() in SENSITIVE_HEADERS else v for k, v in headers.items()}


def redact_query(query: Mapping[str, str]) -> dict[str, str]:
    """Copy ``query`` with key-bearing parameters replaced, for messages and reprs."""
    return {k: REDACTED if k.lower() in SENSITIVE_QUERY_KEYS else v for k, v in query.items()}


def header_value(headers: Mapping[str, str], name: str) -> str | None:
    """Look a header up by name, ignoring case."""
    wanted = name.lower()
    for key, value in headers.items():
        if key.lower() == wanted:
            return value
    return None


@dataclass
class RecordedRequest:
    """One HTTP request as a stand-in server received it.

    ``seq`` orders arrivals across all stand-ins; ``received_at`` is ``time.monotonic()``.
    ``response_status`` is set just before the answer is written (``None`` when the
    connection was dropped without an answer).
    """

    seq: int
    server: str
    method: str
    path: str
    query: dict[str, str]
    headers: dict[str, str]
    body: bytes
    received_at: float
    json: Any = None
    form: dict[str, str] | None = None
    raw_query: str = ""
    response_status: int | None = field(default=None, compare=False)

    def header(self, name: str) -> str | None:
        """Return the value of header ``name`` (case-insensitive), or ``None``."""
        return header_value(self.headers, name)

    def __repr__(self) -> str:
        """Describe the request without credentials, so assertion output leaks nothing."""
        return (
            f"RecordedRequest(seq={self.seq}, server={self.server!r}, method={self.method!r}, "
            f"path={self.path!r}, query={redact_query(self.query)!r}, "
            f"headers={redact_headers(self.headers)!r}, body_bytes={len(self.body)}, "
            f"response_status={self.response_status!r})"
        )
