"""devhost as a child process: start it, learn its URL, collect its output, stop it.

The demo launcher (`make run`), the benchmarks and the tests all run ``python -m devhost`` (or
a module wrapping its command line) through ``DevhostProcess``. The child's output is either
drained by threads into lines (the child never blocks on a full pipe) or written straight to
a file, which costs a busy host nothing at all.
"""

from __future__ import annotations

import contextlib
import signal
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import IO

from devhost.lifecycle import Stops

LISTENING_PREFIX = "devhost listening on "
REPO_ROOT = Path(__file__).resolve().parents[1]
STARTUP_SECONDS = 60.0
STOP_SECONDS = 10.0
_FILE_POLL_SECONDS = 0.02


def free_port() -> int:
    """A port that was free on 127.0.0.1 a moment ago (devhost binds it with SO_REUSEADDR)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


class _Lines:
    """The lines of one output pipe, read on a thread until the pipe closes."""

    def __init__(
        self,
        stream: IO[str],
        on_line: Callable[[str], None],
        on_close: Callable[[], None] | None = None,
    ) -> None:
        self._lines: list[str] = []
        self._lock = threading.Lock()
        self._stream = stream
        self._on_line = on_line
        self._on_close = on_close
        self.closed = threading.Event()
        self._thread = threading.Thread(target=self._read, daemon=True)
        self._thread.start()

    def _read(self) -> None:
        try:
            for line in self._stream:
                with self._lock:
                    self._lines.append(line)
                self._on_line(line)
        finally:
            self._stream.close()
            self.closed.set()
            if self._on_close is not None:
                self._on_close()

    def snapshot(self) -> list[str]:
        """The lines read so far."""
        with self._lock:
            return list(self._lines)

    def join(self, timeout: float | None) -> None:
        """Wait (at most ``timeout`` seconds) for the pipe to close and its lines to be read."""
        self._thread.join(timeout)


class DevhostProcess(Stops):
    """``python -m <module> <args>`` started at once, where ``module`` runs devhost.

    Output goes to pipes drained by threads (stderr with stdout unless ``separate_stderr``;
    each line also written to ``echo`` if given), or, with ``output_file``, straight to that
    file (stdout and stderr). ``env`` is the child's whole environment (default: this
    process's); ``cwd`` defaults to the repository root, so ``-m devhost`` imports.
    ``new_session`` puts the child in a process group of its own. ``with`` stops it.
    """

    def __init__(
        self,
        args: Sequence[str] = (),
        *,
        env: Mapping[str, str] | None = None,
        cwd: Path | None = None,
        module: str = "devhost",
        output_file: Path | None = None,
        separate_stderr: bool = False,
        echo: IO[str] | None = None,
        new_session: bool = False,
    ) -> None:
        """Start the child."""
        self._base_url: str | None = None
        self._settled = threading.Event()
        self._echo = echo
        self._output_file = output_file
        self._stdout: _Lines | None = None
        self._stderr: _Lines | None = None
        with contextlib.ExitStack() as stack:
            stdout: int | IO[bytes] = subprocess.PIPE
            stderr = subprocess.PIPE if separate_stderr else subprocess.STDOUT
            if output_file is not None:
                stdout = stack.enter_context(output_file.open("wb"))
                stderr = subprocess.STDOUT
            self._process = subprocess.Popen(  # noqa: S603 - this interpreter, fixed module
                [sys.executable, "-m", module, *args],
                cwd=cwd or REPO_ROOT,
                env=None if env is None else dict(env),
                stdin=subprocess.DEVNULL,
                stdout=stdout,
                stderr=stderr,
                text=True,
                start_new_session=new_session,
            )
        if self._process.stdout is not None:
            self._stdout = _Lines(self._process.stdout, self._on_stdout_line, self._settled.set)
        if self._process.stderr is not None:
            self._stderr = _Lines(self._process.stderr, self._echo_line)

    def _on_stdout_line(self, line: str) -> None:
        self._echo_line(line)
        if self._base_url is None and line.startswith(LISTENING_PREFIX):
            self._base_url = line[len(LISTENING_PREFIX) :].strip()
            self._settled.set()

    def _echo_line(self, line: str) -> None:
        if self._echo is not None:
            self._echo.write(line)
            self._echo.flush()

    @property
    def pid(self) -> int:
        """The child's process ID."""
        return self._process.pid

    @property
    def base_url(self) -> str | None:
        """``http://HOST:PORT`` from devhost's listening line, once it has printed it."""
        if self._base_url is None and self._output_file is not None:
            for line in self.lines:
                if line.startswith(LISTENING_PREFIX):
                    self._base_url = line[len(LISTENING_PREFIX) :].strip()
                    break
        return self._base_url

    @property
    def lines(self) -> list[str]:
        """The output lines so far (stdout only with ``separate_stderr``)."""
        if self._stdout is not None:
            return self._stdout.snapshot()
        if self._output_file is None or not self._output_file.exists():
            return []
        text = self._output_file.read_text(encoding="utf-8", errors="replace")
        return text.splitlines(keepends=True)

    @property
    def stderr_lines(self) -> list[str]:
        """The stderr lines so far, with ``separate_stderr``; otherwise none."""
        return self._stderr.snapshot() if self._stderr is not None else []

    @property
    def output(self) -> str:
        """Everything written so far: stdout, then stderr if kept apart."""
        return "".join(self.lines + self.stderr_lines)

    def poll(self) -> int | None:
        """The exit status, or None while the child runs."""
        return self._process.poll()

    def send_signal(self, signum: int) -> None:
        """Send ``signum`` to the child (not its process group)."""
        self._process.send_signal(signum)

    def wait_listening(self, timeout: float | None = STARTUP_SECONDS) -> str | None:
        """Wait until devhost prints its listening line and return its base URL.

        None means the child exited first (its output is then complete). After ``timeout``
        seconds (None: no limit) this raises ``TimeoutError`` with the end of the output.
        """
        deadline = None if timeout is None else time.monotonic() + timeout
        while self.base_url is None:
            if self._output_ended():
                self.wait(STOP_SECONDS)
                return self.base_url
            remaining = None if deadline is None else deadline - time.monotonic()
            if remaining is not None and remaining <= 0:
                raise TimeoutError(
                    f"devhost did not print its listening line within {timeout:g} s:\n"
                    + self.output[-2000:]
                )
            if self._output_file is not None:
                # Nothing signals a line written to a file: look again shortly.
                remaining = (
                    _FILE_POLL_SECONDS if remaining is None else min(remaining, _FILE_POLL_SECONDS)
                )
            self._settled.wait(remaining)
        return self.base_url

    def _output_ended(self) -> bool:
        if self._stdout is not None:
            return self._stdout.closed.is_set()
        return self._process.poll() is not None

    def wait(self, timeout: float | None = None) -> int:
        """Wait for the child to exit and its output to be read; return its exit status.

        Raises ``subprocess.TimeoutExpired`` if it is still running after ``timeout``.
        """
        code = self._process.wait(timeout)
        for reader in (self._stdout, self._stderr):
            if reader is not None:
                reader.join(STOP_SECONDS if timeout is None else timeout)
        return code

    def stop(self, signum: int = signal.SIGTERM, timeout: float = STOP_SECONDS) -> int:
        """Send ``signum`` (SIGKILL if it still runs ``timeout`` s later); return the status.

        Safe to call more than once, and on a child that has already exited.
        """
        if self._process.poll() is None:
            self._process.send_signal(signum)
            try:
                return self.wait(timeout)
            except subprocess.TimeoutExpired:
                self._process.kill()
        return self.wait(timeout)

    def kill(self, timeout: float = STOP_SECONDS) -> int:
        """SIGKILL, as a crash would; return the exit status."""
        if self._process.poll() is None:
            self._process.kill()
        return self.wait(timeout)
