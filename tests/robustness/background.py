"""The slowest fault scenario, run on a devhost process of its own while the other tests run.

Slack's client timeout for notifications is 10 s, so "Slack too slow while the result is
delivered" lasts over 10 s whatever the test does. The simulators' faults are global, so it
cannot share a devhost with the other scenarios: it gets a ``python -m devhost --simulate``
process, starts when the robustness tests start, and the test that checks it only collects
the outcome. Its logs are devhost's (scrubbed) output, so the log part of its secret audit is
weaker than the in-process scenarios'; the rest of the audit is the same.
"""

from __future__ import annotations

import contextlib
import os
import signal
import socket
import subprocess
import sys
import threading
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from shared.settings import ALL_VARIABLES
from tests.robustness.simhost import (
    DEADLINE_SECONDS,
    FUNCTION_KEY,
    REPO_ROOT,
    SimApp,
    allowed_users_container,
    app_settings,
    wait_until,
)
from tests.support.azurite import Azurite, delete_container

SLOW_SECONDS = 10.5  # beyond the notifications' 10 s Slack client timeout
LISTENING = "devhost listening on "
PORT_ATTEMPTS = 3


@dataclass
class SlowOutcome:
    """What the scenario saw: the durable status and everything the user and operator see."""

    status: dict[str, Any]
    view: dict[str, Any]
    dms: list[dict[str, Any]]
    channel_posts: list[dict[str, Any]]
    calls: dict[str, int]
    faults_served: int
    observed: list[str] = field(repr=False)


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


class _Devhost:
    """``python -m devhost --simulate`` on a port chosen in advance, its output collected."""

    def __init__(self, env: dict[str, str], port: int, state_dir: Path) -> None:
        command = [sys.executable, "-m", "devhost", "--simulate", "--port", str(port)]
        command += ["--app-root", str(REPO_ROOT), "--state-dir", str(state_dir)]
        self.lines: list[str] = []
        self.base_url: str | None = None
        self.process = subprocess.Popen(  # noqa: S603 - our own module, fixed arguments
            command,
            cwd=REPO_ROOT,
            env=env,
            stdin=subprocess.DEVNULL,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
        )
        self._reader = threading.Thread(target=self._read, daemon=True)
        self._reader.start()

    def _read(self) -> None:
        assert self.process.stdout is not None
        for line in self.process.stdout:
            self.lines.append(line)
            if line.startswith(LISTENING):
                self.base_url = line[len(LISTENING) :].strip()

    def wait_listening(self) -> bool:
        """True once it listens, False if it exited first (e.g. the port was taken)."""
        wait_until(
            lambda: self.base_url or self.process.poll() is not None, "devhost to listen or exit"
        )
        return self.base_url is not None

    def stop(self) -> None:
        """SIGTERM, then SIGKILL if it lingers."""
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            try:
                self.process.wait(DEADLINE_SECONDS)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(DEADLINE_SECONDS)
        self._reader.join(DEADLINE_SECONDS)


class SlowSlackScenario:
    """Starts devhost and drives the scenario on a thread; ``outcome()`` waits for it."""

    def __init__(self, azurite: Azurite, state_dir: Path) -> None:
        self._azurite = azurite
        self._container = allowed_users_container(azurite)
        self._devhost = self._launch(state_dir)
        self._outcome: SlowOutcome | None = None
        self._error: BaseException | None = None
        self._thread = threading.Thread(target=self._run, name="slow-slack-scenario", daemon=True)
        self._thread.start()

    def _launch(self, state_dir: Path) -> _Devhost:
        inherited = {k: v for k, v in os.environ.items() if k not in ALL_VARIABLES}
        for attempt in range(PORT_ATTEMPTS):
            port = _free_port()
            settings = app_settings(
                self._azurite.connection_string,
                self._container,
                f"http://127.0.0.1:{port}/sim/cache-flush?code={FUNCTION_KEY}",
            )
            devhost = _Devhost({**inherited, **settings}, port, state_dir / f"state-{attempt}")
            if devhost.wait_listening():
                return devhost
            devhost.stop()
        raise AssertionError("devhost did not start:\n" + "".join(devhost.lines))

    def _run(self) -> None:
        try:
            self._outcome = self._scenario(SimApp(self._devhost.base_url or ""))
        except BaseException as error:
            self._error = error

    @staticmethod
    def _scenario(sim: SimApp) -> SlowOutcome:
        assert sim.command(text="https://www.nhs.uk/conditions/")["status"] == 200
        assert sim.current_view()["callback_id"] == "cache_flush_request"
        for method in ("views.update", "chat.postMessage"):
            sim.slack_fault(method, delay=SLOW_SECONDS)
        answer = sim.submit("https://www.nhs.uk/conditions/")
        status = sim.finished(answer["view_id"])
        # The delayed calls land after the retries did: wait for them, so nothing is cut off.
        wait_until(lambda: len(sim.calls("views.update")) >= 3, "3 views.update calls")
        wait_until(lambda: len(sim.calls("chat.postMessage")) >= 3, "3 chat.postMessage calls")
        return SlowOutcome(
            status=status,
            view=sim.current_view(),
            dms=sim.dms(),
            channel_posts=sim.channel_posts(),
            calls={m: len(sim.calls(m)) for m in ("views.update", "chat.postMessage")},
            faults_served=sim.faults_served(),
            observed=sim.observed(),
        )

    def outcome(self) -> SlowOutcome:
        """Wait for the scenario to end and return what it saw (or raise what went wrong)."""
        self._thread.join(SLOW_SECONDS + DEADLINE_SECONDS)
        if self._error is not None:
            raise self._error
        assert self._outcome is not None, "the slow scenario did not finish in time"
        return self._outcome

    @property
    def output(self) -> str:
        """devhost's output so far."""
        return "".join(self._devhost.lines)

    def close(self) -> None:
        """Stop devhost (ending the scenario if it still runs) and remove the container."""
        self._devhost.stop()
        self._thread.join(DEADLINE_SECONDS)
        with contextlib.suppress(Exception):
            delete_container(self._azurite.connection_string, self._container)
