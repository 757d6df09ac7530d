"""The app on an in-process devhost with its Slack and cache-flush simulators.

In-process, so every log record of the app reaches the test's ``LogCapture`` unredacted (the
devhost command line scrubs its output, which would hide a leak). Storage goes through a
recording ``BlobProxy`` in front of Azurite. The secrets are recognisable values, so a leak
anywhere (log, answer, durable status, Slack message) can be found.
"""

from __future__ import annotations

import json
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest

from devhost import create_host
from devhost.simulate.client import DEADLINE_SECONDS, DevhostClient
from devhost.simulate.settings import (
    ALLOWED_USERS_BLOB,
    NOTICES_CHANNEL_NAME,
    LocalSecrets,
    local_app_settings,
    simulator_settings,
)
from devhost.simulate.slack_workspace import TEAM_ID
from shared import settings
from shared.instance_ids import instance_id
from tests.robustness.fuzzing import tally
from tests.support.azurite import (
    ACCOUNT_KEY,
    Azurite,
    BlobProxy,
    delete_container,
    upload_allowed_users,
)
from tests.support.blocks import block_texts
from tests.support.loop import run

REPO_ROOT = Path(__file__).resolve().parents[2]
KNOWN_SECRETS = LocalSecrets.recognisable("robustness")
BOT_TOKEN, SIGNING_SECRET, FUNCTION_KEY = KNOWN_SECRETS.values()
SECRETS = {
    "bot token": KNOWN_SECRETS.bot_token,
    "signing secret": KNOWN_SECRETS.signing_secret,
    "cache-flush function key": KNOWN_SECRETS.function_key,
    "storage account key": ACCOUNT_KEY,
}
USER = "U0ALICE001"
USER_NAME = "alice_smith"
STRANGER = "U0MALLORY1"
CACHE_FLUSH_TIMEOUT_SECONDS = 0.5
# How long the simulated Slack waits for the app's answer here (Slack's own is 3 s).
APP_TIMEOUT_SECONDS = 10.0


def view_text(view: dict[str, Any]) -> str:
    """Every text of a view's (or message's) section and context blocks, joined."""
    return block_texts(view.get("blocks", []))


class SimApp(DevhostClient):
    """The client, with ``USER`` by default and a record of everything the app answered."""

    def __init__(self, base_url: str, proxy: BlobProxy | None = None) -> None:
        """Drive the devhost at ``base_url``; ``proxy`` records its storage traffic."""
        super().__init__(base_url, app_timeout=APP_TIMEOUT_SECONDS)
        self.proxy = proxy
        self.answers: list[str] = []

    def reset(self) -> None:
        """Forget the simulators' views, messages, calls and faults, and the proxy's records."""
        super().reset()
        if self.proxy is not None:
            self.proxy.clear()
        self.answers.clear()

    def command(self, user_id: str = USER, text: str = "", **extra: Any) -> dict[str, Any]:
        """Type ``/flush text`` as ``user_id``; the app's answer as Slack saw it."""
        if user_id == USER:
            extra.setdefault("user_name", USER_NAME)
        answer = super().command(user_id, text, **extra)
        self.answers.append(json.dumps(answer))
        return answer

    def submit_form(
        self, urls: str, environment: str = "staging", user_id: str = USER
    ) -> dict[str, Any]:
        """Submit the user's open form; the app's answer and what Slack did with it."""
        answer = self.submit(user_id, environment=environment, urls=urls)
        self.answers.append(json.dumps(answer))
        return answer

    def current_view(self, user_id: str = USER) -> dict[str, Any]:
        """The content of the user's latest view."""
        return super().current_view(user_id)

    def dms(self, user_id: str = USER) -> list[dict[str, Any]]:
        """Direct messages the app sent the user."""
        return super().dms(user_id)

    def channel_posts(self, channel: str = "") -> list[dict[str, Any]]:
        """Messages the app posted to the notification channel (or ``channel``)."""
        return super().channel_posts(channel or NOTICES_CHANNEL_NAME)

    def finished(self, view_id: str) -> dict[str, Any]:
        """Wait until the submission's orchestration has ended; its status with history."""
        status = self.wait_status(instance_id(TEAM_ID, USER, view_id))
        self.answers.append(json.dumps(status))
        return status

    def faults_served(self) -> int:
        """How many answers, from Slack and cache-flush, a fault replaced or delayed."""
        calls = [*self.calls(), *self.flush_calls()]
        return sum(1 for call in calls if call.get("fault"))

    def observed(self) -> list[str]:
        """Everything the app produced that a person or a log could see, as text."""
        return [
            *self.answers,
            json.dumps(self.calls()),
            json.dumps(self.flush_calls()),
            json.dumps(self.views()),
            json.dumps(self.messages()),
        ]

    def count(self, scenario: str) -> None:
        """Add this scenario's injected faults to the run's tally."""
        served = self.faults_served()
        tally["fault scenarios"] += 1
        tally["faults injected (answers replaced or delayed)"] += served
        tally[f"faults: {scenario}"] += served


def app_settings(storage: str, container: str, base_url: str) -> dict[str, str]:
    """The app's settings: recognisable secrets, a short cache-flush timeout."""
    return local_app_settings(
        storage,
        container=container,
        base_url=base_url,
        local_secrets=KNOWN_SECRETS,
        overrides={settings.CACHE_FLUSH_TIMEOUT_SECONDS: str(CACHE_FLUSH_TIMEOUT_SECONDS)},
    )


def allowed_users_container(azurite: Azurite) -> str:
    """A new container whose allowed-users list holds ``USER`` only."""
    container = f"robust-{uuid.uuid4().hex[:16]}"
    upload_allowed_users(
        azurite.connection_string, container, ALLOWED_USERS_BLOB, f"{USER},{USER_NAME}\n"
    )
    return container


@contextmanager
def sim_app(azurite: Azurite, state_dir: Path) -> Iterator[SimApp]:
    """Serve the app and the simulators in-process, configured through the environment."""
    container = allowed_users_container(azurite)
    with pytest.MonkeyPatch.context() as mp, BlobProxy(azurite.port) as proxy:
        # Slack and cache-flush point at the simulators once the port is known; the
        # simulators keep what is set now (the known secrets).
        values = app_settings(proxy.connection_string, container, "http://127.0.0.1:9")
        for name, value in values.items():
            mp.setenv(name, value)
        host = create_host(REPO_ROOT, state_dir, port=0, simulate=True)
        run(host.start(), DEADLINE_SECONDS)
        try:
            for name, value in simulator_settings(host.base_url, KNOWN_SECRETS).items():
                mp.setenv(name, value)
            yield SimApp(host.base_url, proxy)
        finally:
            run(host.stop(), DEADLINE_SECONDS)
    delete_container(azurite.connection_string, container)
