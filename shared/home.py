"""Publishing a person's Home tab: read their flushes and their access, then `views.publish`.

The Home tab is published when the person opens it (the Events endpoint), when one of their
flushes ends (the orchestrator's last activity) and after a decision made on it. Everything
is read at once, within the request's deadline; a part that cannot be read in time is shown
as such rather than holding the tab back. Nobody sees another person's flushes, except an
approver, who sees the requests waiting for their decision.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Collection
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, TypeVar

from azure.durable_functions import DurableOrchestrationClient

from shared import access, history, instance_ids
from shared.deadline import Deadline, run_within
from shared.history import Flush, History
from shared.home_views import HomeContent, home_view
from shared.orchestration import short_error
from shared.settings import Settings
from shared.slack_api import (
    CALL_ERRORS_WITHIN_DEADLINE,
    error_code,
    web_client,
)
from shared.slack_http import INTERACTIVE_MAX_RETRY_AFTER_SECONDS

logger = logging.getLogger(__name__)

# Kept back from the reads for `views.publish`.
PUBLISH_RESERVE_SECONDS = 0.6

ResultT = TypeVar("ResultT")


@dataclass(frozen=True)
class _Reader:
    """One Home tab's reads: whose, in which workspace, as of when, how far back, by when."""

    settings: Settings
    client: DurableOrchestrationClient
    team_id: str
    user_id: str
    now: datetime
    span: History
    deadline: Deadline

    def check(self, permission: access.Permission) -> Awaitable[access.Access]:
        return asyncio.to_thread(
            access.check, self.settings, self.user_id, permission, self.deadline
        )

    async def recent(self) -> list[Flush]:
        return await history.recent_flushes(
            self.client, self.span, self.team_id, self.user_id, self.now
        )

    async def waiting(self) -> list[Flush]:
        """Every request of the workspace still waiting for a decision (none without approvals).

        One read serves both the person's own pending requests and those they may decide.
        """
        if not self.settings.approval_required_environments:
            return []
        prefix = instance_ids.team_prefix(self.team_id)
        return await history.waiting_flushes(self.client, self.span, prefix, self.now)

    async def may_approve(self) -> bool:
        if not self.settings.approval_required_environments:
            return False
        return await self.check(access.Permission.APPROVE) is access.Access.GRANTED

    async def content(self, settled: Collection[str]) -> HomeContent:
        """What the person's Home tab shows now; `settled` requests are no longer listed."""
        seconds = self.deadline.remaining()
        may_flush, recent, waiting, may_approve = await asyncio.gather(
            _within(seconds, self.check(access.Permission.FLUSH)),
            _within(seconds, self.recent()),
            _within(seconds, self.waiting()),
            _within(seconds, self.may_approve()),
        )
        open_requests = [f for f in waiting or [] if f.instance_id not in settled]
        known = may_flush is not None and may_flush is not access.Access.UNAVAILABLE
        mine = [f for f in open_requests if f.request.user_id == self.user_id]
        others = [f for f in open_requests if f.request.user_id != self.user_id]
        return HomeContent(
            user_id=self.user_id,
            may_flush=may_flush is access.Access.GRANTED if known else None,
            recent=recent,
            pending=mine,
            to_decide=others if may_approve else [],
            retention_days=self.settings.history_retention_days,
            access_hint=self.settings.access_request_hint,
            contact=self.settings.support_contact,
        )


async def _within(seconds: float, work: Awaitable[ResultT]) -> ResultT | None:
    """The work's result, or None (logged) when it fails or is not done in time."""
    try:
        return await asyncio.wait_for(work, max(seconds, 0.0))
    except Exception as error:  # whatever a read raises (HTTP, JSON, the extension's answer)
        logger.warning("Part of the Home tab could not be read: %s", short_error(error))
        return None


def publish(settings: Settings, user_id: str, view: dict[str, Any], deadline: Deadline) -> bool:
    """`views.publish` the view as the person's Home tab by the deadline; True if it was."""
    client = web_client(
        settings,
        deadline.call_timeout(),
        max_retry_after_seconds=INTERACTIVE_MAX_RETRY_AFTER_SECONDS,
        deadline=deadline,
    )
    try:
        run_within(deadline, lambda: client.views_publish(user_id=user_id, view=view))
    except CALL_ERRORS_WITHIN_DEADLINE as error:
        logger.warning("Could not publish the Home tab of %s: %s", user_id, error_code(error))
        return False
    return True


async def publish_home(
    settings: Settings,
    client: DurableOrchestrationClient,
    team_id: str,
    user_id: str,
    deadline: Deadline,
    *,
    settled: Collection[str] = (),
) -> bool:
    """Read and publish the person's Home tab by the deadline; True if it was published.

    `settled` requests are no longer listed.
    """
    span = History.of(settings.history_retention_days, settings.approval_timeout_minutes)
    reads_by = deadline.earlier_by(PUBLISH_RESERVE_SECONDS)
    reader = _Reader(settings, client, team_id, user_id, datetime.now(UTC), span, reads_by)
    content = await reader.content(settled)
    return await asyncio.to_thread(publish, settings, user_id, home_view(content), deadline)
