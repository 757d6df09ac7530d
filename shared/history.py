"""A person's flushes, read back from the durable instances (no store of its own).

Every query is bounded by an instance ID prefix (`shared.instance_ids`) and a creation time,
so it reads as little with 10,000 past flushes in the task hub as with 10. What the Home tab
shows of a flush comes from its input (`FlushRequest`) and its custom status (the approval
stage while it waits, `Ended` once it has ended).

The Durable extension answers an instance query a page at a time (`top`, 100 by default),
in instance ID order rather than by creation time, and names the next page in the
`x-ms-continuation-token` header. The SDK's `get_status_by` reads the first page only, so
the queries here go to the same HTTP API the client uses (the binding's `rpcBaseUrl`) and
follow the token. The newest flushes of a window holding more than a page are found by
splitting the window, newest half first, so a busy person's tab stays a few short reads.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from enum import Enum
from typing import Any

import aiohttp
from azure.durable_functions import DurableOrchestrationClient, OrchestrationRuntimeStatus
from azure.durable_functions.constants import DATETIME_STRING_FORMAT
from azure.durable_functions.models.DurableOrchestrationStatus import DurableOrchestrationStatus

from shared import instance_ids
from shared.approval import Ended, Stage
from shared.errors import AppError
from shared.handoffs import FlushRequest

logger = logging.getLogger(__name__)

RECENT_LIMIT = 10
# The most recent flushes are looked for in these windows (days) in turn, within retention,
# until enough are found: one person's last day is a short read even on a busy task hub.
RECENT_WINDOWS_DAYS = (1, 7, 30)
# Instances asked for per page; the extension's default, so a full page means more to read.
PAGE_SIZE = 100
# Names the next page, in the extension's answer and in the request for that page.
CONTINUATION_HEADER = "x-ms-continuation-token"
# A window holding more than a page is halved down to this span, then read page by page.
SHORTEST_SPLIT = timedelta(minutes=1)
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


class QueryError(AppError):
    """The Durable extension did not answer an instance query with a page of instances."""


@dataclass(frozen=True)
class _Span:
    """Instances created from `start` to `end` (both inclusive); no `end` is up to now."""

    start: datetime
    end: datetime | None

    def halves(self, now: datetime) -> tuple[_Span, _Span] | None:
        """The newer and the older half, or None when the span is too short to split."""
        end = now if self.end is None else self.end
        if end - self.start <= SHORTEST_SPLIT:
            return None
        middle = self.start + (end - self.start) / 2
        return _Span(middle, self.end), _Span(self.start, middle)


class _Instances:
    """Queries for the instances under an ID prefix to the extension's HTTP API."""

    def __init__(
        self, client: DurableOrchestrationClient, session: aiohttp.ClientSession, prefix: str
    ) -> None:
        # The binding's rpcBaseUrl, which the client's own queries use; the SDK keeps it on
        # the binding it parsed and offers no paged query of its own.
        base = client._orchestration_bindings.rpc_base_url
        if not base:
            raise QueryError("The durable client binding has no rpcBaseUrl")
        self._url = f"{base}instances"
        self._session = session
        self._prefix = prefix

    async def page(
        self,
        span: _Span,
        statuses: Iterable[OrchestrationRuntimeStatus] = (),
        token: str | None = None,
    ) -> tuple[list[DurableOrchestrationStatus], str | None]:
        """One page of the instances that match, and the token of the next page if any."""
        params = {
            "instanceIdPrefix": self._prefix,
            "createdTimeFrom": span.start.strftime(DATETIME_STRING_FORMAT),
            "top": str(PAGE_SIZE),
        }
        if span.end is not None:
            params["createdTimeTo"] = span.end.strftime(DATETIME_STRING_FORMAT)
        wanted = ",".join(status.value for status in statuses)
        if wanted:
            params["runtimeStatus"] = wanted
        headers = {CONTINUATION_HEADER: token} if token else {}
        async with self._session.get(self._url, params=params, headers=headers) as response:
            if response.status != 200:
                raise QueryError(f"The instance query answered HTTP {response.status}")
            body = await response.json(content_type=None)
            following = response.headers.get(CONTINUATION_HEADER) or None
        if not isinstance(body, list):
            raise QueryError("The instance query did not answer a list")
        return [DurableOrchestrationStatus.from_json(item) for item in body], following

    async def every(
        self,
        span: _Span,
        statuses: Iterable[OrchestrationRuntimeStatus] = (),
        first: tuple[list[DurableOrchestrationStatus], str | None] | None = None,
    ) -> list[DurableOrchestrationStatus]:
        """Every instance that matches, page after page; `first` is a page already read."""
        found, token = first or await self.page(span, statuses)
        while token:
            more, token = await self.page(span, statuses, token)
            found += more
        return found


async def _newest_ended(
    instances: _Instances,
    span: _Span,
    now: datetime,
    wanted: int,
    known: frozenset[str],
) -> list[Flush]:
    """Up to `wanted` of the newest flushes in the span that no longer wait, newest first.

    The `known` ones are left out.

    A span whose first page is full and names a next one is split: its newer half is read
    first, and the older half only when the newer does not hold enough. A short page with a
    token (the extension may stop a query early) is followed page by page instead, so a
    person with few flushes never sets off a cascade of splits.
    """
    first = await instances.page(span)
    full = len(first[0]) >= PAGE_SIZE and first[1] is not None
    halves = span.halves(now) if full else None
    if halves is None:
        statuses = await instances.every(span, first=first)
        found = [f for f in _flushes(statuses) if not f.waiting and f.instance_id not in known]
        return found[:wanted]
    newer, older = halves
    found = await _newest_ended(instances, newer, now, wanted, known)
    if len(found) < wanted:
        known = known | {flush.instance_id for flush in found}
        found += await _newest_ended(instances, older, now, wanted - len(found), known)
    return found


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
    async with aiohttp.ClientSession() as session:
        instances = _Instances(client, session, prefix)
        for window in history.windows():
            span = _Span(now - window, None if newer_than is None else now - newer_than)
            known = frozenset(flush.instance_id for flush in found)
            wanted = RECENT_LIMIT - len(found)
            found += await _newest_ended(instances, span, now, wanted, known)
            if len(found) >= RECENT_LIMIT:
                break
            newer_than = window
    return found


async def waiting_flushes(
    client: DurableOrchestrationClient,
    history: History,
    prefix: str,
    now: datetime,
) -> list[Flush]:
    """Flushes under the instance ID prefix that wait for approval, newest first.

    Only requests that can still be waiting are read: created within the longest wait.
    """
    async with aiohttp.ClientSession() as session:
        statuses = await _Instances(client, session, prefix).every(
            _Span(now - history.longest_wait, None), RUNNING
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
