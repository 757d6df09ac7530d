"""One slash command on a cold interpreter: ``python -m bench.cold_child`` (JSON on stdin).

The Python worker has ``azure.functions`` loaded before it loads any function, so it is
imported first; the clock starts when the request reaches the app, which on a cold worker
means importing ``slash_start`` and then calling it. Only standard-library modules are loaded
before that, so nothing of the app is warm. With ``audit`` set, every module import and
socket connection is recorded with its time, to show what happened before ``views.open``.
"""

from __future__ import annotations

import http.client
import importlib
import json
import sys
import time
from typing import Any

import azure.functions as func

BASELINE_PATH = "/api/bench.imported"


def _recorder(events: list[tuple[str, str, float]]) -> Any:
    def hook(event: str, args: tuple[Any, ...]) -> None:
        if event == "import":
            events.append(("import", str(args[0]), time.monotonic()))
        elif event == "socket.connect":
            address = args[1]
            port = address[1] if isinstance(address, tuple) and len(address) > 1 else 0
            events.append(("connect", str(port), time.monotonic()))

    return hook


def _call_once(port: int) -> None:
    """The baseline's end: one call to the stand-in, as the command's end is ``views.open``."""
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=5)
    connection.request("POST", BASELINE_PATH)
    connection.getresponse().read()
    connection.close()


def main() -> None:
    """Read the signed request, run the slash command once, print the timestamps as JSON.

    With ``baseline_port``, the child is the pair's baseline instead: it has imported
    ``azure.functions`` and everything else this harness needs, and only calls the stand-in.
    """
    request = json.loads(sys.stdin.read())
    if "baseline_port" in request:
        _call_once(request["baseline_port"])
        return
    events: list[tuple[str, str, float]] = []
    if request.get("audit"):
        sys.addaudithook(_recorder(events))
    started = time.monotonic()
    module = importlib.import_module("slash_start")
    imported = time.monotonic()
    http_request = func.HttpRequest(
        "POST",
        request["url"],
        headers=request["headers"],
        body=request["body"].encode("utf-8"),
    )
    response = module.main(http_request)
    finished = time.monotonic()
    result = {
        "started": started,
        "imported": imported,
        "finished": finished,
        "status": response.status_code,
        "events": events,
    }
    print(json.dumps(result))


if __name__ == "__main__":
    main()
