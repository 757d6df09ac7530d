"""End-to-end harness: a real ``python -m devhost --simulate`` process driven over HTTP.

The tests act as Slack would, only through the simulators' driving endpoints, and observe
through the simulators' inspection endpoints and the durable management API.
"""

from __future__ import annotations

import json
import os
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any

import requests

from devhost.process import DevhostProcess
from shared.settings import ALL_VARIABLES
from tests.support.waiting import wait_until

REPO_ROOT = Path(__file__).resolve().parents[2]
WEBHOOK = "/runtime/webhooks/durabletask"
DEADLINE_SECONDS = 30.0
# Recognisable secrets, set explicitly so the tests can look for them in devhost's output.
BOT_TOKEN = "xoxb-e2e-secret-token"
SIGNING_SECRET = "e2e-signing-secret"
FUNCTION_KEY = "e2e-function-key"
SECRETS = (BOT_TOKEN, SIGNING_SECRET, FUNCTION_KEY)
CHANNEL = "e2e-flush-notices"
ALLOWED_USERS_BLOB = "allowed-users.csv"
# Every variable the app reads is set for the subprocess (empty where a default is wanted),
# so a local.settings.json in the app root can never fill one in.
APP_VARIABLES = ALL_VARIABLES
FINAL_STATUSES = ("Completed", "Failed", "Terminated")


def app_environment(
    connection_string: str,
    container: str,
    *,
    port: int | None = None,
) -> dict[str, str]:
    """The app's settings for one devhost; with ``port``, the secrets are the known ones.

    Without ``port`` the Slack and cache-flush settings are left empty, so the simulators
    fill them with generated values for whatever port devhost gets.
    """
    values = dict.fromkeys(APP_VARIABLES, "")
    values |= {
        "AZURE_STORAGE_CONNECTION_STRING": connection_string,
        "ALLOWED_USERS_CONTAINER": container,
        "ALLOWED_USERS_BLOB": ALLOWED_USERS_BLOB,
        # Fast retries (the production default is 5 s): configuration, not a code change.
        "CACHE_FLUSH_RETRY_INTERVAL_SECONDS": "0.2",
        "CACHE_FLUSH_TIMEOUT_SECONDS": "10",
    }
    if port is not None:
        base = f"http://127.0.0.1:{port}"
        values |= {
            "SLACK_API_URL": f"{base}/sim/slack/api/",
            "SLACK_BOT_USER_OAUTH_ACCESS_TOKEN": BOT_TOKEN,
            "SLACK_SIGNING_SECRET": SIGNING_SECRET,
            "CACHE_FLUSH_FUNCTION_APP_FULL_URL_WITH_PATH_AND_CODE": (
                f"{base}/sim/cache-flush?code={FUNCTION_KEY}"
            ),
            "SLACK_CHANNEL_NAME": CHANNEL,
        }
    return values


def allowed_users_csv(user_ids: Iterable[str]) -> str:
    """An allowed-users CSV with a header row and one ``id,name`` record per user."""
    return "member_id,name\n" + "".join(f"{uid},user_{uid.lower()}\n" for uid in user_ids)


def start_devhost(
    app_root: Path,
    state_dir: Path,
    env: Mapping[str, str],
    *,
    port: int = 0,
    cwd: Path | None = None,
) -> DevhostProcess:
    """``python -m devhost --simulate`` as a subprocess, stdout and stderr collected apart.

    The environment is the test process's minus every app variable, plus ``env``; the
    working directory is ``cwd`` (the state directory is passed as an absolute path).
    """
    inherited = {k: v for k, v in os.environ.items() if k not in APP_VARIABLES}
    inherited["PYTHONPATH"] = str(REPO_ROOT)
    args = ["--simulate", "--port", str(port), "--app-root", str(app_root)]
    args += ["--state-dir", str(state_dir.resolve())]
    return DevhostProcess(
        args, env={**inherited, **env}, cwd=cwd or state_dir.parent, separate_stderr=True
    )


class Slack:
    """The simulated Slack (and cache-flush) of one running devhost, over HTTP."""

    def __init__(self, base_url: str) -> None:
        self.base_url = base_url
        self.session = requests.Session()
        self.session.trust_env = False

    def get(self, path: str, **params: str) -> Any:
        response = self.session.get(self.base_url + path, params=params, timeout=DEADLINE_SECONDS)
        assert response.status_code == 200, f"GET {path}: {response.status_code} {response.text}"
        return response.json()

    def post(self, path: str, body: Mapping[str, Any] | None = None, **kwargs: Any) -> Any:
        response = self.session.post(
            self.base_url + path, json=body or {}, timeout=DEADLINE_SECONDS, **kwargs
        )
        assert response.status_code == 200, f"POST {path}: {response.status_code} {response.text}"
        return response.json()

    def raw_post(self, path: str, data: bytes, headers: Mapping[str, str]) -> requests.Response:
        """POST a body as it is, e.g. straight to the app's functions."""
        return self.session.post(
            self.base_url + path, data=data, headers=dict(headers), timeout=DEADLINE_SECONDS
        )

    # The user's side of Slack.

    def command(self, user_id: str, text: str = "", **extra: Any) -> dict[str, Any]:
        # Slack's 3 s budget is for the app's answer; a loaded test machine gets more room.
        body = {"user_id": user_id, "text": text, "timeout": 20, **extra}
        return self.post("/sim/slack/command", body)

    def submit(self, user_id: str, **extra: Any) -> dict[str, Any]:
        return self.post("/sim/slack/submit", {"user_id": user_id, "timeout": 20, **extra})

    def close(self, user_id: str, **extra: Any) -> dict[str, Any]:
        return self.post("/sim/slack/close", {"user_id": user_id, **extra})

    # Inspection.

    def calls(self, method: str | None = None) -> list[dict[str, Any]]:
        params = {"method": method} if method else {}
        return self.get("/sim/slack/calls", **params)["calls"]

    def views(self, user_id: str) -> list[dict[str, Any]]:
        return self.get("/sim/slack/views", user_id=user_id)["views"]

    def view(self, user_id: str) -> dict[str, Any]:
        """The user's only view."""
        views = self.views(user_id)
        assert len(views) == 1, f"{user_id} has {len(views)} views: {views}"
        return views[0]

    def dms(self, user_id: str) -> list[dict[str, Any]]:
        return self.get("/sim/slack/messages", user_id=user_id)["messages"]

    def messages(self) -> list[dict[str, Any]]:
        """Every message: DMs, channel posts and ephemeral replies."""
        return self.get("/sim/slack/messages")["messages"]

    def channel_posts(self, channel: str) -> list[dict[str, Any]]:
        return self.get("/sim/slack/messages", channel=channel)["messages"]

    def flush_calls(self) -> list[dict[str, Any]]:
        return self.get("/sim/cache-flush/calls")["calls"]

    def flush_fault(self, **fault: Any) -> None:
        self.post("/sim/cache-flush/faults", fault)

    # The durable management API.

    def instances(self) -> list[dict[str, Any]]:
        return self.get(f"{WEBHOOK}/instances")

    def status(self, instance_id: str) -> dict[str, Any] | None:
        response = self.session.get(
            f"{self.base_url}{WEBHOOK}/instances/{instance_id}",
            params={"showHistory": "true"},
            timeout=DEADLINE_SECONDS,
        )
        if response.status_code == 404:
            return None
        assert response.status_code in (200, 202), response.text
        return response.json()

    def instance_for(self, view_id: str) -> dict[str, Any] | None:
        """The orchestration started for a submitted view (found by its input), if any."""
        found = [
            status
            for status in self.instances()
            if json.loads(status["input"] or "{}").get("view_id") == view_id
        ]
        assert len(found) <= 1, f"{len(found)} orchestrations for view {view_id}: {found}"
        return found[0] if found else None

    def wait_finished(self, instance_id: str, timeout: float = DEADLINE_SECONDS) -> dict[str, Any]:
        def finished() -> dict[str, Any] | None:
            status = self.status(instance_id)
            return status if status and status["runtimeStatus"] in FINAL_STATUSES else None

        return wait_until(finished, f"instance {instance_id} to finish", timeout)

    def wait_dms(self, user_id: str, count: int = 1) -> list[dict[str, Any]]:
        def arrived() -> list[dict[str, Any]] | None:
            dms = self.dms(user_id)
            return dms if len(dms) >= count else None

        return wait_until(arrived, f"{count} DM(s) to {user_id}")


def block_texts(blocks: Iterable[Mapping[str, Any]]) -> str:
    """All mrkdwn/plain text of a list of blocks, one block per line."""
    return "\n".join(
        block["text"]["text"] for block in blocks if isinstance(block.get("text"), dict)
    )
