"""A stand-in for the cache-flush function app (its contract is in doc/behaviour.md)."""

from __future__ import annotations

import threading
from collections import deque
from typing import Any

from devhost.simulate.cache_flush import accepted, akamai_error, check_request, key_accepted
from devhost.standins.recording import RecordedRequest
from devhost.standins.stub_server import Reply, ScriptedStubServer

PATH = "/api/cache-flush"


class CacheFlushStub(ScriptedStubServer):
    """Answers ``POST /api/cache-flush`` as devhost's simulator does, recording every request.

    The function key, the body and its URLs are checked by the simulator's model of the
    service (`devhost.simulate.cache_flush`), answered with the service's statuses and texts;
    a valid request gets the 201 "Request accepted" answer, or the Akamai error queued with
    ``akamai``, passed through as the service does. Scripted one-shot replies (``reply``) or a
    standing one (``always``) come after the key check and before the model.
    """

    def __init__(self, key: str) -> None:
        """Create the stand-in expecting function key ``key``; ``start()`` binds it."""
        super().__init__("cache-flush")
        self.key = key
        self._lock = threading.Lock()
        self._akamai: deque[int] = deque()

    @property
    def url(self) -> str:
        """The full URL with its ``code``, as configured in the app's environment."""
        return f"{self.origin}{PATH}?code={self.key}"

    def akamai(self, *statuses: int) -> None:
        """Make Akamai answer the next valid requests with these error statuses, in order.

        cache-flush passes Akamai's problem document (``title``, ``detail``, ``httpStatus``)
        through with its status and the URLs, and no headers of Akamai's.
        """
        with self._lock:
            self._akamai.extend(statuses)

    def clear(self) -> None:
        """Forget recorded requests, scripted replies and queued Akamai errors."""
        with self._lock:
            self._akamai.clear()
        super().clear()

    def key_sent(self, request: RecordedRequest) -> bool:
        """Whether ``request`` carried the right key (query or header), compared silently."""
        return key_accepted(self.key, request.query.get("code"), request.header("x-functions-key"))

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
        refusal, urls = check_request(body)
        if refusal is not None:
            status, answer = refusal
            return Reply(status=status, json=answer)
        with self._lock:
            error = self._akamai.popleft() if self._akamai else None
        status, answer = accepted(urls) if error is None else akamai_error(error, urls)
        return Reply(status=status, json=answer)
