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
import requests

from devhost import create_host
from devhost.simulate.slack_workspace import TEAM_ID
from shared.orchestration import instance_id
from shared.settings import ALL_VARIABLES, CACHE_FLUSH_URL
from tests.robustness.fuzzing import tally
from tests.support.azurite import (
    ACCOUNT_KEY,
    Azurite,
    BlobProxy,
    delete_container,
    upload_allowed_users,
)
from tests.support.loop import run
from tests.support.waiting import wait_until

REPO_ROOT = Path(__file__).resolve().parents[2]
WEBHOOK = "/runtime/webhooks/durabletask"
BOT_TOKEN = "xoxb-robustness-bot-token-51c4e0"
SIGNING_SECRET = "robustness-signing-secret-8e2f7a"
FUNCTION_KEY = "robustness-function-key-d7a91b"
SECRETS = {
    "bot token": BOT_TOKEN,
    "signing secret": SIGNING_SECRET,
    "cache-flush function key": FUNCTION_KEY,
    "storage account key": ACCOUNT_KEY,
}
USER = "U0ALICE001"
USER_NAME = "alice_smith"
STRANGER = "U0MALLORY1"
CHANNEL = "cache-flush-notices"
BLOB = "allowed-users.csv"
CACHE_FLUSH_TIMEOUT_SECONDS = 0.5
RETRY_INTERVAL_SECONDS = 0.2
DEADLINE_SECONDS = 30.0
FINAL_STATUSES = ("Completed", "Failed", "Terminated")


def view_text(view: dict[str, Any]) -> str:
    """Every text of a view's (or message's) section blocks, joined."""
    return "\n".join(block["text"]["text"] for block in view.get("blocks", []) if "text" in block)


class SimApp:
    """Drives the simulated Slack user, injects faults, and reads what happened."""

    def __init__(self, base_url: str, proxy: BlobProxy | None = None) -> None:
        self.base_url = base_url
        self.proxy = proxy
        self.http = requests.Session()
        self.http.trust_env = False
        self.answers: list[str] = []

    def _get(self, path: str, **params: str) -> Any:
        response = self.http.get(self.base_url + path, params=params, timeout=DEADLINE_SECONDS)
        response.raise_for_status()
        return response.json()

    def _post(self, path: str, body: dict[str, Any]) -> Any:
        response = self.http.post(self.base_url + path, json=body, timeout=DEADLINE_SECONDS)
        response.raise_for_status()
        return response.json()

    def reset(self) -> None:
        """Forget the simulators' views, messages, calls and faults, and the proxy's records."""
        self._post("/sim/reset", {})
        if self.proxy is not None:
            self.proxy.clear()
        self.answers.clear()

    def slack_fault(self, method: str, **fault: Any) -> None:
        """Make the next ``times`` calls of ``method`` fail as described (see the simulator)."""
        self._post("/sim/slack/faults", {"method": method, **fault})

    def flush_fault(self, **fault: Any) -> None:
        """Make the next ``times`` cache-flush calls fail as described."""
        self._post("/sim/cache-flush/faults", fault)

    def command(
        self, user_id: str = USER, text: str = "", timeout: float = 10.0, **knobs: Any
    ) -> dict:
        """Type ``/flush text`` as ``user_id``; the app's answer as Slack saw it.

        ``knobs`` are the simulator's test knobs (``timestamp``, ``signing_secret``).
        """
        body = {"user_id": user_id, "text": text, "timeout": timeout, **knobs}
        if user_id == USER:
            body["user_name"] = USER_NAME
        answer = self._post("/sim/slack/command", body)
        self.answers.append(json.dumps(answer))
        return answer

    def submit(self, urls: str, environment: str = "staging", user_id: str = USER) -> dict:
        """Submit the user's open form; the app's answer and what Slack did with it."""
        body = {"user_id": user_id, "environment": environment, "urls": urls, "timeout": 10}
        answer = self._post("/sim/slack/submit", body)
        self.answers.append(json.dumps(answer))
        return answer

    def calls(self, method: str | None = None) -> list[dict[str, Any]]:
        """Slack Web API calls the app made, in order."""
        return self._get("/sim/slack/calls", **({"method": method} if method else {}))["calls"]

    def flush_calls(self) -> list[dict[str, Any]]:
        """Calls the app made to cache-flush, in order."""
        return self._get("/sim/cache-flush/calls")["calls"]

    def views(self, user_id: str = USER) -> list[dict[str, Any]]:
        """The user's views, oldest first."""
        return self._get("/sim/slack/views", user_id=user_id)["views"]

    def current_view(self, user_id: str = USER) -> dict[str, Any]:
        """The content of the user's latest view."""
        views = self.views(user_id)
        assert views, f"{user_id} has no view"
        return views[-1]["view"]

    def dms(self, user_id: str = USER) -> list[dict[str, Any]]:
        """Direct messages the app sent the user."""
        return [m["message"] for m in self._get("/sim/slack/messages", user_id=user_id)["messages"]]

    def channel_posts(self, channel: str = CHANNEL) -> list[dict[str, Any]]:
        """Messages the app posted to the notification channel."""
        return [m["message"] for m in self._get("/sim/slack/messages", channel=channel)["messages"]]

    def status(self, instance: str) -> dict[str, Any]:
        """The durable status of an instance, with its history and activity outputs."""
        return self._get(
            f"{WEBHOOK}/instances/{instance}", showHistory="true", showHistoryOutput="true"
        )

    def finished(self, view_id: str) -> dict[str, Any]:
        """Wait until the submission's orchestration has ended; return its status."""
        instance = instance_id(TEAM_ID, view_id)

        def ended() -> dict[str, Any] | None:
            response = self.http.get(
                f"{self.base_url}{WEBHOOK}/instances/{instance}", timeout=DEADLINE_SECONDS
            )
            if response.status_code == 404:
                return None
            body = response.json()
            return body if body["runtimeStatus"] in FINAL_STATUSES else None

        wait_until(ended, f"orchestration {instance} to end")
        status = self.status(instance)
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
            json.dumps(self._get("/sim/slack/views")),
            json.dumps(self._get("/sim/slack/messages")),
        ]

    def count(self, scenario: str) -> None:
        """Add this scenario's injected faults to the run's tally."""
        served = self.faults_served()
        tally["fault scenarios"] += 1
        tally["faults injected (answers replaced or delayed)"] += served
        tally[f"faults: {scenario}"] += served


def app_settings(storage: str, container: str, cache_flush_url: str) -> dict[str, str]:
    """The app's settings: recognisable secrets, short cache-flush timeout and retry interval."""
    return {
        "AZURE_STORAGE_CONNECTION_STRING": storage,
        "ALLOWED_USERS_CONTAINER": container,
        "ALLOWED_USERS_BLOB": BLOB,
        "SLACK_BOT_USER_OAUTH_ACCESS_TOKEN": BOT_TOKEN,
        "SLACK_SIGNING_SECRET": SIGNING_SECRET,
        "SLACK_CHANNEL_NAME": CHANNEL,
        "CACHE_FLUSH_TIMEOUT_SECONDS": str(CACHE_FLUSH_TIMEOUT_SECONDS),
        "CACHE_FLUSH_RETRY_INTERVAL_SECONDS": str(RETRY_INTERVAL_SECONDS),
        CACHE_FLUSH_URL: cache_flush_url,
    }


def allowed_users_container(azurite: Azurite) -> str:
    """A new container whose allowed-users list holds ``USER`` only."""
    container = f"robust-{uuid.uuid4().hex[:16]}"
    upload_allowed_users(azurite.connection_string, container, BLOB, f"{USER},{USER_NAME}\n")
    return container


@contextmanager
def sim_app(azurite: Azurite, state_dir: Path) -> Iterator[SimApp]:
    """Serve the app and the simulators in-process, configured through the environment."""
    container = allowed_users_container(azurite)
    with pytest.MonkeyPatch.context() as mp, BlobProxy(azurite.port) as proxy:
        for name in ALL_VARIABLES:
            mp.delenv(name, raising=False)
        # The cache-flush URL is replaced once the port is known; set now, the simulators keep it.
        settings = app_settings(proxy.connection_string, container, "http://127.0.0.1:9/pending")
        for name, value in settings.items():
            mp.setenv(name, value)
        host = create_host(REPO_ROOT, state_dir, port=0, simulate=True)
        run(host.start(), DEADLINE_SECONDS)
        try:
            mp.setenv(CACHE_FLUSH_URL, f"{host.base_url}/sim/cache-flush?code={FUNCTION_KEY}")
            yield SimApp(host.base_url, proxy)
        finally:
            run(host.stop(), DEADLINE_SECONDS)
    delete_container(azurite.connection_string, container)
