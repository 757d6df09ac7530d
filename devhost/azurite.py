"""Azurite, the local Azure Storage emulator, as a child process (blob service only).

Used by `make run` and by the tests: in-memory storage, telemetry off, on 127.0.0.1 and a
port the OS picks (read back from Azurite's startup line), stopped with its parent.
"""

from __future__ import annotations

import atexit
import contextlib
import http.client
import re
import subprocess
import tempfile
import threading
import time
from pathlib import Path
from typing import Self

from azure.core.exceptions import ResourceExistsError
from azure.storage.blob import BlobServiceClient

from devhost.lifecycle import StartStop

REPO_ROOT = Path(__file__).resolve().parents[1]
AZURITE_BIN = REPO_ROOT / "node_modules" / ".bin" / "azurite-blob"
ACCOUNT_NAME = "devstoreaccount1"
# Azurite's published development-storage key (the same for every installation).
ACCOUNT_KEY = (
    "Eby8vdM02xNOcqFlqUwJPLlmEtlCDXJ1OUzFT50uSRZ6IFsuFq2UVErCz4I6tq/K1SZFPTOtr/KBHBeksoGMGw=="
)
_LISTENING = re.compile(rb"listens on http://127\.0\.0\.1:(\d+)")


def connection_string(blob_endpoint: str) -> str:
    """An explicit development-storage connection string for ``blob_endpoint``."""
    return (
        "DefaultEndpointsProtocol=http;"
        f"AccountName={ACCOUNT_NAME};AccountKey={ACCOUNT_KEY};"
        f"BlobEndpoint={blob_endpoint};"
    )


class BlobService:
    """Mixin: the blob endpoint of, and a connection string for, a server at ``origin``.

    The server answers as the development account's blob service (Azurite, or a proxy).
    """

    @property
    def origin(self) -> str:
        """``http://127.0.0.1:<port>``."""
        raise NotImplementedError

    @property
    def blob_endpoint(self) -> str:
        """``<origin>/devstoreaccount1``."""
        return f"{self.origin}/{ACCOUNT_NAME}"

    @property
    def connection_string(self) -> str:
        """A connection string that talks to this server."""
        return connection_string(self.blob_endpoint)


def upload_allowed_users(conn_str: str, container: str, blob: str, data: str | bytes) -> None:
    """Create ``container`` if needed and (over)write ``blob`` with ``data`` (text is UTF-8)."""
    payload = data.encode("utf-8") if isinstance(data, str) else data
    with BlobServiceClient.from_connection_string(conn_str) as service:
        with contextlib.suppress(ResourceExistsError):
            service.create_container(container)
        service.get_blob_client(container, blob).upload_blob(payload, overwrite=True)


class Azurite(StartStop, BlobService):
    """An ``azurite-blob`` process on 127.0.0.1 with in-memory storage.

    ``start()`` waits (with a deadline) until it listens and answers; ``stop()`` terminates it
    and kills it if it lingers. An ``atexit`` hook stops it too, so no process outlives the run.
    """

    def __init__(self, startup_timeout: float = 30.0) -> None:
        """Prepare the process; ``start()`` (or ``with``) launches it."""
        self.startup_timeout = startup_timeout
        self._port: int | None = None
        self._process: subprocess.Popen[bytes] | None = None
        self._workdir: tempfile.TemporaryDirectory[str] | None = None
        self._output: list[bytes] = []
        self._listening = threading.Event()
        self._exited = threading.Event()
        self._drain_thread: threading.Thread | None = None

    @property
    def port(self) -> int:
        """The port Azurite listens on (known once ``start()`` returned)."""
        if self._port is None:
            raise RuntimeError("Azurite is not started")
        return self._port

    @property
    def origin(self) -> str:
        """``http://127.0.0.1:<port>``."""
        return f"http://127.0.0.1:{self.port}"

    def start(self) -> Self:
        """Launch Azurite on a port the OS picks and wait until it answers."""
        if self._process is not None:
            return self
        if not AZURITE_BIN.exists():
            raise RuntimeError(
                f"{AZURITE_BIN.relative_to(REPO_ROOT)} is missing: run `make test` "
                "(or `npm ci`) in the repository root to install Azurite."
            )
        self._workdir = tempfile.TemporaryDirectory(prefix="azurite-")
        self._process = subprocess.Popen(  # noqa: S603 - fixed local binary, fixed arguments
            [
                str(AZURITE_BIN),
                "--blobHost",
                "127.0.0.1",
                "--blobPort",
                "0",
                "--inMemoryPersistence",
                "--disableTelemetry",
                "--disableProductStyleUrl",
                "--skipApiVersionCheck",
                "--loose",
                "--silent",
            ],
            cwd=self._workdir.name,
            stdin=subprocess.DEVNULL,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
        )
        atexit.register(self.stop)
        self._drain_thread = threading.Thread(
            target=self._drain, name="azurite-output", daemon=True
        )
        self._drain_thread.start()
        try:
            self._wait_until_ready()
        except BaseException:
            self.stop()
            raise
        return self

    def _drain(self) -> None:
        process = self._process
        if process is None or process.stdout is None:
            return
        for line in process.stdout:
            self._output.append(line)
            match = _LISTENING.search(line)
            if match and self._port is None:
                self._port = int(match.group(1))
                self._listening.set()
        self._exited.set()
        self._listening.set()

    def _wait_until_ready(self) -> None:
        deadline = time.monotonic() + self.startup_timeout
        if not self._listening.wait(self.startup_timeout) or self._port is None:
            output = b"".join(self._output).decode("utf-8", "replace")
            raise RuntimeError(f"Azurite did not start listening in time. Output:\n{output}")
        while True:
            conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=2)
            try:
                conn.request("GET", f"/{ACCOUNT_NAME}?comp=properties&restype=service")
                conn.getresponse().read()
                return
            except OSError:
                if time.monotonic() > deadline:
                    raise
                if self._exited.wait(0.05):
                    raise RuntimeError("Azurite exited while starting") from None
            finally:
                conn.close()

    def stop(self, timeout: float = 10.0) -> None:
        """Terminate the process (kill it after ``timeout``) and remove its directory."""
        process, self._process = self._process, None
        if process is not None:
            atexit.unregister(self.stop)
            if process.poll() is None:
                process.terminate()
                try:
                    process.wait(timeout)
                except subprocess.TimeoutExpired:
                    process.kill()
                    process.wait(timeout)
            if self._drain_thread is not None:
                self._drain_thread.join(timeout)
            if process.stdout is not None:
                process.stdout.close()
        if self._workdir is not None:
            self._workdir.cleanup()
            self._workdir = None
