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

from devhost.process import DevhostProcess
from devhost.simulate.client import DevhostClient
from devhost.simulate.settings import (
    NOTICES_CHANNEL_NAME,
    LocalSecrets,
    local_app_settings,
)
from shared.settings import ALL_VARIABLES, CACHE_FLUSH_TIMEOUT_SECONDS

REPO_ROOT = Path(__file__).resolve().parents[2]
# Recognisable secrets, set explicitly so the tests can look for them in devhost's output.
KNOWN_SECRETS = LocalSecrets.recognisable("e2e")
SIGNING_SECRET = KNOWN_SECRETS.signing_secret
SECRETS = KNOWN_SECRETS.values()
CHANNEL = NOTICES_CHANNEL_NAME
# Slack's 3 s budget is for the app's answer; a loaded test machine gets more room.
APP_TIMEOUT_SECONDS = 20.0


def app_environment(
    connection_string: str,
    container: str,
    *,
    port: int | None = None,
    overrides: Mapping[str, str] | None = None,
) -> dict[str, str]:
    """The app's settings for one devhost; with ``port``, the secrets are the known ones.

    Without ``port`` the Slack and cache-flush settings are left empty, so the simulators
    fill them with generated values for whatever port devhost gets. ``overrides`` (by
    variable name) come last.
    """
    base_url = None if port is None else f"http://127.0.0.1:{port}"
    return local_app_settings(
        connection_string,
        container=container,
        base_url=base_url,
        local_secrets=KNOWN_SECRETS,
        overrides={CACHE_FLUSH_TIMEOUT_SECONDS: "10", **(overrides or {})},
    )


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
    inherited = {k: v for k, v in os.environ.items() if k not in ALL_VARIABLES}
    inherited["PYTHONPATH"] = str(REPO_ROOT)
    args = ["--simulate", "--port", str(port), "--app-root", str(app_root)]
    args += ["--state-dir", str(state_dir.resolve())]
    return DevhostProcess(
        args, env={**inherited, **env}, cwd=cwd or state_dir.parent, separate_stderr=True
    )


def client(base_url: str) -> DevhostClient:
    """A client for one devhost of these tests."""
    return DevhostClient(base_url, app_timeout=APP_TIMEOUT_SECONDS)


def instance_for(slack: DevhostClient, view_id: str) -> dict[str, Any] | None:
    """The orchestration started for a submitted view (found by its input), if any."""
    found = [
        status
        for status in slack.instances()
        if json.loads(status["input"] or "{}").get("view_id") == view_id
    ]
    assert len(found) <= 1, f"{len(found)} orchestrations for view {view_id}: {found}"
    return found[0] if found else None


def block_texts(blocks: Iterable[Mapping[str, Any]]) -> str:
    """All mrkdwn/plain text of a list of blocks, one block per line."""
    return "\n".join(
        block["text"]["text"] for block in blocks if isinstance(block.get("text"), dict)
    )


def assert_flushed_with_the_modal_gone(status: Mapping[str, Any]) -> None:
    """The instance completed a successful flush, and the modal's update found no view."""
    assert status["runtimeStatus"] == "Completed", status
    assert status["output"]["flush"] == {"ok": True, "status": 201}, status
    assert status["output"]["notifications"]["modal"] == {
        "delivered": False,
        "reason": "not_found",
    }, status
