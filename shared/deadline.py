"""One time budget per Slack request: Slack discards an answer after 3 seconds.

Both HTTP functions start a `Deadline` when a request arrives and hold every outbound call to
it (doc/adr/0012-one-access-decision.md). Work that cannot be bounded by a timeout of its own
runs in a worker thread through `run_within`, and is abandoned when the deadline passes.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from concurrent.futures import Future
from typing import TYPE_CHECKING, NamedTuple, TypeVar

from shared.errors import AppError

if TYPE_CHECKING:
    from concurrent.futures import ThreadPoolExecutor

SLACK_BUDGET_SECONDS = 2.5
# A call is never given less than this: a zero timeout would make sockets non-blocking.
MIN_CALL_SECONDS = 0.05
WORKERS = 8

ResultT = TypeVar("ResultT")

_pool: list[ThreadPoolExecutor] = []
_pool_lock = threading.Lock()


def _executor() -> ThreadPoolExecutor:
    """The shared worker threads, made on first use: the slash command opens its view first."""
    with _pool_lock:
        if not _pool:
            from concurrent.futures import ThreadPoolExecutor  # noqa: PLC0415 (first use)

            _pool.append(ThreadPoolExecutor(max_workers=WORKERS, thread_name_prefix="deadline"))
        return _pool[0]


class DeadlineExceeded(AppError):
    """The work did not finish before the deadline; it was abandoned, not retried."""


class Deadline(NamedTuple):
    """A moment on the monotonic clock by which the request must be answered.

    A NamedTuple rather than a dataclass: it is defined on the way to `views.open`, and is
    quicker to create (doc/adr/0020-the-first-call-without-slack-sdk.md).
    """

    at: float

    @classmethod
    def after(cls, seconds: float) -> Deadline:
        """The deadline `seconds` from now."""
        return cls(time.monotonic() + seconds)

    @classmethod
    def for_slack_request(cls) -> Deadline:
        """The budget of a request from Slack, counted from its arrival (now)."""
        return cls.after(SLACK_BUDGET_SECONDS)

    def remaining(self) -> float:
        """Seconds left, never negative."""
        return max(0.0, self.at - time.monotonic())

    def expired(self) -> bool:
        """Whether no time is left."""
        return self.remaining() <= 0.0

    def call_timeout(self) -> float:
        """A timeout for one outbound call: what remains, but never zero."""
        return max(MIN_CALL_SECONDS, self.remaining())

    def earlier_by(self, seconds: float) -> Deadline:
        """A deadline `seconds` sooner, keeping that much time for the steps after it."""
        return Deadline(self.at - seconds)


def submit(work: Callable[[], ResultT]) -> Future[ResultT]:
    """Start `work` on the shared worker threads."""
    return _executor().submit(work)


def wait_for(future: Future[ResultT], deadline: Deadline) -> ResultT:
    """The future's result, or DeadlineExceeded once the deadline passes (work keeps running)."""
    try:
        return future.result(timeout=deadline.remaining())
    except TimeoutError as error:
        raise DeadlineExceeded from error


def run_within(deadline: Deadline, work: Callable[[], ResultT]) -> ResultT:
    """Run `work` in a worker thread and stop waiting for it when the deadline passes."""
    return wait_for(submit(work), deadline)
