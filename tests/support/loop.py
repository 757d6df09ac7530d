"""One long-lived asyncio event loop, on a background thread, for every async call in tests.

The durable client keeps a module-level aiohttp session (and lock) bound to the loop that first
used it, so all tests must share one loop: use ``run(coro)``, never ``asyncio.run``.
"""

from __future__ import annotations

import asyncio
import atexit
import threading
from collections.abc import Coroutine
from typing import Any, TypeVar

T = TypeVar("T")

LOOP_THREAD_NAME = "tests-event-loop"

_lock = threading.Lock()
_loop: asyncio.AbstractEventLoop | None = None
_thread: threading.Thread | None = None


def get_loop() -> asyncio.AbstractEventLoop:
    """The shared loop, started on first use."""
    global _loop, _thread  # noqa: PLW0603 - one loop per process, by design
    with _lock:
        if _loop is None:
            loop = asyncio.new_event_loop()
            ready = threading.Event()

            def serve() -> None:
                asyncio.set_event_loop(loop)
                loop.call_soon(ready.set)
                loop.run_forever()

            _thread = threading.Thread(target=serve, name=LOOP_THREAD_NAME, daemon=True)
            _thread.start()
            ready.wait()
            _loop = loop
            atexit.register(_shutdown)
        return _loop


def run(coro: Coroutine[Any, Any, T], timeout: float = 10.0) -> T:
    """Run ``coro`` on the shared loop and return its result (cancelled after ``timeout``)."""
    future = asyncio.run_coroutine_threadsafe(coro, get_loop())
    try:
        return future.result(timeout)
    except TimeoutError:
        future.cancel()
        raise


async def _close_durable_session() -> None:
    from azure.durable_functions.models.utils import http_utils

    await http_utils._close_session()


def _shutdown() -> None:
    global _loop, _thread  # noqa: PLW0603
    loop, thread = _loop, _thread
    if loop is None or thread is None:
        return
    asyncio.run_coroutine_threadsafe(_close_durable_session(), loop).result(5)
    loop.call_soon_threadsafe(loop.stop)
    thread.join(5)
    loop.close()
    _loop = _thread = None
