"""Keep secrets out of devhost's output.

Every line devhost writes goes through :class:`RedactingFormatter`: query-string values (the
cache-flush URL carries its function key as ``code=``), bearer tokens, Slack tokens, storage
account keys and the values of secret-looking environment variables are replaced.
"""

from __future__ import annotations

import functools
import logging
import os
import re
from collections.abc import Mapping

MASK = "***"
_MIN_SECRET_LENGTH = 8
_SECRET_NAME = re.compile(
    r"token|secret|password|passwd|key|code|connection|signature|credential|storage", re.I
)
_PATTERNS = (
    (re.compile(r"([?&][^=&\s#'\"<>]+=)[^&\s#'\"<>]+"), rf"\g<1>{MASK}"),
    (re.compile(r"(?i)(bearer\s+)[^\s'\",]+"), rf"\g<1>{MASK}"),
    (re.compile(r"xox[a-z]-[A-Za-z0-9-]+"), MASK),
    (
        re.compile(r"(?i)((?:AccountKey|SharedAccessSignature|SharedAccessKey)=)[^;\s'\"]+"),
        rf"\g<1>{MASK}",
    ),
)


@functools.lru_cache(maxsize=8)
def _secret_values(variables: tuple[tuple[str, str], ...]) -> tuple[str, ...]:
    """The values of secret-looking variables, longest first.

    Cached by the variables themselves: every line is redacted, and the environment seldom
    changes, so the name matching runs once per distinct environment, not once per line.
    """
    values = {
        value
        for name, value in variables
        if _SECRET_NAME.search(name) and len(value) >= _MIN_SECRET_LENGTH
    }
    return tuple(sorted(values, key=len, reverse=True))


def redact(text: str, environ: Mapping[str, str] | None = None) -> str:
    """Return ``text`` with anything secret-looking masked."""
    variables = tuple((os.environ if environ is None else environ).items())
    for value in _secret_values(variables):
        text = text.replace(value, MASK)
    for pattern, replacement in _PATTERNS:
        text = pattern.sub(replacement, text)
    return text


class RedactingFormatter(logging.Formatter):
    """A formatter whose whole output (message and traceback) is redacted."""

    def format(self, record: logging.LogRecord) -> str:
        """Format the record, then mask secrets in the result."""
        return redact(super().format(record))
