"""devhost's durable HTTP API inside the test or benchmark process, with its task hub held still.

``DurableApi`` serves devhost's own management API (``devhost.management``: the handlers and
answers ``python -m devhost`` serves) over devhost's SQLite store, on 127.0.0.1 from a
background event loop. ``client_binding_json()`` is the ``durableClient`` binding pointing at
it, so the SDK's ``DurableOrchestrationClient`` talks to it unchanged.

No orchestrator runs (``HeldOrchestrations``): a start stores the instance ``Pending`` with its
``ExecutionStarted``, a raised event is queued for it, as in a task hub whose worker has not yet
picked them up; the caller moves an instance along with ``set_status``. Starts over a running
instance are refused as the extension refuses them under ``NonRunningStates`` (409, or with
``refusal = "legacy"`` the 500 error body older extension versions sent).

As slow or failing storage would, one route (``start``, ``status``, ``list``, ``purge``,
``raise_event``, ``terminate``), for every instance or one, can be made to wait before it is
handled (``delay``) or to answer a given status without being handled (``force``); ``hide``
makes status reads of an existing instance answer 404, as when two submissions race. Every
request is recorded (``requests()``, in the arrival order shared with the other stand-ins), and
starts and raised events are kept with their answers (``starts``, ``events``).
"""

from __future__ import annotations

import asyncio
import json
import socket
import tempfile
import threading
import time
import traceback
from collections.abc import Awaitable, Callable, Iterable
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any, Literal, Self, TypeVar

from aiohttp import web

from devhost.config import NON_RUNNING_STATES
from devhost.engine import (
    EXTENSION_STATUSES,
    PENDING,
    RUNNING_STATUSES,
    TERMINATED,
    InstanceExistsError,
    UnknownOrchestratorError,
    event_raised,
    execution_started,
    format_timestamp,
    start_refusal,
    utc_now,
)
from devhost.lifecycle import StartStop
from devhost.management import ROUTES, DurableUrls, ManagementApi, Route, api_route
from devhost.standins.recording import RecordedRequest, next_seq
from devhost.store import InstanceRecord, Store

# The body the extension's HTTP API sends with an unhandled error.
EXTENSION_ERROR_BODY = {
    "Message": "Something went wrong while processing your request",
    "ExceptionMessage": "The task hub's storage did not answer.",
}
_CALL_SECONDS = 10.0
ResultT = TypeVar("ResultT")
Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]


@dataclass(frozen=True)
class DurableStart:
    """One start request that was handled: accepted, or refused over a running instance.

    The Python client sends the input already serialized, so the body is a JSON string
    holding JSON: ``raw_body`` is the body, ``input_json`` the body decoded once (that
    string), ``input`` the input decoded fully.
    """

    seq: int
    name: str
    instance_id: str
    raw_body: bytes
    input_json: Any
    input: Any
    accepted: bool
    headers: dict[str, str] = field(repr=False)


@dataclass(frozen=True)
class RaisedEvent:
    """One raiseEvent request: the instance, the event name, its decoded data and the answer."""

    instance_id: str
    name: str
    data: Any
    status: int


@dataclass(frozen=True)
class _Knob:
    delay: float = 0.0
    status: int | None = None
    body: Any = None


def _decode(value: Any) -> Any:
    """A JSON string decoded once more (the client's double encoding); other values as they are."""
    if not isinstance(value, str):
        return value
    try:
        return json.loads(value)
    except ValueError:
        return value


def _json_or_text(body: bytes) -> Any:
    if not body:
        return None
    try:
        return json.loads(body)
    except ValueError:
        return body.decode("utf-8", errors="replace")


class HeldOrchestrations:
    """A task hub whose orchestrations never run, for ``ManagementApi``.

    Starts, events and terminations are stored as the engine stores them; nothing executes.
    """

    def __init__(self, store: Store, orchestrators: Iterable[str], overridable_states: str) -> None:
        """Hold the instances in ``store``; ``orchestrators`` are the names a start accepts."""
        self._store = store
        self._orchestrators = frozenset(orchestrators)
        self._overridable_states = overridable_states

    def start_instance(self, name: str, instance_id: str, raw_input: str | None) -> InstanceRecord:
        """Store a new ``Pending`` instance with its ``ExecutionStarted`` queued."""
        if name not in self._orchestrators:
            raise UnknownOrchestratorError.named(name)
        refusal = start_refusal(self._store.get_instance(instance_id), self._overridable_states)
        if refusal:
            raise InstanceExistsError(refusal)
        now = format_timestamp(utc_now())
        record = InstanceRecord.new_execution(instance_id, name, PENDING, now, input=raw_input)
        self._store.create_instance(record, execution_started(record))
        return record

    def raise_event(self, instance_id: str, event_name: str, input_json: str | None) -> bool:
        """Queue the event for a running instance; ``False`` for any other."""
        record = self._store.get_instance(instance_id)
        if record is None or record.runtime_status not in RUNNING_STATUSES:
            return False
        event = event_raised(event_name, input_json)
        self._store.add_to_inbox(instance_id, record.execution_id, event)
        return True

    def terminate(self, instance_id: str, reason: str | None) -> bool:
        """Make a running instance ``Terminated`` at once, its output the reason."""
        record = self._store.get_instance(instance_id)
        if record is None or record.runtime_status not in RUNNING_STATUSES:
            return False
        self._store.put_instance(
            record.evolve(
                runtime_status=TERMINATED,
                output=json.dumps(reason) if reason is not None else None,
                last_updated_time=format_timestamp(utc_now()),
            )
        )
        return True


class DurableApi(StartStop):
    """devhost's durable HTTP API on 127.0.0.1, over a store of its own, held still."""

    def __init__(
        self,
        orchestrators: Iterable[str],
        *,
        overridable_states: str = NON_RUNNING_STATES,
        hub_name: str = "TestHubName",
        system_key: str | None = None,
    ) -> None:
        """Prepare the API; ``start()`` (or ``with``) serves it.

        ``orchestrators`` are the orchestrator names a start accepts (the first is the name
        ``set_status`` gives a new instance); ``system_key`` goes into the binding's URLs as
        Azure's extension puts its system key there.
        """
        self.name = "durable"
        self.orchestrators = tuple(orchestrators)
        if not self.orchestrators:
            raise ValueError("name at least one orchestrator")
        self.overridable_states = overridable_states
        self.hub_name = hub_name
        self.system_key = system_key
        self.refusal: Literal["conflict", "legacy"] = "conflict"
        self.errors: list[str] = []
        self._cond = threading.Condition()
        self._records: list[RecordedRequest] = []
        self._starts: list[DurableStart] = []
        self._events: list[RaisedEvent] = []
        self._knobs: dict[tuple[str, str | None], _Knob] = {}
        self._loop: asyncio.AbstractEventLoop | None = None
        self._thread: threading.Thread | None = None
        self._stopping: asyncio.Event | None = None
        self._runner: web.AppRunner | None = None
        self._store: Store | None = None
        self._state_dir: tempfile.TemporaryDirectory[str] | None = None
        self._port = 0

    # ----------------------------------------------------------------- serving

    def start(self) -> Self:
        """Open a fresh store and serve on a free port of 127.0.0.1."""
        if self._loop is not None:
            return self
        self._state_dir = tempfile.TemporaryDirectory(prefix="durable-api-")
        loop = asyncio.new_event_loop()
        self._loop = loop
        self._thread = threading.Thread(
            target=loop.run_forever, name=f"{self.name}-loop", daemon=True
        )
        self._thread.start()
        try:
            self._port = self._call(self._serve(Path(self._state_dir.name)))
        except BaseException:
            self.stop()
            raise
        return self

    async def _serve(self, state_dir: Path) -> int:
        # Bound first, so the URLs the API answers with name its port.
        listener = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        listener.bind(("127.0.0.1", 0))
        port = int(listener.getsockname()[1])
        self._stopping = asyncio.Event()
        self._store = Store(state_dir)
        held = HeldOrchestrations(self._store, self.orchestrators, self.overridable_states)
        app = web.Application(middlewares=[self._middleware])
        urls = DurableUrls(f"http://127.0.0.1:{port}", self.hub_name, self.system_key)
        ManagementApi(held, self._store, urls).register(app)
        self._runner = web.AppRunner(app, access_log=None, shutdown_timeout=1.0)
        await self._runner.setup()
        await web.SockSite(self._runner, listener).start()
        return port

    def stop(self) -> None:
        """Stop serving: release delayed answers, close connections, drop the store."""
        loop = self._loop
        if loop is None:
            return
        if loop.is_running():
            try:
                self._call(self._shutdown())
            finally:
                loop.call_soon_threadsafe(loop.stop)
                if self._thread is not None:
                    self._thread.join(_CALL_SECONDS)
        loop.close()
        self._loop = None
        self._thread = None
        if self._state_dir is not None:
            self._state_dir.cleanup()
            self._state_dir = None

    async def _shutdown(self) -> None:
        if self._stopping is not None:
            self._stopping.set()
        if self._runner is not None:
            await self._runner.cleanup()
            self._runner = None
        if self._store is not None:
            self._store.close()
            self._store = None

    def _call(self, work: Awaitable[ResultT]) -> ResultT:
        """Run ``work`` on the server's loop (where the store lives) and return its result."""
        if self._loop is None:
            raise RuntimeError(f"{self.name} is not started")

        async def run() -> ResultT:
            return await work

        return asyncio.run_coroutine_threadsafe(run(), self._loop).result(_CALL_SECONDS)

    def _on_store(self, work: Callable[[Store], ResultT]) -> ResultT:
        async def run() -> ResultT:
            if self._store is None:
                raise RuntimeError(f"{self.name} is not started")
            return work(self._store)

        return self._call(run())

    @property
    def port(self) -> int:
        """The port the API listens on."""
        if self._loop is None:
            raise RuntimeError(f"{self.name} is not started")
        return self._port

    @property
    def origin(self) -> str:
        """``http://127.0.0.1:<port>``."""
        return f"http://127.0.0.1:{self.port}"

    def client_binding_json(self) -> str:
        """The ``durableClient`` binding value the extension would pass, pointing here."""
        return DurableUrls(self.origin, self.hub_name, self.system_key).client_binding()

    # ----------------------------------------------------------------- instances

    def set_status(
        self,
        instance_id: str,
        runtime_status: str,
        *,
        name: str | None = None,
        input: Any = None,
        output: Any = None,
        custom_status: Any = None,
        visible: bool = True,
        created: datetime | None = None,
    ) -> None:
        """Create or update an instance as a worker's progress would leave it.

        ``input``, ``output`` and ``custom_status`` are the values the status shows (stored as
        their JSON); ``input`` and ``name`` default to the existing instance's, ``name`` else
        to the first orchestrator's; ``created`` backdates the instance. ``visible=False``
        hides the instance from status reads (see ``hide``).
        """
        if runtime_status not in EXTENSION_STATUSES:
            raise ValueError(f"unknown runtime status {runtime_status!r}")

        def write(store: Store) -> None:
            now = format_timestamp(utc_now())
            existing = store.get_instance(instance_id)
            base = existing or InstanceRecord.new_execution(
                instance_id, name or self.orchestrators[0], runtime_status, now, input=None
            )
            store.put_instance(
                base.evolve(
                    name=name or base.name,
                    runtime_status=runtime_status,
                    input=json.dumps(input) if input is not None else base.input,
                    output=json.dumps(output) if output is not None else None,
                    custom_status=json.dumps(custom_status) if custom_status is not None else None,
                    created_time=format_timestamp(created) if created else base.created_time,
                    last_updated_time=now,
                )
            )

        self._on_store(write)
        if visible:
            self.forget(instance_id)
        else:
            self.hide(instance_id)

    def status(self, instance_id: str) -> str | None:
        """The runtime status stored for ``instance_id`` (hidden or not), if any."""
        record = self._on_store(lambda store: store.get_instance(instance_id))
        return record.runtime_status if record else None

    # ----------------------------------------------------------------- knobs

    def delay(self, route: Route, seconds: float, *, instance_id: str | None = None) -> None:
        """Make requests on ``route`` wait ``seconds`` before they are handled, as slow storage.

        With ``instance_id``, only requests naming that instance. ``seconds=0`` removes it.
        """
        self._set_knob(route, instance_id, _Knob(delay=seconds) if seconds else None)

    def force(
        self,
        route: Route,
        status: int,
        *,
        body: Any = None,
        delay: float = 0.0,
        instance_id: str | None = None,
    ) -> None:
        """Answer requests on ``route`` with ``status`` (after ``delay``) without handling them.

        ``body`` is the JSON answered; without one a 5xx answer carries the extension's error
        body and any other none. With ``instance_id``, only requests naming that instance.
        """
        if body is None and status >= 500:
            body = EXTENSION_ERROR_BODY
        self._set_knob(route, instance_id, _Knob(delay=delay, status=status, body=body))

    def hide(self, instance_id: str) -> None:
        """Answer status reads of ``instance_id`` with 404 although it exists.

        Two submissions racing: each reads the status before the other's start is stored,
        so the start that follows is refused.
        """
        self.force("status", 404, instance_id=instance_id)

    def forget(self, instance_id: str) -> None:
        """Drop every delay and forced answer set for ``instance_id``."""
        with self._cond:
            for key in [k for k in self._knobs if k[1] == instance_id]:
                del self._knobs[key]

    def _set_knob(self, route: str, instance_id: str | None, knob: _Knob | None) -> None:
        if route not in ROUTES:
            raise ValueError(f"unknown route {route!r}; one of {sorted(ROUTES)}")
        with self._cond:
            if knob is None:
                self._knobs.pop((route, instance_id), None)
            else:
                self._knobs[route, instance_id] = knob

    def _knob(self, route: str, instance_id: str | None) -> _Knob | None:
        with self._cond:
            if instance_id is not None and (route, instance_id) in self._knobs:
                return self._knobs[route, instance_id]
            return self._knobs.get((route, None))

    # ----------------------------------------------------------------- what was received

    def requests(self) -> list[RecordedRequest]:
        """Every request received, in arrival order."""
        with self._cond:
            return list(self._records)

    @property
    def starts(self) -> list[DurableStart]:
        """Every start handled (accepted or refused), in arrival order."""
        with self._cond:
            return list(self._starts)

    @property
    def events(self) -> list[RaisedEvent]:
        """Every raiseEvent request, in arrival order, with the status answered."""
        with self._cond:
            return list(self._events)

    def accepted_starts(self) -> list[DurableStart]:
        """The starts that created or replaced an instance."""
        return [s for s in self.starts if s.accepted]

    def wait_for_starts(self, n: int, timeout: float = 5.0) -> list[DurableStart]:
        """Wait until at least ``n`` starts have been handled; return them all."""
        with self._cond:
            if not self._cond.wait_for(lambda: len(self._starts) >= n, timeout):
                seen = [f"#{r.seq} {r.method} {r.path}" for r in self._records]
                raise AssertionError(
                    f"{self.name}: timed out after {timeout}s waiting for {n} start(s); got {seen}"
                )
            return list(self._starts)

    def clear(self) -> None:
        """Forget every instance, request, start and event, and the per-instance knobs."""

        def purge_all(store: Store) -> None:
            for record in store.list_instances():
                store.purge(record.instance_id)

        self._on_store(purge_all)
        with self._cond:
            self._records.clear()
            self._starts.clear()
            self._events.clear()
            for key in [k for k in self._knobs if k[1] is not None]:
                del self._knobs[key]

    # ----------------------------------------------------------------- middleware

    @web.middleware
    async def _middleware(self, request: web.Request, handler: Handler) -> web.StreamResponse:
        body = await request.read()
        recorded = RecordedRequest(
            seq=next_seq(),
            server=self.name,
            method=request.method,
            path=request.rel_url.raw_path,
            query={key: request.query.getone(key) for key in request.query},
            headers=dict(request.headers),
            body=body,
            received_at=time.monotonic(),
            json=_json_or_text(body) if "json" in request.content_type else None,
            raw_query=request.rel_url.raw_query_string,
        )
        with self._cond:
            self._records.append(recorded)
            self._cond.notify_all()
        try:
            response = await self._answer(request, handler, recorded)
        except web.HTTPException:
            raise
        except Exception:
            self.errors.append(traceback.format_exc())
            raise
        recorded.response_status = response.status
        return response

    async def _answer(
        self, request: web.Request, handler: Handler, recorded: RecordedRequest
    ) -> web.StreamResponse:
        found = api_route(request.method, request.path)
        route, instance_id = found or (None, None)
        knob = self._knob(route, instance_id) if route else None
        if knob is not None and knob.delay and not await self._paused(knob.delay):
            return web.Response(status=503)
        if knob is not None and knob.status is not None:
            forced = (
                web.json_response(knob.body, status=knob.status)
                if knob.body is not None
                else web.Response(status=knob.status)
            )
            if route == "raise_event":
                self._record_event(request, recorded, forced.status)
            return forced
        response = await handler(request)
        if route == "start":
            response = self._record_start(request, recorded, response)
        elif route == "raise_event":
            self._record_event(request, recorded, response.status)
        return response

    async def _paused(self, seconds: float) -> bool:
        """Wait ``seconds``; ``False`` if the server stopped meanwhile."""
        if self._stopping is None:
            return False
        try:
            await asyncio.wait_for(self._stopping.wait(), seconds)
        except TimeoutError:
            return True
        return False

    def _record_start(
        self, request: web.Request, recorded: RecordedRequest, response: web.StreamResponse
    ) -> web.StreamResponse:
        if response.status not in (202, 409) or not isinstance(response, web.Response):
            return response
        accepted = response.status == 202
        instance_id = request.match_info.get("instanceId")
        if instance_id is None:
            instance_id = str(json.loads(response.text or "{}")["id"])
        input_json = json.loads(recorded.body) if recorded.body.strip() else None
        start = DurableStart(
            seq=recorded.seq,
            name=request.match_info["functionName"],
            instance_id=instance_id,
            raw_body=recorded.body,
            input_json=input_json,
            input=_decode(input_json),
            accepted=accepted,
            headers=dict(recorded.headers),
        )
        with self._cond:
            self._starts.append(start)
            self._cond.notify_all()
        if accepted or self.refusal != "legacy":
            return response
        message = json.loads(response.text or "{}")["Message"]
        return web.json_response(
            {
                "Message": "Something went wrong while processing your request",
                "ExceptionMessage": message,
                "ExceptionType": "System.InvalidOperationException",
                "StackTrace": "",
            },
            status=500,
        )

    def _record_event(self, request: web.Request, recorded: RecordedRequest, status: int) -> None:
        event = RaisedEvent(
            instance_id=request.match_info["instanceId"],
            name=request.match_info["eventName"],
            data=_decode(_json_or_text(recorded.body)),
            status=status,
        )
        with self._cond:
            self._events.append(event)
            self._cond.notify_all()
