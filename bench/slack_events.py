"""Follow the simulators' event log (long poll) and note when each direct message arrives."""

from __future__ import annotations

import threading
import time
from collections import defaultdict
from dataclasses import dataclass
from typing import Any, Self

from devhost.lifecycle import StartStop
from devhost.simulate.client import DevhostClient

POLL_WAIT_SECONDS = 0.5


@dataclass(frozen=True)
class Arrival:
    """A message the simulated Slack received, stamped when the watcher saw it (monotonic)."""

    text: str
    at: float


class SlackEvents(StartStop):
    """A background long poll of ``/sim/events``, waking waiters on every DM and channel post.

    Arrival times are taken when the poll's answer is read here, a little after the simulator
    recorded the message, so latencies ending at an arrival are slight overestimates.
    """

    def __init__(self, base_url: str) -> None:
        """Watch the devhost at ``base_url``; call ``start()``."""
        self._client = DevhostClient(base_url, timeout=60)
        self._cond = threading.Condition()
        self._dms: dict[str, list[Arrival]] = defaultdict(list)
        self._channel_posts: list[Arrival] = []
        self._stopping = threading.Event()
        self._thread: threading.Thread | None = None
        self._since = 0
        self.error: str | None = None

    def start(self) -> Self:
        """Skip the events so far, then follow new ones in a thread."""
        self._since = int(self._client.events()["last_seq"])
        self._thread = threading.Thread(target=self._follow, name="sim-events", daemon=True)
        self._thread.start()
        return self

    def stop(self) -> None:
        """Stop following (within one poll)."""
        self._stopping.set()
        if self._thread is not None:
            self._thread.join(POLL_WAIT_SECONDS * 4 + 5)
        self._client.close()

    def _follow(self) -> None:
        try:
            while not self._stopping.is_set():
                body = self._client.events(self._since, POLL_WAIT_SECONDS)
                now = time.monotonic()
                self._take(body["events"], now)
                self._since = max([self._since, *(int(e["seq"]) for e in body["events"])])
        except Exception as error:
            with self._cond:
                self.error = f"{type(error).__name__}: {error}"
                self._cond.notify_all()

    def _take(self, events: list[dict[str, Any]], now: float) -> None:
        with self._cond:
            for event in events:
                if event.get("kind") != "message":
                    continue
                data = event["data"]
                arrival = Arrival(str(data.get("message", {}).get("text", "")), now)
                if data.get("is_dm"):
                    self._dms[str(data.get("user_id"))].append(arrival)
                elif data.get("channel_name") is not None:
                    self._channel_posts.append(arrival)
            self._cond.notify_all()

    def dm_count(self, user: str) -> int:
        """How many DMs ``user`` has received so far."""
        with self._cond:
            return len(self._dms[user])

    def wait_dm(self, user: str, index: int, timeout: float) -> Arrival | None:
        """Wait for DM number ``index`` (0-based) to ``user``; ``None`` after ``timeout``."""
        with self._cond:
            self._cond.wait_for(
                lambda: len(self._dms[user]) > index or self.error is not None, timeout
            )
            messages = self._dms[user]
            return messages[index] if len(messages) > index else None

    def wait_channel_posts(self, count: int, timeout: float) -> bool:
        """Wait until ``count`` channel posts have arrived in all."""
        with self._cond:
            return (
                self._cond.wait_for(
                    lambda: len(self._channel_posts) >= count or self.error is not None, timeout
                )
                and len(self._channel_posts) >= count
            )

    def channel_posts(self) -> int:
        """How many channel posts have arrived."""
        with self._cond:
            return len(self._channel_posts)
