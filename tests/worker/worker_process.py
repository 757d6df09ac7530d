"""Microsoft's Python worker in a Python 3.13 subprocess, driven as the Functions host does.

``.venv-worker`` (``make worker-venv``) holds Python 3.13 with the app's requirements and
Microsoft's worker runtime; ``load_with_worker.py`` runs in it and speaks JSON lines: this
module starts it, reads what the worker answered to the app's loading, and sends invocations
whose data is shaped as the host sends it.
"""

from __future__ import annotations

import base64
import json
import os
import subprocess
from collections.abc import Mapping
from pathlib import Path
from typing import IO, Any
from urllib.parse import urlencode

import pytest

ROOT = Path(__file__).resolve().parents[2]
WORKER_VENV = ROOT / ".venv-worker"
WORKER_PYTHON = WORKER_VENV / "bin" / "python"
DRIVER = Path(__file__).with_name("load_with_worker.py")
HOST_ORIGIN = "http://localhost:7071"
FUNCTION_KEY = "test-host-function-key"
SLACK_USER_AGENT = "Slackbot 1.0 (+https://api.slack.com/robots)"
# Generous bound for one answer: loading imports the whole app (a second or two).
ANSWER_TIMEOUT_SECONDS = 60

needs_worker_venv = pytest.mark.skipif(
    not WORKER_VENV.is_dir(),
    reason=(
        ".venv-worker is missing (it needs Python 3.13): `make worker-venv` builds it, so that "
        "Microsoft's Python worker loads and runs every function"
    ),
)


def function_names(app_dir: Path = ROOT) -> set[str]:
    """Every function of the app: the folders holding a function.json."""
    return {config.parent.name for config in app_dir.glob("*/function.json")}


def typed_value(data: Mapping[str, Any] | None) -> Any:
    """The value of a TypedData in its protobuf JSON form (None when nothing is set)."""
    if not data:
        return None
    [(kind, value)] = data.items()
    if kind in ("bytes", "stream"):
        return base64.b64decode(value)
    if kind == "json":
        return json.loads(value)
    return value


def http_body(data: Mapping[str, Any]) -> bytes:
    """An RpcHttp body as bytes, whichever TypedData the worker chose for it."""
    value = typed_value(data.get("body"))
    if value is None:
        return b""
    return value if isinstance(value, bytes) else str(value).encode("utf-8")


def http_trigger(name: str, route: str, body: bytes, headers: Mapping[str, str]) -> dict[str, Any]:
    """The httpTrigger binding the host sends for a POST of ``body`` to ``/api/<route>``.

    Header names arrive lower-cased; with the function key in the query (authLevel
    function). A form body comes as a string, and raw as bytes (the worker asks for
    ``RawHttpBodyBytes``).
    """
    query = {"code": FUNCTION_KEY}
    sent = {
        "host": HOST_ORIGIN.split("://", 1)[1],
        "user-agent": SLACK_USER_AGENT,
        "accept": "application/json,*/*",
        "accept-encoding": "gzip,deflate",
        "content-length": str(len(body)),
        **{key.lower(): value for key, value in headers.items()},
    }
    return {
        "name": name,
        "data": {
            "http": {
                "method": "POST",
                "url": f"{HOST_ORIGIN}/api/{route}?{urlencode(query)}",
                "headers": sent,
                "query": query,
                "params": {},
                "body": {"string": body.decode("utf-8")},
                "rawBody": {"bytes": base64.b64encode(body).decode("ascii")},
            }
        },
    }


def string_binding(name: str, value: str) -> dict[str, Any]:
    """A binding whose data is a string (the durable client, the Durable triggers' payloads)."""
    return {"name": name, "data": {"string": value}}


def json_binding(name: str, value: Any) -> dict[str, Any]:
    """A binding whose data is JSON (the timer trigger's schedule status)."""
    return {"name": name, "data": {"json": json.dumps(value)}}


class WorkerProcess:
    """The driver in ``.venv-worker``, loading the app in ``app_dir`` with ``env`` as settings.

    ``loads`` maps each function to the worker's answer to its function_load_request.
    """

    def __init__(self, app_dir: Path, env: Mapping[str, str], stderr_path: Path) -> None:
        """Start the worker and wait for it to have loaded every function."""
        environment = {k: v for k, v in env.items() if k not in ("PYTHONPATH", "PYTHONHOME")}
        self._stderr: IO[bytes] = stderr_path.open("wb")
        self._stderr_path = stderr_path
        self._process = subprocess.Popen(  # noqa: S603 - a fixed command: the driver
            [str(WORKER_PYTHON), str(DRIVER), str(app_dir)],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=self._stderr,
            env=environment,
            cwd=app_dir,
            text=True,
        )
        started = self._read()
        assert started["init"]["status"] == "Success", started["init"]
        self.loads: dict[str, dict[str, Any]] = started["loads"]

    def _read(self) -> dict[str, Any]:
        assert self._process.stdout is not None
        line = self._process.stdout.readline()
        if not line:
            self._process.wait(timeout=ANSWER_TIMEOUT_SECONDS)
            raise AssertionError(
                f"the worker stopped (exit {self._process.returncode}):\n{self.stderr()}"
            )
        answer: dict[str, Any] = json.loads(line)
        return answer

    def stderr(self) -> str:
        """What the worker and the app wrote to stderr so far (their logs)."""
        if not self._stderr.closed:
            self._stderr.flush()
        return self._stderr_path.read_text(encoding="utf-8", errors="replace")

    def invoke(self, function: str, *input_data: Mapping[str, Any]) -> dict[str, Any]:
        """Invoke ``function`` with ``input_data``; return the worker's InvocationResponse.

        Fails unless the invocation succeeded.
        """
        assert self._process.stdin is not None
        request = {"function": function, "input_data": list(input_data)}
        self._process.stdin.write(json.dumps(request) + "\n")
        self._process.stdin.flush()
        response = self._read()
        assert response["result"]["status"] == "Success", (
            f"{function}: {response['result']['exception']}\n{self.stderr()}"
        )
        return response

    def close(self) -> None:
        """End the worker (EOF on its input) and check that it exited cleanly."""
        assert self._process.stdin is not None
        self._process.stdin.close()
        code = self._process.wait(timeout=ANSWER_TIMEOUT_SECONDS)
        self._stderr.close()
        assert code == 0, f"the worker exited with {code}:\n{self.stderr()}"

    def __enter__(self) -> WorkerProcess:
        """Use as a context manager: the worker is closed on exit."""
        return self

    def __exit__(self, *exc: object) -> None:
        """Close the worker; kill it if it does not stop."""
        try:
            if exc[0] is None:
                self.close()
        finally:
            if self._process.poll() is None:
                self._process.kill()
                self._process.wait()
            if self._process.stdout is not None:
                self._process.stdout.close()
            if not self._stderr.closed:
                self._stderr.close()


def worker_env() -> dict[str, str]:
    """The settings the worker gets: this process's environment (the app_env fixture's)."""
    return dict(os.environ)
