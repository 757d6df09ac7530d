"""A TCP server on 127.0.0.1 that accepts connections and never answers them.

It stands in for storage that has stalled: connecting succeeds, so only a read timeout (or
abandoning the request) ends the wait.
"""

from __future__ import annotations

import socket
import threading
from typing import Self

from devhost.azurite import connection_string
from devhost.lifecycle import StartStop


class StalledServer(StartStop):
    """Counts the connections it accepts; holds each one open until it stops."""

    def __init__(self) -> None:
        """Bind a port the OS picks; ``start()`` (or ``with``) begins accepting."""
        self._listener = socket.create_server(("127.0.0.1", 0))
        self._listener.settimeout(0.1)
        self.port: int = self._listener.getsockname()[1]
        self._stopping = threading.Event()
        self._held: list[socket.socket] = []
        self._lock = threading.Lock()
        self._thread = threading.Thread(target=self._accept, name="stalled", daemon=True)

    @property
    def connections(self) -> int:
        """How many connections were accepted so far."""
        with self._lock:
            return len(self._held)

    @property
    def blob_connection_string(self) -> str:
        """A storage connection string whose blob endpoint is this server."""
        return connection_string(f"http://127.0.0.1:{self.port}/devstoreaccount1")

    @property
    def origin(self) -> str:
        """``http://127.0.0.1:PORT``."""
        return f"http://127.0.0.1:{self.port}"

    def start(self) -> Self:
        """Begin accepting connections in the background."""
        self._thread.start()
        return self

    def stop(self) -> None:
        """Stop accepting and close every held connection."""
        self._stopping.set()
        self._thread.join(timeout=5)
        with self._lock:
            for held in self._held:
                held.close()
        self._listener.close()

    def _accept(self) -> None:
        while not self._stopping.is_set():
            try:
                conn, _ = self._listener.accept()
            except TimeoutError:
                continue
            except OSError:
                return
            with self._lock:
                self._held.append(conn)
