"""A person's flushes, read back from the durable instances (no store of its own).

Every query is bounded by an instance ID prefix (`shared.instance_ids`) and a creation time,
so it reads as little with 10,000 past flushes in the task hub as with 10. What the Home tab
shows of a flush comes from its input (`FlushRequest`) and its custom status (the approval
stage while it waits, `Ended` once it has ended).
"""

from __future__ import annotations

import json
import logging
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from enum import Enum
from typing import Any

from azure.durable_functions import DurableOrchestrationClient, OrchestrationRuntimeStatus
from azure.durable_functions.models.DurableOrchestrationStatus import DurableOrchestrationStatus

from shared import instance_ids
from shared.approval import Ended, Stage
from shared.handoffs import FlushRequest

logger = logging.getLogger(__name__)

RECENT_LIMIT = 10
# The most recent flushes are looked for in these windows (days) in turn, within retention,
# until enough are found: one person's last day is a short read even on a busy task hub.
RECENT_WINDOWS_DAYS = (1, 7, 30)
RUNNING = [OrchestrationRuntimeStatus.Running, OrchestrationRuntimeStatus.Pending]
# A little longer than a request can wait, for clocks and starts that lag.
WAIT_MARGIN = timedelta(minutes=5)
FINISHED = [
    OrchestrationRuntimeStatus.Completed,
    OrchestrationRuntimeStatus.Failed,
    OrchestrationRuntimeStatus.Terminated,
]
# Purges start here: before the app existed, so every finished flush is covered.
EARLIEST = datetime(2020, 1, 1, tzinfo=UTC)


class State(Enum):
    """Where a flush stands, as the Home tab words it."""

    WAITING = "waiting for approval"
    RUNNING = "in progress"
    FLUSHED = "flushed"
    FAILED = "failed"
    REJECTED = "rejected"
    CANCELLED = "cancelled"
    EXPIRED = "expired without a decision"
    NOT_ALLOWED = "approved, but no longer allowed"
    REQUEST_FAILED = "approval request could not be posted"
    STOPPED = "stopped before it finished"


_ENDED = {
    Stage.FLUSHED: State.FLUSHED,
    Stage.FLUSH_FAILED: State.FAILED,
    Stage.REJECTED: State.REJECTED,
    Stage.CANCELLED: State.CANCELLED,
    Stage.EXPIRED: State.EXPIRED,
    Stage.NOT_ALLOWED: State.NOT_ALLOWED,
    Stage.REQUEST_FAILED: State.REQUEST_FAILED,
}


@dataclass(frozen=True)
class Flush:
    """One flush as its owner (or an approver) sees it in the Home tab.

    `ended` is how it ended (its purge ID, who decided), None while it has not.
    """

    instance_id: str
    created: datetime
    request: FlushRequest
    state: State
    ended: Ended | None = None

    @property
    def waiting(self) -> bool:
        """Whether the flush still waits for an approver's decision."""
        return self.state is State.WAITING


def json_value(value: Any) -> Any:
    """A status field that the extension may hand over as JSON text, decoded."""
    if isinstance(value, str):
        try:
            return json.loads(value)
        except ValueError:
            return None
    return value


def _state(runtime: OrchestrationRuntimeStatus | None, custom: Any, ended: Ended | None) -> State:
    """The state of an instance from its runtime status, custom status and ending."""
    if ended is not None:
        return _ENDED.get(ended.stage, State.STOPPED)
    if runtime in RUNNING:
        return (
            State.WAITING if Stage.of_status(custom) is Stage.AWAITING_APPROVAL else State.RUNNING
        )
    return State.STOPPED


def request_of(status: DurableOrchestrationStatus) -> FlushRequest | None:
    """The flush request an instance was started with, or None if its input is not one."""
    try:
        return FlushRequest.from_dict(json_value(status.input_))
    except (KeyError, TypeError, ValueError, AttributeError):
        return None


def flush_of(status: DurableOrchestrationStatus) -> Flush | None:
    """The flush an instance status shows, or None when it is not a flush this app started."""
    instance, created = status.instance_id, status.created_time
    if not instance or not instance_ids.is_instance_id(instance) or created is None:
        return None
    request = request_of(status)
    if request is None:
        logger.warning("The input of %s is not a flush request", instance)
        return None
    custom = json_value(status.custom_status)
    ended = Ended.of_status(custom)
    return Flush(
        instance_id=instance,
        created=created,
        request=request,
        state=_state(status.runtime_status, custom, ended),
        ended=ended,
    )


def _flushes(statuses: Iterable[DurableOrchestrationStatus]) -> list[Flush]:
    """The flushes among the statuses, newest first."""
    found = [flush for flush in map(flush_of, statuses) if flush is not None]
    return sorted(found, key=lambda flush: flush.created, reverse=True)


@dataclass(frozen=True)
class History:
    """How far back the Home tab looks: the retention period, and how long requests wait."""

    retention: timedelta
    longest_wait: timedelta

    @classmethod
    def of(cls, retention_days: float, approval_timeout_minutes: float) -> History:
        """From the settings' retention period and approval timeout."""
        wait = timedelta(minutes=approval_timeout_minutes) + WAIT_MARGIN
        return cls(timedelta(days=retention_days), wait)

    def windows(self) -> list[timedelta]:
        """The windows to look in for recent flushes, shortest first, ending at retention."""
        shorter = [timedelta(days=days) for days in RECENT_WINDOWS_DAYS]
        return [window for window in shorter if window < self.retention] + [self.retention]


async def recent_flushes(
    client: DurableOrchestrationClient,
    history: History,
    team_id: str,
    user_id: str,
    now: datetime,
) -> list[Flush]:
    """The person's own flushes that no longer wait for approval, newest first, at most 10.

    Each window reads only what the shorter one before it did not, and the reads stop once
    10 are found.
    """
    prefix = instance_ids.user_prefix(team_id, user_id)
    found: list[Flush] = []
    newer_than: timedelta | None = None
    for window in history.windows():
        statuses = await client.get_status_by(
            created_time_from=now - window,
            created_time_to=None if newer_than is None else now - newer_than,
            instance_id_prefix=prefix,
        )
        seen = {flush.instance_id for flush in found}
        found += [f for f in _flushes(statuses) if not f.waiting and f.instance_id not in seen]
        if len(found) >= RECENT_LIMIT:
            break
        newer_than = window
    return found[:RECENT_LIMIT]


async def waiting_flushes(
    client: DurableOrchestrationClient,
    history: History,
    prefix: str,
    now: datetime,
) -> list[Flush]:
    """Flushes under the instance ID prefix that wait for approval, newest first.

    Only requests that can still be waiting are read: created within the longest wait.
    """
    statuses = await client.get_status_by(
        created_time_from=now - history.longest_wait,
        runtime_status=RUNNING,
        instance_id_prefix=prefix,
    )
    return [flush for flush in _flushes(statuses) if flush.waiting]


async def purge_finished(
    client: DurableOrchestrationClient, retention: timedelta, now: datetime
) -> int:
    """Purge the flushes that ended before the retention period; how many were purged."""
    result = await client.purge_instance_history_by(
        created_time_from=EARLIEST,
        created_time_to=now - retention,
        runtime_status=FINISHED,
    )
    return int(result.instances_deleted)
