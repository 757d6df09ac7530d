"""Helpers for the devhost tests: toy apps on disk, an event-loop thread, a devhost process."""

from __future__ import annotations

import json
import os
from collections.abc import Coroutine, Mapping
from pathlib import Path
from typing import Any, TypeVar

from devhost.process import DevhostProcess
from devhost.simulate.client import DEADLINE_SECONDS, DevhostClient
from tests.support.loop import get_loop, run

REPO_ROOT = Path(__file__).resolve().parents[2]
T = TypeVar("T")


def write_app(root: Path, files: Mapping[str, str | dict[str, Any]]) -> Path:
    """Write a toy function app: ``{relative path: text or JSON object}``."""
    for relative, content in files.items():
        path = root / relative
        path.parent.mkdir(parents=True, exist_ok=True)
        text = content if isinstance(content, str) else json.dumps(content, indent=2)
        path.write_text(text, encoding="utf-8")
    return root


def http_function(route: str | None = None, methods: list[str] | None = None, **extra: Any):
    """A function.json for an HTTP function returning through $return."""
    trigger: dict[str, Any] = {"type": "httpTrigger", "direction": "in", "name": "req"}
    if route is not None:
        trigger["route"] = route
    if methods is not None:
        trigger["methods"] = methods
    bindings = [trigger, {"type": "http", "direction": "out", "name": "$return"}]
    if extra.get("client"):
        bindings.append({"type": "durableClient", "direction": "in", "name": "starter"})
    return {"scriptFile": "__init__.py", "bindings": bindings}


ORCHESTRATOR_JSON = {
    "bindings": [{"type": "orchestrationTrigger", "direction": "in", "name": "context"}]
}


def activity_json(name: str = "payload") -> dict[str, Any]:
    return {"bindings": [{"type": "activityTrigger", "direction": "in", "name": name}]}


class LoopThread:
    """The process-wide test event loop (tests.support.loop), shared with every async test.

    The durable client keeps one aiohttp session bound to the loop that first used it, so
    in-process hosts and function-level tests must all run on the same loop.
    """

    def __init__(self) -> None:
        self.loop = get_loop()

    def run(self, coroutine: Coroutine[Any, Any, T], timeout: float = DEADLINE_SECONDS) -> T:
        return run(coroutine, timeout)


class ToyClient(DevhostClient):
    """The client, plus starting an orchestration through the toy app's starter function."""

    def start(self, orchestrator: str, payload: Any = None, instance_id: str | None = None) -> str:
        """Start through the toy starter function (DurableOrchestrationClient inside)."""
        params = {"id": instance_id} if instance_id else None
        response = self.send("POST", f"/api/start/{orchestrator}", json=payload, params=params)
        assert response.status_code == 202, response.text
        return response.json()["id"]

    def history(self, instance_id: str) -> list[dict[str, Any]]:
        """The instance's history events, with their outputs."""
        status = self.status(instance_id, history=True)
        assert status is not None, f"no instance {instance_id}"
        return status["historyEvents"]


def start_devhost(
    app_root: Path,
    state_dir: Path,
    env: Mapping[str, str] | None = None,
    *,
    args: tuple[str, ...] = (),
    unset: tuple[str, ...] = (),
) -> DevhostProcess:
    """``python -m devhost`` on a free port, with this environment minus ``unset`` plus ``env``."""
    environment = {k: v for k, v in os.environ.items() if k not in unset}
    return DevhostProcess(
        ["--app-root", str(app_root), "--state-dir", str(state_dir), "--port", "0", *args],
        env={**environment, **(env or {})},
        cwd=REPO_ROOT,
    )


def wait_client(process: DevhostProcess) -> ToyClient:
    """Wait until ``process`` listens; a client for it."""
    base_url = process.wait_listening(DEADLINE_SECONDS)
    assert base_url, "devhost exited before listening:\n" + process.output
    return ToyClient(base_url)
