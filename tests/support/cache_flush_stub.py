"""A stand-in for the cache-flush function app (its contract is in doc/behaviour.md)."""

from __future__ import annotations

import hmac
import itertools
import threading
from typing import Any

from devhost.standins.recording import RecordedRequest
from devhost.standins.stub_server import Reply, ScriptedStubServer

PATH = "/api/cache-flush"
ENVIRONMENTS = ("staging", "production")


class CacheFlushStub(ScriptedStubServer):
    """Answers ``POST /api/cache-flush`` like the real function app, recording every request.

    The function key is checked as Azure Functions does (``code`` query parameter or
    ``x-functions-key`` header; 401 with an empty body otherwise). A valid request gets the
    201 "Request accepted" answer; a body the real API would reject gets its 400 answer.
    Scripted one-shot replies (``reply``) or a standing one (``always``) take precedence.
    """

    def __init__(self, key: str) -> None:
        """Create the stand-in expecting function key ``key``; ``start()`` binds it."""
        super().__init__("cache-flush")
        self.key = key
        self._ids = itertools.count(1)
        self._ids_lock = threading.Lock()

    @property
    def url(self) -> str:
        """The full URL with its ``code``, as configured in the app's environment."""
        return f"{self.origin}{PATH}?code={self.key}"

    def key_sent(self, request: RecordedRequest) -> bool:
        """Whether ``request`` carried the right key (header or query), compared silently."""
        return any(
            candidate is not None and hmac.compare_digest(candidate.encode(), self.key.encode())
            for candidate in (request.header("x-functions-key"), request.query.get("code"))
        )

    def handle(self, request: RecordedRequest) -> Reply:
        """Play a scripted reply, or answer as the real cache-flush function would."""
        if request.path != PATH:
            return Reply(status=404)
        if not self.key_sent(request):
            return Reply(status=401)
        scripted = self.scripted()
        if scripted is not None:
            return scripted
        if request.method != "POST":
            return Reply(status=404)
        return self._real_answer(request.json)

    def _real_answer(self, body: Any) -> Reply:
        if not isinstance(body, dict):
            return Reply(status=400, json={"message": "Request body must be a JSON object."})
        missing = [name for name in ("environment", "objects") if name not in body]
        if missing:
            return Reply(
                status=400, json={"message": f"Missing required properties: {', '.join(missing)}."}
            )
        if body["environment"] not in ENVIRONMENTS:
            return Reply(
                status=400,
                json={"message": f"Environment must be one of: {', '.join(ENVIRONMENTS)}."},
            )
        objects = body["objects"]
        if not isinstance(objects, list) or not objects:
            return Reply(status=400, json={"message": "objects must be a non-empty list of URLs."})
        with self._ids_lock:
            n = next(self._ids)
        return Reply(
            status=201,
            json={
                "detail": "Request accepted",
                "estimatedSeconds": 5,
                "httpStatus": 201,
                "purgeId": f"edcp-{n:04d}-a1b2c3d4",
                "supportId": f"17PY{n:04d}ABCDEF",
                "urls": list(dict.fromkeys(str(o).strip() for o in objects)),
            },
        )
