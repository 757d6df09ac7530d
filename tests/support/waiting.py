"""Waiting in tests on a condition, never for a fixed time (one implementation, shared with
the devhost client: ``devhost.simulate.client.wait_until``)."""

from __future__ import annotations

from devhost.simulate.client import DEADLINE_SECONDS, POLL_SECONDS, wait_until

__all__ = ["DEADLINE_SECONDS", "POLL_SECONDS", "wait_until"]
