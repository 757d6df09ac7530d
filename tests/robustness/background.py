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
import threading
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from devhost.process import DevhostProcess, free_port
from devhost.simulate.client import wait_until
from shared.settings import ALL_VARIABLES
from tests.robustness.simhost import (
    DEADLINE_SECONDS,
    REPO_ROOT,
    SimApp,
    allowed_users_container,
    app_settings,
)
from tests.support.azurite import Azurite, delete_container

SLOW_SECONDS = 10.5  # beyond the notifications' 10 s Slack client timeout
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

    def _launch(self, state_dir: Path) -> DevhostProcess:
        inherited = {k: v for k, v in os.environ.items() if k not in ALL_VARIABLES}
        for attempt in range(PORT_ATTEMPTS):
            port = free_port()
            settings = app_settings(
                self._azurite.connection_string, self._container, f"http://127.0.0.1:{port}"
            )
            args = ["--simulate", "--port", str(port), "--app-root", str(REPO_ROOT)]
            args += ["--state-dir", str(state_dir / f"state-{attempt}")]
            devhost = DevhostProcess(args, env={**inherited, **settings}, cwd=REPO_ROOT)
            # None: it exited first (e.g. the port was taken).
            if devhost.wait_listening(DEADLINE_SECONDS):
                return devhost
            devhost.stop(timeout=DEADLINE_SECONDS)
        raise AssertionError("devhost did not start:\n" + devhost.output)

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
        answer = sim.submit_form("https://www.nhs.uk/conditions/")
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
        return self._devhost.output

    def close(self) -> None:
        """Stop devhost (ending the scenario if it still runs) and remove the container."""
        self._devhost.stop(timeout=DEADLINE_SECONDS)
        self._thread.join(DEADLINE_SECONDS)
        with contextlib.suppress(Exception):
            delete_container(self._azurite.connection_string, self._container)
