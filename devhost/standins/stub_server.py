"""A small threaded HTTP/1.1 server that records requests and answers with scripted replies.

The Slack and cache-flush stand-ins and the tests' blob proxy build on ``StubServer``: it binds
127.0.0.1 on a port the OS picks, serves from background threads, keeps connections alive the
way ``requests``/urllib3/aiohttp expect (always a ``Content-Length``), and stops cleanly even
while a reply is being delayed or a client holds a keep-alive connection open.
"""

from __future__ import annotations

import contextlib
import json
import socket
import socketserver
import sys
import threading
import time
import traceback
from collections import deque
from collections.abc import Callable, Hashable, Mapping
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any, Generic, Self, TypeVar
from urllib.parse import parse_qsl, urlsplit

from devhost.lifecycle import StartStop
from devhost.standins.recording import RecordedRequest, next_seq

NO_BODY_STATUSES = frozenset({204, 304})
HOP_BY_HOP_HEADERS = frozenset(
    {
        "connection",
        "keep-alive",
        "proxy-authenticate",
        "proxy-authorization",
        "te",
        "trailer",
        "trailers",
        "transfer-encoding",
        "upgrade",
    }
)
ScriptedT = TypeVar("ScriptedT")


@dataclass(frozen=True)
class Reply:
    """A scripted answer.

    ``json`` (any JSON value but ``None``) or raw ``body`` bytes; ``headers`` are sent as given
    (``Content-Length`` is always computed). ``delay`` seconds are waited before answering
    (released early when the server stops); ``drop`` closes the connection without an answer.
    """

    status: int = 200
    json: Any = None
    body: bytes | None = None
    headers: Mapping[str, str] = field(default_factory=dict)
    delay: float = 0.0
    drop: bool = False

    def encoded(self) -> tuple[bytes, dict[str, str]]:
        """Return the body bytes and the headers to send with them."""
        headers = dict(self.headers)
        if self.body is not None:
            return self.body, headers
        if self.json is not None:
            if not any(k.lower() == "content-type" for k in headers):
                headers["Content-Type"] = "application/json; charset=utf-8"
            return json.dumps(self.json).encode("utf-8"), headers
        return b"", headers


class ReplyScript(Generic[ScriptedT]):
    """Thread-safe scripted replies per key: one-shot replies first (FIFO), then a standing one."""

    def __init__(self) -> None:
        """Start with nothing scripted."""
        self._lock = threading.Lock()
        self._once: dict[Hashable, deque[ScriptedT]] = {}
        self._standing: dict[Hashable, ScriptedT] = {}

    def push(self, key: Hashable, *replies: ScriptedT) -> None:
        """Queue one-shot ``replies`` for ``key``, used in order, once each."""
        with self._lock:
            self._once.setdefault(key, deque()).extend(replies)

    def set_standing(self, key: Hashable, reply: ScriptedT | None) -> None:
        """Answer every request for ``key`` with ``reply`` once the one-shots are used up."""
        with self._lock:
            if reply is None:
                self._standing.pop(key, None)
            else:
                self._standing[key] = reply

    def take(self, key: Hashable) -> ScriptedT | None:
        """Return the next scripted reply for ``key``, or ``None`` when nothing is scripted."""
        with self._lock:
            queue = self._once.get(key)
            if queue:
                return queue.popleft()
            return self._standing.get(key)

    def clear(self) -> None:
        """Forget everything scripted."""
        with self._lock:
            self._once.clear()
            self._standing.clear()


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server: _Server

    def log_message(self, format: str, *args: Any) -> None:
        """Keep the test output quiet; requests are recorded instead."""

    def _read_body(self) -> bytes:
        if "chunked" in (self.headers.get("Transfer-Encoding") or "").lower():
            chunks: list[bytes] = []
            while True:
                size_line = self.rfile.readline(65537)
                size = int(size_line.split(b";", 1)[0].strip() or b"0", 16)
                if size == 0:
                    while self.rfile.readline(65537) not in (b"\r\n", b"\n", b""):
                        pass
                    return b"".join(chunks)
                chunks.append(self.rfile.read(size))
                self.rfile.readline(65537)
        length = int(self.headers.get("Content-Length") or 0)
        return self.rfile.read(length) if length else b""

    def _record(self) -> RecordedRequest:
        body = self._read_body()
        parts = urlsplit(self.path)
        query: dict[str, str] = {}
        for key, value in parse_qsl(parts.query, keep_blank_values=True):
            query.setdefault(key, value)
        content_type = (self.headers.get("Content-Type") or "").lower()
        parsed_json: Any = None
        form: dict[str, str] | None = None
        if body and "json" in content_type:
            with contextlib.suppress(ValueError):
                parsed_json = json.loads(body)
        elif body and "application/x-www-form-urlencoded" in content_type:
            with contextlib.suppress(ValueError):
                form = dict(
                    parse_qsl(body.decode("utf-8"), keep_blank_values=True, strict_parsing=True)
                )
        return RecordedRequest(
            seq=next_seq(),
            server=self.server.owner.name,
            method=self.command,
            path=parts.path,
            query=query,
            headers=dict(self.headers.items()),
            body=body,
            received_at=time.monotonic(),
            json=parsed_json,
            form=form,
            raw_query=parts.query,
        )

    def _serve(self) -> None:
        owner = self.server.owner
        request = self._record()
        owner._store(request)
        reply = owner._answer(request)
        if reply.delay > 0:
            owner.stopping.wait(reply.delay)
        if reply.drop or owner.stopping.is_set():
            self.close_connection = True
            return
        body, headers = reply.encoded()
        request.response_status = reply.status
        self.send_response(reply.status)
        no_body = self.command == "HEAD" or reply.status in NO_BODY_STATUSES
        declared_length = None
        for name, value in headers.items():
            if name.lower() in HOP_BY_HOP_HEADERS:
                continue
            if name.lower() == "content-length":
                declared_length = value
                continue
            self.send_header(name, value)
        if self.command == "HEAD":
            self.send_header("Content-Length", declared_length or str(len(body)))
        elif reply.status not in NO_BODY_STATUSES:
            self.send_header("Content-Length", str(len(body)))
        if self.close_connection:
            self.send_header("Connection", "close")
        self.end_headers()
        if not no_body:
            self.wfile.write(body)
        self.wfile.flush()

    do_GET = do_POST = do_PUT = do_DELETE = do_HEAD = do_PATCH = do_OPTIONS = _serve


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    block_on_close = False

    def __init__(self, owner: StubServer) -> None:
        self.owner = owner
        super().__init__(("127.0.0.1", 0), _Handler)

    def server_bind(self) -> None:
        socketserver.TCPServer.server_bind(self)
        self.server_name = "127.0.0.1"
        self.server_port = self.server_address[1]

    def process_request(self, request: Any, client_address: Any) -> None:
        thread = threading.Thread(
            target=self.process_request_thread,
            args=(request, client_address),
            name=f"{self.owner.name}-conn",
            daemon=True,
        )
        with self.owner._conn_lock:
            self.owner._connections.add(request)
            self.owner._threads.append(thread)
        thread.start()

    def shutdown_request(self, request: Any) -> None:
        with self.owner._conn_lock:
            self.owner._connections.discard(request)
        super().shutdown_request(request)

    def handle_error(self, request: Any, client_address: Any) -> None:
        """Ignore connection errors (clients giving up, or stop()); record anything else."""
        if not isinstance(sys.exc_info()[1], OSError):
            self.owner.errors.append(traceback.format_exc())


class StubServer(StartStop):
    """Base of every stand-in: subclasses implement ``handle`` to choose the ``Reply``."""

    def __init__(self, name: str) -> None:
        """Prepare a server called ``name`` (used in recordings); ``start()`` binds it."""
        self.name = name
        self.stopping = threading.Event()
        self.errors: list[str] = []
        self._records: list[RecordedRequest] = []
        self._cond = threading.Condition()
        self._conn_lock = threading.Lock()
        self._connections: set[Any] = set()
        self._threads: list[threading.Thread] = []
        self._server: _Server | None = None
        self._serve_thread: threading.Thread | None = None

    def handle(self, request: RecordedRequest) -> Reply:
        """Choose the answer to ``request`` (called on the connection's thread)."""
        raise NotImplementedError

    def start(self) -> Self:
        """Bind 127.0.0.1 on a free port and serve in a background thread."""
        if self._server is not None:
            return self
        self.stopping.clear()
        self._server = _Server(self)
        self._serve_thread = threading.Thread(
            target=self._accept_until_stopped,
            args=(self._server,),
            name=f"{self.name}-serve",
            daemon=True,
        )
        self._serve_thread.start()
        return self

    def _accept_until_stopped(self, server: _Server) -> None:
        # Blocks in accept until a client connects; stop() wakes it with a connection of its own.
        while not self.stopping.is_set():
            server.handle_request()

    def stop(self, timeout: float = 5.0) -> None:
        """Stop serving: release delayed replies, close every connection, join the threads."""
        server = self._server
        if server is None:
            return
        deadline = time.monotonic() + timeout
        self.stopping.set()
        host, port = str(server.server_address[0]), int(server.server_address[1])
        with contextlib.suppress(OSError), socket.create_connection((host, port), 1):
            pass
        if self._serve_thread is not None:
            self._serve_thread.join(timeout)
        with self._conn_lock:
            connections = list(self._connections)
            threads = list(self._threads)
        for conn in connections:
            with contextlib.suppress(OSError):
                conn.shutdown(socket.SHUT_RDWR)
        server.server_close()
        for thread in threads:
            thread.join(max(0.0, deadline - time.monotonic()))
        self._server = None

    @property
    def port(self) -> int:
        """The port the server listens on."""
        if self._server is None:
            raise RuntimeError(f"{self.name} is not started")
        return self._server.server_address[1]

    @property
    def origin(self) -> str:
        """``http://127.0.0.1:<port>``."""
        return f"http://127.0.0.1:{self.port}"

    def requests(self) -> list[RecordedRequest]:
        """Everything received so far, in arrival order."""
        with self._cond:
            return list(self._records)

    def clear(self) -> None:
        """Forget the recorded requests."""
        with self._cond:
            self._records.clear()

    def wait_until(self, check: Callable[[], bool], timeout: float, what: str) -> None:
        """Wait until ``check()`` holds (re-checked whenever this server records something).

        ``check`` runs with the server's condition held. Fails with a list of what arrived.
        """
        with self._cond:
            if self._cond.wait_for(check, timeout):
                return
            seen = [f"#{r.seq} {r.method} {r.path}" for r in self._records]
        raise AssertionError(
            f"{self.name}: timed out after {timeout}s waiting for {what}; got {seen}"
        )

    def wait_for(
        self,
        predicate: Callable[[list[RecordedRequest]], bool],
        timeout: float = 5.0,
        what: str = "a matching request",
    ) -> list[RecordedRequest]:
        """Wait until ``predicate(requests)`` holds and return the requests."""
        self.wait_until(lambda: predicate(list(self._records)), timeout, what)
        return self.requests()

    def wait_for_requests(self, n: int, timeout: float = 5.0) -> list[RecordedRequest]:
        """Wait until at least ``n`` requests have arrived and return them all."""
        return self.wait_for(lambda recs: len(recs) >= n, timeout, f"{n} request(s)")

    def _store(self, request: RecordedRequest) -> None:
        with self._cond:
            self._records.append(request)
            self._cond.notify_all()

    def _answer(self, request: RecordedRequest) -> Reply:
        try:
            return self.handle(request)
        except Exception:
            self.errors.append(traceback.format_exc())
            return Reply(status=500, json={"stub_error": f"{self.name} failed to answer"})


class ScriptedStubServer(StubServer):
    """A stand-in whose next answers a test can script, instead of its usual ones.

    ``reply`` queues one-shot replies (in order, once each); ``always`` sets a standing reply
    for every later request. ``handle`` asks ``scripted()`` first.
    """

    def __init__(self, name: str) -> None:
        """Prepare a server called ``name`` with nothing scripted; ``start()`` binds it."""
        super().__init__(name)
        self._script: ReplyScript[Reply] = ReplyScript()

    def reply(self, *replies: Reply) -> None:
        """Queue one-shot ``replies`` for the next requests (in order, once each)."""
        self._script.push(self.name, *replies)

    def always(self, reply: Reply | None) -> None:
        """Answer every later request with ``reply`` (``None`` restores the usual answers)."""
        self._script.set_standing(self.name, reply)

    def scripted(self) -> Reply | None:
        """The scripted reply for the request at hand, if any."""
        return self._script.take(self.name)

    def clear(self) -> None:
        """Forget recorded requests and scripted replies."""
        self._script.clear()
        super().clear()
