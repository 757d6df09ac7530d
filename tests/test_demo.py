"""`make run`'s launcher: the printed commands work, and Ctrl-C leaves no process behind."""

from __future__ import annotations

import json
import os
import re
import signal
import socket
from pathlib import Path
from urllib.request import Request, urlopen

import pytest

from devhost.process import DevhostProcess
from devhost.simulate.client import wait_until

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


def launch(state_dir: Path, port: int = 0) -> DevhostProcess:
    """Start `make run`'s launcher with a clean environment."""
    environ = {
        key: value
        for key, value in os.environ.items()
        if not key.startswith(
            ("SLACK_", "CACHE_FLUSH_", "ALLOWED_USERS_", "AZURE_STORAGE", "APPROVAL_")
        )
    }
    return DevhostProcess(
        ["--port", str(port), "--state-dir", str(state_dir)],
        env=environ,
        cwd=ROOT,
        module="devhost.demo",
        new_session=True,
    )


@pytest.fixture
def demo(tmp_path: Path):
    process = launch(tmp_path)
    try:
        yield process
    finally:
        if process.poll() is None:
            os.killpg(process.pid, signal.SIGKILL)
        process.wait(DEADLINE)


def test_the_printed_commands_flush_and_ctrl_c_stops_everything(demo: DevhostProcess) -> None:
    wait_until(lambda: "Press Ctrl-C to stop." in demo.output, "the demo instructions", DEADLINE)
    output = demo.output
    base = re.search(r"The app is running at (http://[\d.]+:\d+)", output).group(1)
    assert "Approval is needed for: production. Requests go to #cache-flush-approvals" in output
    assert "expire if nobody decides within 60 minutes" in output
    assert f"curl -s {base}/sim/settings" in output
    azurite = re.search(r"Azurite \(blob storage, in memory\) on http://([\d.]+):(\d+)", output)
    assert f"{base}/sim/slack/command" in output
    assert f"{base}/sim/slack/submit" in output

    opened = post(
        f"{base}/sim/slack/command", {"user_id": DEMO_USER, "text": "https://www.nhs.uk/a"}
    )
    assert opened["status"] == 200
    submitted = post(f"{base}/sim/slack/submit", {"user_id": DEMO_USER, "environment": "staging"})
    assert submitted["response_action"] == "update"

    def result_dm() -> dict | None:
        messages = get(f"{base}/sim/slack/messages?user_id={DEMO_USER}")["messages"]
        return messages[0] if messages else None

    result = wait_until(result_dm, "the result DM", DEADLINE)
    assert result["message"]["text"] == "Cache flush succeeded"

    post(f"{base}/sim/slack/command", {"user_id": DEMO_USER, "text": ""})
    rejected = post(
        f"{base}/sim/slack/submit",
        {"user_id": DEMO_USER, "environment": "staging", "urls": "https://evilnhs.uk/x"},
    )
    assert rejected["response_action"] == "errors"

    # 4. and 5.: a production flush waits for the approver's click, then runs.
    assert f"{base}/sim/slack/click" in output
    approver_id = re.search(r'"user_id": "(U\w+)", "action_id": "approve_flush"', output).group(1)
    channel = re.search(r"messages\?channel=([\w-]+)'", output).group(1)
    post(f"{base}/sim/slack/command", {"user_id": DEMO_USER, "text": "https://www.nhs.uk/b"})
    waiting = post(f"{base}/sim/slack/submit", {"user_id": DEMO_USER, "environment": "production"})
    assert "Cancel request" in json.dumps(waiting)

    def approval_request() -> dict | None:
        """The request once its buttons are there: it is posted first without them."""
        messages = get(f"{base}/sim/slack/messages?channel={channel}")["messages"]
        blocks = messages[0]["message"].get("blocks", []) if messages else []
        return messages[0] if any(b["type"] == "actions" for b in blocks) else None

    request = wait_until(approval_request, "the approval request", DEADLINE)["message"]
    assert request["text"] == "Cache flush approval requested"
    click = {"user_id": approver_id, "action_id": "approve_flush", "channel": channel}
    post(f"{base}/sim/slack/click", {**click, "ts": request["ts"]})

    def approved_result() -> dict | None:
        messages = get(f"{base}/sim/slack/messages?user_id={DEMO_USER}")["messages"]
        texts = [m["message"]["text"] for m in messages]
        return texts if texts.count("Cache flush succeeded") == 2 else None

    texts = wait_until(approved_result, "the approved flush's result DM", DEADLINE)
    assert "Cache flush approved" in texts

    # 6. and 7.: the Home tab, and the shortcut on a posted message.
    assert f"{base}/sim/slack/home/open" in output
    home = post(f"{base}/sim/slack/home/open", {"user_id": DEMO_USER})
    assert home["status"] == 200
    assert "https://www.nhs.uk/b" in json.dumps(home["home"]["view"])
    posted = post(
        f"{base}/sim/slack/post", {"user_id": DEMO_USER, "text": "Stale: https://www.nhs.uk/c"}
    )
    assert f"{base}/sim/slack/shortcut" in output
    shortcut = {"user_id": DEMO_USER, "channel": "general", "ts": posted["ts"]}
    assert post(f"{base}/sim/slack/shortcut", shortcut)["status"] == 200

    def form_with_the_link() -> bool:
        views = get(f"{base}/sim/slack/views?user_id={DEMO_USER}")["views"]
        return "https://www.nhs.uk/c" in json.dumps(views[-1]["view"])

    wait_until(form_with_the_link, "the form with the message's link", DEADLINE)

    os.killpg(demo.pid, signal.SIGINT)
    assert demo.wait(DEADLINE) == 0
    host, port = base.removeprefix("http://").split(":")
    assert refuses_connections(host, int(port))
    assert refuses_connections(azurite.group(1), int(azurite.group(2)))


def test_a_second_launcher_says_where_the_first_one_runs(demo: DevhostProcess, tmp_path: Path):
    wait_until(lambda: "Press Ctrl-C to stop." in demo.output, "the demo instructions", DEADLINE)
    base = re.search(r"The app is running at (http://[\d.]+:\d+)", demo.output).group(1)
    second = launch(tmp_path)
    assert second.wait(DEADLINE) == 1
    said = second.output
    assert f"The demo is already running at {base} (process {demo.pid})" in said
    assert f"open {base}/sim/slack/" in said
    assert "Azurite" not in second.output, "nothing was started"

    port = int(base.rsplit(":", 1)[1])
    third = launch(tmp_path / "elsewhere", port)
    assert third.wait(DEADLINE) == 1
    assert f"Port {port} on 127.0.0.1 is already in use" in third.output

    os.killpg(demo.pid, signal.SIGINT)
    assert demo.wait(DEADLINE) == 0
    assert not (tmp_path / "demo-run.json").exists()
