"""`make run`'s launcher: the printed commands work, and Ctrl-C leaves no process behind."""

from __future__ import annotations

import json
import os
import re
import signal
import socket
import subprocess
import sys
import threading
import time
from pathlib import Path
from urllib.request import Request, urlopen

import pytest

ROOT = Path(__file__).resolve().parents[1]
DEADLINE = 60.0
DEMO_USER = "U0DEMOUSER"


def post(url: str, payload: dict) -> dict:
    request = Request(
        url,
        data=json.dumps(payload).encode(),
        headers={"Content-Type": "application/json"},
    )
    with urlopen(request, timeout=10) as response:
        return json.loads(response.read())


def get(url: str) -> dict:
    with urlopen(url, timeout=10) as response:
        return json.loads(response.read())


def refuses_connections(host: str, port: int) -> bool:
    with socket.socket() as probe:
        probe.settimeout(1)
        return probe.connect_ex((host, port)) != 0


def wait_until(condition, what: str):
    deadline = time.monotonic() + DEADLINE
    while time.monotonic() < deadline:
        value = condition()
        if value:
            return value
        time.sleep(0.05)
    raise AssertionError(f"timed out waiting for {what}")


class Output:
    """Collects a child's output on a thread, so waiting on it never blocks."""

    def __init__(self, stream) -> None:
        self.lines: list[str] = []
        self._thread = threading.Thread(target=self._read, args=(stream,), daemon=True)
        self._thread.start()

    def _read(self, stream) -> None:
        for line in stream:
            self.lines.append(line)

    @property
    def text(self) -> str:
        return "".join(self.lines)


@pytest.fixture
def demo(tmp_path: Path):
    environ = {
        key: value
        for key, value in os.environ.items()
        if not key.startswith(("SLACK_", "CACHE_FLUSH_", "ALLOWED_USERS_", "AZURE_STORAGE"))
    }
    process = subprocess.Popen(  # noqa: S603 (this interpreter, fixed arguments)
        [sys.executable, "-m", "devhost.demo", "--port", "0", "--state-dir", str(tmp_path)],
        cwd=ROOT,
        env=environ,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        start_new_session=True,
    )
    output = Output(process.stdout)
    try:
        yield process, output
    finally:
        if process.poll() is None:
            os.killpg(process.pid, signal.SIGKILL)
        process.wait(DEADLINE)


def test_the_printed_commands_flush_and_ctrl_c_stops_everything(demo) -> None:
    process, output = demo
    wait_until(lambda: "Press Ctrl-C to stop." in output.text, "the demo instructions")
    base = re.search(r"The app is running at (http://[\d.]+:\d+)", output.text).group(1)
    azurite = re.search(
        r"Azurite \(blob storage, in memory\) on http://([\d.]+):(\d+)", output.text
    )
    assert f"{base}/sim/slack/command" in output.text
    assert f"{base}/sim/slack/submit" in output.text

    opened = post(
        f"{base}/sim/slack/command", {"user_id": DEMO_USER, "text": "https://www.nhs.uk/a"}
    )
    assert opened["status"] == 200
    submitted = post(f"{base}/sim/slack/submit", {"user_id": DEMO_USER, "environment": "staging"})
    assert submitted["response_action"] == "update"

    def result_dm() -> dict | None:
        messages = get(f"{base}/sim/slack/messages?user_id={DEMO_USER}")["messages"]
        return messages[0] if messages else None

    assert wait_until(result_dm, "the result DM")["message"]["text"] == "Cache flush succeeded"

    post(f"{base}/sim/slack/command", {"user_id": DEMO_USER, "text": ""})
    rejected = post(
        f"{base}/sim/slack/submit",
        {"user_id": DEMO_USER, "environment": "staging", "urls": "https://evilnhs.uk/x"},
    )
    assert rejected["response_action"] == "errors"

    os.killpg(process.pid, signal.SIGINT)
    assert process.wait(DEADLINE) == 0
    host, port = base.removeprefix("http://").split(":")
    assert refuses_connections(host, int(port))
    assert refuses_connections(azurite.group(1), int(azurite.group(2)))
