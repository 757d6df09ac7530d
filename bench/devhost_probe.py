"""devhost's command line plus one log handler that times every invocation in microseconds.

``python -m bench.devhost_probe <devhost arguments>`` runs exactly what ``python -m devhost``
runs. devhost's own log lines carry millisecond times; to split end-to-end time between the
functions and the host, this handler appends ``time.time()`` of each ``Executing`` and
``Executed`` record to the JSON-lines file named by ``BENCH_INVOCATION_LOG``.
"""

from __future__ import annotations

import json
import logging
import os
import sys
from typing import TextIO

from devhost.cli import main as devhost_main

_PREFIXES = ("Executing 'Functions.", "Executed 'Functions.")


class InvocationRecorder(logging.Handler):
    """Writes ``{"t": <epoch seconds>, "m": <message>}`` for each invocation record."""

    def __init__(self, stream: TextIO) -> None:
        """Write to ``stream`` (line-buffered, so readers see each record at once)."""
        super().__init__()
        self._stream = stream

    def emit(self, record: logging.LogRecord) -> None:
        """Keep only the host's invocation records."""
        message = record.getMessage()
        if message.startswith(_PREFIXES):
            self._stream.write(json.dumps({"t": record.created, "m": message}) + "\n")


def main() -> int:
    """Attach the recorder to devhost's logger, then run devhost's command line."""
    with open(os.environ["BENCH_INVOCATION_LOG"], "a", buffering=1, encoding="utf-8") as stream:
        logging.getLogger("devhost").addHandler(InvocationRecorder(stream))
        return devhost_main(sys.argv[1:])


if __name__ == "__main__":
    sys.exit(main())
