"""`make run`: Azurite with a demo allowed-users list, then devhost with its simulators.

Everything started here stops with it: Ctrl-C (or SIGTERM) stops devhost, then Azurite.
"""

from __future__ import annotations

import argparse
import os
import signal
import sys
from collections.abc import Sequence
from pathlib import Path
from types import FrameType

from devhost.azurite import Azurite, upload_allowed_users
from devhost.demo_run import already_running, forget_run, record_run
from devhost.host import DEFAULT_HOST, DEFAULT_PORT, DEFAULT_STATE_DIR
from devhost.process import DevhostProcess
from devhost.simulate.cache_flush import DELAY_SETTING
from devhost.simulate.demo_users import (
    ALLOWED_DEMO_USER,
    APPROVER_DEMO_USER,
    DEMO_USERGROUP,
    GROUP_DEMO_USER,
    demo_allowed_users_csv,
)
from devhost.simulate.runtime_settings import approval_summary
from devhost.simulate.settings import APPROVALS_CHANNEL_NAME, demo_settings
from shared import settings
from shared.approval_views import minutes_text

STOP_SECONDS = 10.0
# How long the simulated cache-flush takes to answer, as the real one does (unless set).
FLUSH_SECONDS = "3"


def upload_demo_list(connection_string: str) -> None:
    """Put the demo user and the demo approver on the allowed-users list, where the app looks."""
    container = os.environ.get(settings.ALLOWED_USERS_CONTAINER) or str(
        settings.OPTIONAL_DEFAULTS[settings.ALLOWED_USERS_CONTAINER]
    )
    blob = os.environ.get(settings.ALLOWED_USERS_BLOB) or str(
        settings.OPTIONAL_DEFAULTS[settings.ALLOWED_USERS_BLOB]
    )
    upload_allowed_users(connection_string, container, blob, demo_allowed_users_csv())


def instructions(base_url: str) -> str:
    """What a newcomer types to see a flush succeed, and to see an inline URL error."""
    member_id, name = ALLOWED_DEMO_USER
    approver_id, approver = APPROVER_DEMO_USER
    json_header = "-H 'Content-Type: application/json'"
    where = f'"channel": "{APPROVALS_CHANNEL_NAME}", "ts": "TS"'
    return f"""
The app is running at {base_url}, with simulated Slack and cache-flush.
Open {base_url}/sim/slack/ in a browser to use it as in Slack, or use curl:

  # 1. Type /flush as {name} ({member_id}, on the allowed list): the form opens
  curl -s {base_url}/sim/slack/command {json_header} \\
    -d '{{"user_id": "{member_id}", "user_name": "{name}", "text": "https://www.nhs.uk/conditions/ https://www.nhs.uk/live-well/"}}'

  # 2. Submit the form for staging: the flush runs
  curl -s {base_url}/sim/slack/submit {json_header} \\
    -d '{{"user_id": "{member_id}", "environment": "staging"}}'

  # 3. Read the result, sent as a direct message
  curl -s '{base_url}/sim/slack/messages?user_id={member_id}'

  # An inline URL error: run step 1 again, then submit a URL outside nhs.uk
  curl -s {base_url}/sim/slack/submit {json_header} \\
    -d '{{"user_id": "{member_id}", "environment": "staging", "urls": "https://evilnhs.uk/x"}}'

Production flushes need approval: {approver} ({approver_id}, role approver on the
list) approves them in #{APPROVALS_CHANNEL_NAME}. {GROUP_DEMO_USER[1]} ({GROUP_DEMO_USER[0]})
may flush as a member of the user group {DEMO_USERGROUP}. In the browser, submit for
production, choose {approver} in "You are" and press Approve. With curl:

  # 4. Run step 1 again, then submit for production: the request waits for approval
  curl -s {base_url}/sim/slack/submit {json_header} \\
    -d '{{"user_id": "{member_id}", "environment": "production"}}'

  # 5. Find the request's "ts" in #{APPROVALS_CHANNEL_NAME}, then approve it as {approver}
  curl -s '{base_url}/sim/slack/messages?channel={APPROVALS_CHANNEL_NAME}'
  curl -s {base_url}/sim/slack/click {json_header} \\
    -d '{{"user_id": "{approver_id}", "action_id": "approve_flush", {where}}}'

The app's Home tab lists your recent flushes, each with Flush again (in the browser: "Cache
Flush · Home"). Post a message with links, then run the "Flush links in this message"
shortcut on it (in the browser: "More actions" on the message):

  # 6. Open the Home tab as {name}: Slack sends the app app_home_opened, the app publishes it
  curl -s {base_url}/sim/slack/home/open {json_header} -d '{{"user_id": "{member_id}"}}'

  # 7. Post a message in #general, then run the shortcut on it (its "ts" is in the answer)
  curl -s {base_url}/sim/slack/post {json_header} \\
    -d '{{"user_id": "{member_id}", "text": "Stale: https://www.nhs.uk/conditions/"}}'
  curl -s {base_url}/sim/slack/shortcut {json_header} \\
    -d '{{"user_id": "{member_id}", "channel": "general", "ts": "TS"}}'

Press Ctrl-C to stop.
"""


def approval_text(environ: dict[str, str], base_url: str) -> str:
    """Which environments need approval, where requests go, and when they expire."""
    summary = approval_summary(environ)
    environments = summary["approval_required_environments"]
    if not environments:
        return "Approvals are off: no environment needs one."
    timeout = minutes_text(summary["approval_timeout_minutes"])
    change = """'{"approval_timeout_minutes": 0.5}'"""
    return (
        f"Approval is needed for: {', '.join(environments)}. Requests go to "
        f"#{summary['approval_channel']} and expire if nobody decides within {timeout}.\n"
        f"Change the timeout while the demo runs in the page's Simulate panel, or:\n"
        f"  curl -s {base_url}/sim/settings -H 'Content-Type: application/json' -d {change}"
    )


def _raise_interrupt(signum: int, frame: FrameType | None) -> None:
    raise KeyboardInterrupt


def run(host: str, port: int, state_dir: str) -> int:
    """Start Azurite and devhost, print the demo commands, and wait; return devhost's status."""
    problem = already_running(Path(state_dir), host, port)
    if problem:
        print(problem, file=sys.stderr, flush=True)
        return 1
    for signum in (signal.SIGINT, signal.SIGTERM):
        signal.signal(signum, _raise_interrupt)
    with Azurite() as azurite:
        upload_demo_list(azurite.connection_string)
        print(f"Azurite (blob storage, in memory) on {azurite.blob_endpoint}", flush=True)
        demo = demo_settings(azurite.connection_string)
        environ = {
            DELAY_SETTING: FLUSH_SECONDS,
            **os.environ,
            **{name: value for name, value in demo.items() if value},
        }
        args = ["--simulate", "--host", host, "--port", str(port), "--state-dir", state_dir]
        process = DevhostProcess(args, env=environ, echo=sys.stdout)
        try:
            base_url = process.wait_listening(timeout=None)
            if base_url:
                record_run(Path(state_dir), base_url)
                print(approval_text(environ, base_url), flush=True)
                print(instructions(base_url), flush=True)
            return process.wait()
        except KeyboardInterrupt:
            print("\nStopping devhost and Azurite…", flush=True)
            return 0
        finally:
            process.stop(signal.SIGINT, STOP_SECONDS)
            forget_run(Path(state_dir))


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of `python -m devhost.demo`."""
    parser = argparse.ArgumentParser(
        prog="python -m devhost.demo",
        description="Run the app locally with Azurite, a demo allowed-users list, and "
        "devhost's Slack and cache-flush simulators (what `make run` does).",
    )
    parser.add_argument("--host", default=DEFAULT_HOST)
    parser.add_argument("--port", type=int, default=DEFAULT_PORT)
    parser.add_argument("--state-dir", default=DEFAULT_STATE_DIR)
    args = parser.parse_args(argv)
    return run(args.host, args.port, args.state_dir)


if __name__ == "__main__":
    sys.exit(main())
