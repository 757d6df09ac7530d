"""Invoke functions the way the Python worker does, and log each invocation like the host.

Values cross the binding boundary through azure-functions' own converters (the registry the
worker uses): ``HttpRequest`` is decoded from an ``http`` datum, ``HttpResponse`` encoded to one
(which sets ``Content-Type`` from ``mimetype``/``charset``), activity inputs and results pass
through the activity-trigger converter, orchestration contexts through the orchestration one.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import functools
import logging
import threading
import time
import traceback
import uuid
from collections.abc import Callable, Coroutine, Mapping
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from http.cookies import SimpleCookie
from pathlib import Path
from typing import Any

import azure.functions as func
from azure.functions import _abc as functions_abc
from azure.functions import meta

from devhost.functions import LoadedFunction

HTTP_REASON = "This function was programmatically called via the host APIs."
DURABLE_REASON = "(null)"

log = logging.getLogger("devhost")

_HOST_CODE = tuple(
    str(Path(path).resolve().parent)
    for path in (asyncio.__file__, concurrent.futures.__file__, __file__)
)


def user_traceback(exc: BaseException) -> str:
    """Format an exception from a function, leaving out the host's own frames above it."""
    frames = exc.__traceback__
    while frames is not None and frames.tb_frame.f_code.co_filename.startswith(_HOST_CODE):
        frames = frames.tb_next
    return "".join(traceback.format_exception(type(exc), exc, frames or exc.__traceback__))


class _TraceContext(functions_abc.TraceContext):
    @property
    def trace_state(self) -> str:
        return ""

    @property
    def trace_parent(self) -> str:
        return ""

    @property
    def attributes(self) -> dict[str, str]:
        return {}


class _RetryContext(functions_abc.RetryContext):
    @property
    def retry_count(self) -> int:
        return 0

    @property
    def max_retry_count(self) -> int:
        return 0

    @property
    def exception(self) -> Any:
        return None


class InvocationContext(func.Context):
    """The ``context`` argument a function may declare, as the worker provides it."""

    def __init__(self, invocation_id: str, function: LoadedFunction) -> None:
        """Describe one invocation of ``function``."""
        self._invocation_id = invocation_id
        self._function = function
        self._local = threading.local()

    @property
    def invocation_id(self) -> str:
        """The invocation ID (also in the host's log lines)."""
        return self._invocation_id

    @property
    def thread_local_storage(self) -> Any:
        """Thread-local storage for the invocation."""
        return self._local

    @property
    def function_name(self) -> str:
        """The function's name."""
        return self._function.name

    @property
    def function_directory(self) -> str:
        """The function's folder."""
        return str(self._function.spec.directory)

    @property
    def trace_context(self) -> functions_abc.TraceContext:
        """An empty trace context (devhost does no distributed tracing)."""
        return _TraceContext()

    @property
    def retry_context(self) -> functions_abc.RetryContext:
        """An empty retry context (devhost has no function-level retries)."""
        return _RetryContext()


class OutValue(func.Out[Any]):
    """The ``func.Out`` object passed for a named output binding."""

    def __init__(self) -> None:
        """Start unset."""
        self._value: Any = None

    def set(self, val: Any) -> None:
        """Store the output value."""
        self._value = val

    def get(self) -> Any:
        """Return the output value (``None`` when unset)."""
        return self._value


@dataclass(frozen=True)
class HttpReply:
    """An HTTP answer produced from a function's return value."""

    status: int
    headers: list[tuple[str, str]]
    body: bytes


def _converter(binding_type: str) -> Any:
    return meta.get_binding_registry().get(binding_type)


def build_http_request(
    *,
    method: str,
    url: str,
    headers: Mapping[str, str],
    params: Mapping[str, str],
    route_params: Mapping[str, str],
    body: bytes,
) -> func.HttpRequest:
    """Build the ``HttpRequest`` a function receives, through the worker's converter."""

    def strings(values: Mapping[str, str]) -> dict[str, meta.Datum]:
        return {k: meta.Datum(type="string", value=v) for k, v in values.items()}

    datum = meta.Datum(
        type="http",
        value={
            "method": meta.Datum(type="string", value=method),
            "url": meta.Datum(type="string", value=url),
            "headers": strings(headers),
            "query": strings(params),
            "params": strings(route_params),
            "body": meta.Datum(type="bytes", value=body),
        },
    )
    return _converter("httpTrigger").decode(datum, trigger_metadata={})


def encode_http_response(result: Any) -> HttpReply:
    """Turn a function's HTTP output into status, headers and body, as worker and host do.

    ``None`` answers 204 with no body; a string answers 200 as text; an ``HttpResponse`` goes
    through the worker's converter (which sets ``Content-Type`` from ``mimetype`` and
    ``charset``). Anything else raises ``TypeError``.
    """
    if result is None:
        return HttpReply(status=204, headers=[], body=b"")
    try:
        datum = _converter("http").encode(result, expected_type=None)
    except NotImplementedError:
        raise TypeError(
            f"an HTTP function must return HttpResponse, str or None, not {type(result).__name__}"
        ) from None
    if datum.type == "string":
        text_type = [("Content-Type", "text/plain; charset=utf-8")]
        return HttpReply(status=200, headers=text_type, body=datum.value.encode("utf-8"))
    value = datum.value
    headers = [(name, header.value) for name, header in value["headers"].items()]
    cookies: list[SimpleCookie] = value.get("cookies") or []
    for cookie in cookies:
        headers.extend(("Set-Cookie", morsel.OutputString()) for morsel in cookie.values())
    body = value["body"].value or b""
    return HttpReply(status=int(value["status_code"].value), headers=headers, body=bytes(body))


def decode_activity_input(serialized: str | None) -> Any:
    """Decode an activity's input (the JSON its orchestrator scheduled) with the converter."""
    datum = meta.Datum(type="json", value=serialized if serialized is not None else "null")
    return _converter("activityTrigger").decode(datum, trigger_metadata={})


def encode_activity_output(result: Any) -> str:
    """Serialize an activity's return value (the ``TaskCompleted`` result) with the converter."""
    return _converter("activityTrigger").encode(result, expected_type=None).value


def durable_client_value(binding_json: str) -> Any:
    """Decode the ``durableClient`` binding value (the JSON the extension passes)."""
    datum = meta.Datum(type="string", value=binding_json)
    return _converter("durableClient").decode(datum, trigger_metadata={})


def timer_request(timer_json: str) -> Any:
    """Build the ``TimerRequest`` a timer function receives from the host's JSON."""
    datum = meta.Datum(type="json", value=timer_json)
    return _converter("timerTrigger").decode(datum, trigger_metadata={})


def orchestration_context(context_json: str) -> Any:
    """Build the orchestration trigger value from the context JSON, through the converter."""
    datum = meta.Datum(type="string", value=context_json)
    return _converter("orchestrationTrigger").decode(datum, trigger_metadata={})


def orchestrator_state(result: Any) -> Any:
    """Read an orchestrator's return value back through the converter (the state JSON)."""
    return _converter("orchestrationTrigger").encode(result, expected_type=None).value


def _run_coroutine(
    function: Callable[..., Coroutine[Any, Any, Any]], kwargs: dict[str, Any]
) -> Any:
    return asyncio.run(function(**kwargs))


class Invoker:
    """Calls functions: coroutines on the host loop, everything else on a thread pool."""

    def __init__(self, executor: ThreadPoolExecutor) -> None:
        """Use ``executor`` for synchronous functions and activities."""
        self._executor = executor
        self._busy = 0
        self._lock = threading.Lock()

    @property
    def busy(self) -> int:
        """How many calls are running on the thread pool right now."""
        with self._lock:
            return self._busy

    def _tracked(self, call: Callable[[], Any]) -> Any:
        with self._lock:
            self._busy += 1
        try:
            return call()
        finally:
            with self._lock:
                self._busy -= 1

    async def run_in_thread(self, call: Callable[[], Any]) -> Any:
        """Run ``call`` on the thread pool and await its result."""
        loop = asyncio.get_running_loop()
        return await loop.run_in_executor(self._executor, self._tracked, call)

    async def invoke(
        self,
        function: LoadedFunction,
        arguments: dict[str, Any],
        *,
        reason: str,
        coroutine_in_thread: bool = False,
        convert: Callable[[Any], Any] | None = None,
    ) -> Any:
        """Call ``function`` with ``arguments``, logging it like the Functions host.

        ``coroutine_in_thread`` runs a coroutine function on the thread pool, on its own event
        loop (used for activities, so no activity can stall the host's loop). Exceptions from
        the function propagate after the ``Executed ... (Failed ...)`` line is logged.
        ``convert`` turns the return value into its binding form; a conversion error fails
        the invocation, as in the worker.
        """
        invocation_id = str(uuid.uuid4())
        kwargs = dict(arguments)
        if function.wants_context:
            kwargs["context"] = InvocationContext(invocation_id, function)
        name = function.name
        log.info("Executing 'Functions.%s' (Reason='%s', Id=%s)", name, reason, invocation_id)
        started = time.perf_counter()
        outcome = "Failed"
        try:
            if not function.is_async:
                result = await self.run_in_thread(functools.partial(function.func, **kwargs))
            elif coroutine_in_thread:
                result = await self.run_in_thread(
                    functools.partial(_run_coroutine, function.func, kwargs)
                )
            else:
                result = await function.func(**kwargs)
            if convert is not None:
                result = convert(result)
            outcome = "Succeeded"
            return result
        finally:
            duration = round((time.perf_counter() - started) * 1000)
            log.info(
                "Executed 'Functions.%s' (%s, Id=%s, Duration=%dms)",
                name,
                outcome,
                invocation_id,
                duration,
            )
