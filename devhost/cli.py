"""Command line: ``python -m devhost``."""

from __future__ import annotations

import argparse
import asyncio
import logging
import os
import signal
import sys
import time
from collections.abc import Sequence

from devhost.config import (
    LONG_TIMER_INTERVAL_VARIABLE,
    MAX_SHORT_TIMER_VARIABLE,
    StartupError,
)
from devhost.host import DEFAULT_HOST, DEFAULT_PORT, DEFAULT_STATE_DIR, DevHost, create_host
from devhost.redact import RedactingFormatter

DESCRIPTION = """\
devhost: a local DEVELOPMENT host for this Azure Functions app (Python v1 folder model with
Durable Functions), for machines without Azure Functions Core Tools. It is NOT a production
server: no authentication (function keys are not enforced), no scaling, one process, state in
a local SQLite file. It serves HTTP-triggered functions under /api, runs orchestrators through
azure-functions-durable's replay engine, and offers a subset of the Durable management API
under /runtime/webhooks/durabletask/.
"""


def build_parser() -> argparse.ArgumentParser:
    """The argument parser (its --help says what devhost is and is not)."""
    parser = argparse.ArgumentParser(
        prog="python -m devhost",
        description=DESCRIPTION,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("--host", default=DEFAULT_HOST, help="address to listen on (%(default)s)")
    parser.add_argument(
        "--port", type=int, default=DEFAULT_PORT, help="port; 0 picks a free one (%(default)s)"
    )
    parser.add_argument("--app-root", default=".", help="the function app folder (%(default)s)")
    parser.add_argument(
        "--state-dir", default=DEFAULT_STATE_DIR, help="where durable state lives (%(default)s)"
    )
    parser.add_argument(
        "--simulate",
        action="store_true",
        help="also serve the Slack and cache-flush simulators under /sim/ and point unset "
        "settings at them",
    )
    parser.add_argument(
        "--max-short-timer",
        metavar="DURATION",
        help="longest single durable timer, in seconds or d.hh:mm:ss; a longer one becomes a "
        f"chain of shorter ones (${MAX_SHORT_TIMER_VARIABLE}, else 6 days as on Azure Storage)",
    )
    parser.add_argument(
        "--long-timer-interval",
        metavar="DURATION",
        help="step of such a chain, in seconds or d.hh:mm:ss "
        f"(${LONG_TIMER_INTERVAL_VARIABLE}, else 3 days as on Azure Storage)",
    )
    return parser


class _UtcFormatter(RedactingFormatter):
    def formatTime(self, record: logging.LogRecord, datefmt: str | None = None) -> str:
        """Format times as ISO-8601 UTC with milliseconds, like the Functions host."""
        stamp = time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(record.created))
        return f"{stamp}.{int(record.msecs):03d}Z"


def configure_logging() -> None:
    """Send every log line to stdout, redacted, in the Functions host's format."""
    handler = logging.StreamHandler(sys.stdout)
    handler.setFormatter(_UtcFormatter("[%(asctime)s] %(message)s"))
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(logging.INFO)


def _say(line: str) -> None:
    print(line, flush=True)


async def _serve(host: DevHost) -> int:
    loop = asyncio.get_running_loop()
    stopping = asyncio.Event()
    for signum in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(signum, stopping.set)
    try:
        await host.start()
    except StartupError as exc:
        print(f"devhost: cannot start: {exc}", file=sys.stderr, flush=True)
        return 2
    if host.settings_applied:
        _say(f"Loaded {len(host.settings_applied)} setting(s) from local.settings.json")
    _say("devhost is a development host, not a production server.")
    _say("Functions:")
    for line in host.describe():
        _say(f"    {line}")
    _say(f"devhost listening on {host.base_url}")
    await stopping.wait()
    logging.getLogger("devhost").info("devhost stopping")
    await host.stop()
    logging.getLogger("devhost").info("devhost stopped")
    return 0


def main(argv: Sequence[str] | None = None) -> int:
    """Run devhost until SIGINT/SIGTERM; return the exit status."""
    args = build_parser().parse_args(argv)
    configure_logging()
    # The timer flags set the variables devhost reads, so they win over local.settings.json.
    flags = {
        MAX_SHORT_TIMER_VARIABLE: args.max_short_timer,
        LONG_TIMER_INTERVAL_VARIABLE: args.long_timer_interval,
    }
    os.environ.update({name: value for name, value in flags.items() if value is not None})
    host = create_host(
        args.app_root,
        args.state_dir,
        host=args.host,
        port=args.port,
        simulate=args.simulate,
    )
    status = asyncio.run(_serve(host))
    sys.stdout.flush()
    sys.stderr.flush()
    if host.busy_threads:
        # Functions still running on worker threads would hold the interpreter open; their
        # orchestrations resume (and the work runs again) on the next start.
        os._exit(status)
    return status
