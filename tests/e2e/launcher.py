"""Starting and stopping the devhost processes of one end-to-end test."""

from __future__ import annotations

import uuid
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

from devhost.process import DevhostProcess, free_port
from devhost.simulate.client import DEADLINE_SECONDS, DevhostClient
from devhost.simulate.settings import ALLOWED_USERS_BLOB
from tests.e2e.harness import (
    REPO_ROOT,
    SECRETS,
    allowed_users_csv,
    app_environment,
    client,
    start_devhost,
)
from tests.support.azurite import ACCOUNT_KEY, Azurite, delete_container, upload_allowed_users

_PORT_ATTEMPTS = 3


@dataclass
class RunningApp:
    """One devhost process serving the app, with the simulated Slack in front of it."""

    process: DevhostProcess
    slack: DevhostClient
    port: int
    state_dir: Path


class AppLauncher:
    """Starts devhost processes for one test and stops them all at teardown.

    Every process of a test shares the test's allowed-users container; ``start`` gives each
    a fresh state directory unless it is told to reuse one (a restart).
    """

    def __init__(self, azurite: Azurite, work_dir: Path) -> None:
        self.azurite = azurite
        self.work_dir = work_dir
        self.container = f"e2e-{uuid.uuid4().hex[:20]}"
        self.processes: list[DevhostProcess] = []

    def allow(self, *user_ids: str) -> None:
        """Write the allowed-users list with exactly ``user_ids``."""
        upload_allowed_users(
            self.azurite.connection_string,
            self.container,
            ALLOWED_USERS_BLOB,
            allowed_users_csv(user_ids),
        )

    def set_allowed_csv(self, csv: str) -> None:
        """Write the allowed-users list as given (a role column, for approvers)."""
        upload_allowed_users(
            self.azurite.connection_string, self.container, ALLOWED_USERS_BLOB, csv
        )

    def start(
        self,
        *,
        port: int | None = None,
        state_dir: Path | None = None,
        known_secrets: bool = True,
        overrides: Mapping[str, str] | None = None,
    ) -> RunningApp:
        """Start devhost and wait until it listens.

        With ``known_secrets`` the Slack and cache-flush settings are the harness's fixed
        values on a port chosen in advance (``port``, or a free one); otherwise devhost picks
        the port and its simulators generate them. ``overrides`` are extra app settings.
        """
        state = state_dir or self.work_dir / f"state-{len(self.processes)}"
        for attempt in range(_PORT_ATTEMPTS):
            chosen = port or (free_port() if known_secrets else 0)
            env = app_environment(
                self.azurite.connection_string,
                self.container,
                port=chosen if known_secrets else None,
                overrides=overrides,
            )
            process = start_devhost(REPO_ROOT, state, env, port=chosen, cwd=self.work_dir)
            self.processes.append(process)
            base_url = process.wait_listening(DEADLINE_SECONDS)
            if base_url:
                return RunningApp(
                    process=process,
                    slack=client(base_url),
                    port=int(base_url.rsplit(":", 1)[1]),
                    state_dir=state,
                )
            # Another program may have taken a port picked in advance; try another one.
            if port or "cannot listen" not in process.output or attempt == _PORT_ATTEMPTS - 1:
                break
        raise AssertionError(f"devhost did not start:\n{self.processes[-1].output}")

    def close(self) -> None:
        """Stop every process (SIGTERM, then SIGKILL), delete the container, check the logs."""
        failures: list[Exception] = []
        for process in self.processes:
            try:
                process.stop()
            except Exception as error:  # keep stopping the others
                failures.append(error)
        delete_container(self.azurite.connection_string, self.container)
        if failures:
            raise failures[0]
        for process in self.processes:
            leaked = [s for s in (*SECRETS, ACCOUNT_KEY) if s in process.output]
            assert not leaked, f"secrets in devhost's output: {leaked}"
