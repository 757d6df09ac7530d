"""Capture every log record (all loggers, DEBUG and up) and check it for secrets."""

from __future__ import annotations

import logging
import threading
from collections.abc import Iterable, Mapping
from typing import Self
from urllib.parse import quote, quote_plus

from devhost.lifecycle import StartStop
from tests.support.constants import SECRETS

LOG_FORMAT = "%(levelname)s %(name)s [%(threadName)s] %(message)s"


class LogCapture(StartStop, logging.Handler):
    """A root handler at DEBUG that keeps each record formatted (message, exception, stack).

    ``start()`` lowers the root logger to DEBUG so library loggers (slack_sdk, urllib3, azure,
    aiohttp) emit everything; ``stop()`` restores the previous level.
    """

    def __init__(self) -> None:
        """Create a capture; ``start()`` (or ``with``) attaches it."""
        super().__init__(logging.DEBUG)
        self.setFormatter(logging.Formatter(LOG_FORMAT))
        self.records: list[logging.LogRecord] = []
        self._lines: list[str] = []
        self._lines_lock = threading.Lock()
        self._previous_level: int | None = None

    def emit(self, record: logging.LogRecord) -> None:
        """Keep the record and its fully formatted text."""
        try:
            line = self.format(record)
        except Exception:  # a broken log call is itself worth seeing in the output
            line = f"UNFORMATTABLE {record.name} {record.msg!r} {record.args!r}"
        with self._lines_lock:
            self.records.append(record)
            self._lines.append(line)

    @property
    def lines(self) -> list[str]:
        """The formatted records so far (a record with a traceback is one multi-line entry)."""
        with self._lines_lock:
            return list(self._lines)

    @property
    def text(self) -> str:
        """All formatted records joined by newlines."""
        return "\n".join(self.lines)

    def clear(self) -> None:
        """Forget what was captured so far."""
        with self._lines_lock:
            self.records.clear()
            self._lines.clear()

    def start(self) -> Self:
        """Attach to the root logger at DEBUG."""
        root = logging.getLogger()
        self._previous_level = root.level
        root.setLevel(logging.DEBUG)
        root.addHandler(self)
        return self

    def stop(self) -> None:
        """Detach and restore the root logger's level."""
        root = logging.getLogger()
        root.removeHandler(self)
        if self._previous_level is not None:
            root.setLevel(self._previous_level)
            self._previous_level = None

    def assert_no_secrets(self, secrets: Mapping[str, str] | Iterable[str] = SECRETS) -> None:
        """Fail if any secret appears in the captured output (see ``assert_no_secrets``)."""
        assert_no_secrets(self.lines, secrets)


def _forms(secret: str) -> set[str]:
    return {secret, quote(secret), quote(secret, safe=""), quote_plus(secret)}


def assert_no_secrets(lines: Iterable[str], secrets: Mapping[str, str] | Iterable[str]) -> None:
    """Fail if a secret (plain or URL-encoded) appears in ``lines``.

    ``secrets`` maps a label to each value (or is just the values). The failure names the
    secret's label and shows the offending line with every secret masked, never the secret.
    """
    labelled = (
        dict(secrets)
        if isinstance(secrets, Mapping)
        else {f"secret #{i}": s for i, s in enumerate(secrets, 1)}
    )
    for number, line in enumerate(lines, 1):
        for label, secret in labelled.items():
            if secret and any(form in line for form in _forms(secret)):
                masked = line
                for other in labelled.values():
                    for form in sorted(_forms(other), key=len, reverse=True):
                        if form:
                            masked = masked.replace(
                                form, f"<{label if other == secret else 'secret'}>"
                            )
                raise AssertionError(f"{label} appears in log entry {number}: {masked}")
