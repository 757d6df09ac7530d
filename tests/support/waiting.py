"""Waiting in tests on a condition, never for a fixed time: poll it, with a deadline."""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import TypeVar

DEADLINE_SECONDS = 30.0
POLL_SECONDS = 0.02
T = TypeVar("T")


def wait_until(
    condition: Callable[[], T | None], what: str, timeout: float = DEADLINE_SECONDS
) -> T:
    """Poll ``condition`` until it returns something truthy, and return that.

    Fails (``AssertionError`` naming ``what``) once ``timeout`` seconds have passed.
    """
    deadline = time.monotonic() + timeout
    while True:
        value = condition()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout:g} s waiting for {what}")
        time.sleep(POLL_SECONDS)
