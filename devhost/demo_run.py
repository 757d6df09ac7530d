"""Where a running `make run` is, so that a second one can say so instead of failing.

The launcher writes `demo-run.json` into devhost's state directory once devhost listens
(its URL and the launcher's process ID) and removes it when it stops. A second launcher checks
before starting anything: a state directory locked by a running devhost, or a port already
taken, is explained in a sentence that says where the first demo is and what to do.
"""

from __future__ import annotations

import fcntl
import json
import os
import socket
from pathlib import Path

from devhost.host import LOCK_FILE

RUN_FILE = "demo-run.json"


def record_run(state_dir: Path, base_url: str) -> Path:
    """Write where this demo runs into the state directory; return the file."""
    path = state_dir / RUN_FILE
    path.write_text(json.dumps({"url": base_url, "pid": os.getpid()}), encoding="utf-8")
    return path


def forget_run(state_dir: Path) -> None:
    """Remove the record of this demo (if it is this process's)."""
    path = state_dir / RUN_FILE
    if _recorded(state_dir).get("pid") == os.getpid():
        path.unlink(missing_ok=True)


def _recorded(state_dir: Path) -> dict[str, object]:
    try:
        data = json.loads((state_dir / RUN_FILE).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return {}
    return data if isinstance(data, dict) else {}


def _state_dir_in_use(state_dir: Path) -> bool:
    """Tell whether a devhost holds the state directory's lock right now."""
    try:
        lock = (state_dir / LOCK_FILE).open("a", encoding="utf-8")
    except OSError:
        return False
    with lock:
        try:
            fcntl.flock(lock, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError:
            return True
        fcntl.flock(lock, fcntl.LOCK_UN)
        return False


def _port_taken(host: str, port: int) -> bool:
    if port == 0:
        return False
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    with socket.socket(family, socket.SOCK_STREAM) as probe:
        probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            probe.bind((host, port))
        except OSError:
            return True
    return False


def already_running(state_dir: Path, host: str, port: int) -> str | None:
    """Why this demo cannot start (another one runs, or the port is taken); None if it can."""
    other_port = port + 1 if port else 7072
    beside = (
        f"To run a second demo beside it: .venv/bin/python -m devhost.demo --port {other_port} "
        f"--state-dir {state_dir}-{other_port}"
    )
    if state_dir.is_dir() and _state_dir_in_use(state_dir):
        recorded = _recorded(state_dir)
        url, pid = recorded.get("url"), recorded.get("pid")
        if url:
            return (
                f"The demo is already running at {url} (process {pid}): open {url}/sim/slack/ "
                f"in a browser, or stop it with Ctrl-C in its terminal first.\n{beside}"
            )
        return (
            f"Another devhost is using the state directory {state_dir} (see `ps aux | grep "
            f"devhost`); stop it first.\n{beside}"
        )
    if _port_taken(host, port):
        return (
            f"Port {port} on {host} is already in use by another program, so the demo cannot "
            f"listen there.\nChoose another: .venv/bin/python -m devhost.demo --port {other_port}"
        )
    return None
