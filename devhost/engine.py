"""The orchestration engine: the extension's part of Durable Functions, for one process.

Orchestrators run through azure-functions-durable's own replay engine: each *episode* sends
the orchestrator the context JSON (history so far plus the new events), reads back the state
JSON (``actions``, ``isDone``, ``output``, ``customStatus``) and appends what the extension
would append (``TaskScheduled``, ``TimerCreated``, ``ExecutionCompleted``, ...).

Event IDs follow the SDK's sequence numbers. The SDK numbers a task when it first sees it:
new actions in emission order, a retry timer while replaying the ``TaskFailed`` it follows,
a retried attempt while replaying the ``TimerFired`` before it. The engine therefore feeds
the orchestrator exactly one new event per episode and numbers, in order, the retry work that
event causes and then the new actions, which reproduces the SDK's numbering for any
interleaving of completions.

Every delivered event is first persisted in the inbox; an episode's history, the instance
row and the removal of its inbox event commit in one transaction, and side effects (starting
activities, arming timers) happen only after that commit.
"""

from __future__ import annotations

import asyncio
import json
import logging
from collections import deque
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime, timedelta
from typing import Any

from azure.durable_functions.models.actions.ActionType import ActionType
from azure.durable_functions.models.history.HistoryEventType import HistoryEventType

from devhost.config import NON_RUNNING_STATES, TimerLimits, format_timespan
from devhost.functions import DURABLE_CLIENT, LoadedFunction
from devhost.invocation import (
    DURABLE_REASON,
    Invoker,
    decode_activity_input,
    durable_client_value,
    encode_activity_output,
    orchestration_context,
    orchestrator_state,
    user_traceback,
)
from devhost.store import InstanceQuery, InstanceRecord, Store

PENDING = "Pending"
RUNNING = "Running"
COMPLETED = "Completed"
FAILED = "Failed"
TERMINATED = "Terminated"
ACTIVE_STATUSES = (PENDING, RUNNING)
ALL_STATUSES = (PENDING, RUNNING, COMPLETED, FAILED, TERMINATED)
# Statuses the extension counts as running (devhost itself only reaches Pending and Running):
# NonRunningStates refuses to replace them, and their status reads answer 202.
RUNNING_STATUSES = (PENDING, RUNNING, "ContinuedAsNew", "Suspended")
# Every runtime status the extension names, as a list filter accepts them.
EXTENSION_STATUSES = (*ALL_STATUSES, "ContinuedAsNew", "Suspended", "Canceled")

# The extension announces replay schema V2 in ``upperSchemaVersion`` (older SDKs stop there)
# and V3 in ``upperSchemaVersionNew``: azure-functions-durable then replays with V3.
UPPER_SCHEMA_VERSION = 1
UPPER_SCHEMA_VERSION_NEW = 2
_SCHEMA_NAMES = {0: "Original", 1: "V2", 2: "V3"}
# The extension's default for the HTTP polling interval (``call_http``, which devhost refuses).
DEFAULT_HTTP_ASYNC_SLEEP_MILLISECONDS = 30000
_OUT_OF_PROC_MARKER = "\n\n$OutOfProcData$:"
_SUPPORTED_ACTIONS = frozenset(
    {
        ActionType.CALL_ACTIVITY,
        ActionType.CALL_ACTIVITY_WITH_RETRY,
        ActionType.CREATE_TIMER,
        ActionType.WAIT_FOR_EXTERNAL_EVENT,
    }
)

log = logging.getLogger("devhost")


class InstanceExistsError(Exception):
    """Starting would replace an instance that host.json says must not be replaced."""


class UnknownOrchestratorError(Exception):
    """No orchestrator function has that name."""

    @classmethod
    def named(cls, name: str) -> UnknownOrchestratorError:
        """The error for a start of ``name``, worded as the extension words it."""
        return cls(
            f"The function '{name}' doesn't exist, is disabled, or is not an orchestrator function."
        )


def utc_now() -> datetime:
    """Return the current time, timezone-aware UTC."""
    return datetime.now(UTC)


def format_timestamp(moment: datetime) -> str:
    """Format a time the way the SDK writes and parses them."""
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def parse_timestamp(text: str) -> datetime:
    """Parse an ISO-8601 time; a time without zone is taken as UTC."""
    moment = datetime.fromisoformat(text)
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


def start_refusal(existing: InstanceRecord | None, overridable_states: str) -> str | None:
    """Why a start over ``existing`` is refused under ``overridableExistingInstanceStates``.

    ``None`` when the start may create or replace the instance.
    """
    if existing is None or overridable_states != NON_RUNNING_STATES:
        return None
    if existing.runtime_status not in RUNNING_STATUSES:
        return None
    return f"An Orchestration instance with the status {existing.runtime_status} already exists."


def execution_started(record: InstanceRecord) -> dict[str, Any]:
    """The ``ExecutionStarted`` event that begins ``record``'s execution."""
    return _event(
        HistoryEventType.EXECUTION_STARTED,
        record.created_time,
        Name=record.name,
        Version="",
        Input=record.input,
        OrchestrationInstance={
            "InstanceId": record.instance_id,
            "ExecutionId": record.execution_id,
        },
    )


def event_raised(event_name: str, input_json: str | None) -> dict[str, Any]:
    """The ``EventRaised`` event that delivers an external event to an instance."""
    return _event(
        HistoryEventType.EVENT_RAISED,
        format_timestamp(utc_now()),
        Name=event_name,
        Input=input_json,
    )


def _event(event_type: HistoryEventType, timestamp: str, **fields: Any) -> dict[str, Any]:
    event: dict[str, Any] = {"EventType": int(event_type), "EventId": -1, "Timestamp": timestamp}
    event.update(fields)
    return event


def leaf_actions(actions: Any) -> list[dict[str, Any]]:
    """Flatten the state's actions (nested lists and compound actions) in emission order."""
    leaves: list[dict[str, Any]] = []

    def walk(item: Any) -> None:
        if isinstance(item, list):
            for child in item:
                walk(child)
        elif isinstance(item, dict):
            if "compoundActions" in item:
                walk(item["compoundActions"])
            else:
                leaves.append(item)

    walk(actions)
    return leaves


def _action_name(action_type: Any) -> str:
    try:
        return ActionType(action_type).name
    except ValueError:
        return str(action_type)


@dataclass
class _RetryingCall:
    """A ``call_activity_with_retry`` in progress: the host runs its retries."""

    name: str
    input: str | None
    options: dict[str, Any]
    attempt: int
    task_id: int
    timer_id: int | None = None

    def delay(self) -> timedelta:
        """Wait before the next attempt: first interval, times backoff per retry, capped."""
        first = float(self.options["firstRetryIntervalInMilliseconds"])
        backoff = float(self.options.get("backoffCoefficient") or 1.0)
        milliseconds = first * backoff ** (self.attempt - 1)
        cap = self.options.get("maxRetryIntervalInMilliseconds")
        if cap:
            milliseconds = min(milliseconds, float(cap))
        return timedelta(milliseconds=milliseconds)

    @property
    def exhausted(self) -> bool:
        """Whether the attempt that just failed was the last one."""
        return self.attempt >= int(self.options["maxNumberOfAttempts"])


@dataclass
class _Instance:
    """An active (Pending or Running) instance, in memory."""

    record: InstanceRecord
    history: list[dict[str, Any]]
    actions_seen: int = 0
    retries: list[_RetryingCall] = field(default_factory=list)
    cancelled_timers: set[int] = field(default_factory=set)
    queue: deque[tuple[int, dict[str, Any]]] = field(default_factory=deque)
    timers: dict[int, asyncio.TimerHandle] = field(default_factory=dict)
    worker: asyncio.Task[None] | None = None
    retired: bool = False

    @property
    def instance_id(self) -> str:
        """The instance ID."""
        return self.record.instance_id

    def engine_state(self) -> str:
        """The bookkeeping persisted with the instance."""
        return json.dumps(
            {
                "actionsSeen": self.actions_seen,
                "retries": [vars(call) for call in self.retries],
                "cancelledTimers": sorted(self.cancelled_timers),
            }
        )

    @classmethod
    def load(cls, record: InstanceRecord, history: list[dict[str, Any]]) -> _Instance:
        """Rebuild an instance from its stored record and history."""
        state = json.loads(record.engine_state)
        return cls(
            record=record,
            history=history,
            actions_seen=int(state.get("actionsSeen", 0)),
            retries=[_RetryingCall(**call) for call in state.get("retries", [])],
            cancelled_timers=set(state.get("cancelledTimers", [])),
        )


@dataclass(frozen=True)
class _Outcome:
    """Where an episode leaves its instance: runtime status, output and custom status (JSON)."""

    status: str
    output: str | None
    custom_status: str | None = None


class _Episode:
    """The events one orchestrator execution appends, and the work it starts."""

    def __init__(self, instance: _Instance) -> None:
        self.now = utc_now()
        self.timestamp = format_timestamp(self.now)
        self.events: list[dict[str, Any]] = []
        self.activities: list[tuple[int, str, str | None]] = []
        self.timers: list[tuple[int, str]] = []
        scheduling = (HistoryEventType.TASK_SCHEDULED, HistoryEventType.TIMER_CREATED)
        self._next_id = sum(1 for e in instance.history if e["EventType"] in scheduling)

    def add(self, event_type: HistoryEventType, **fields: Any) -> dict[str, Any]:
        event = _event(event_type, self.timestamp, **fields)
        self.events.append(event)
        return event

    def allocate(self) -> int:
        event_id = self._next_id
        self._next_id += 1
        return event_id

    def schedule_activity(self, name: str, input_: str | None) -> int:
        task_id = self.allocate()
        self.add(HistoryEventType.TASK_SCHEDULED, EventId=task_id, Name=name, Input=input_)
        self.activities.append((task_id, name, input_))
        return task_id

    def create_timer(self, fire_at: str, *, armed: bool = True) -> int:
        timer_id = self.allocate()
        self.add(HistoryEventType.TIMER_CREATED, EventId=timer_id, FireAt=fire_at)
        if armed:
            self.timers.append((timer_id, fire_at))
        return timer_id


def _failure_from_exception(exc: Exception) -> tuple[dict[str, Any] | None, str]:
    """Split the worker-style orchestrator failure into its state and its error message."""
    message = str(exc)
    if _OUT_OF_PROC_MARKER in message:
        head, _, data = message.partition(_OUT_OF_PROC_MARKER)
        try:
            state = json.loads(data)
        except json.JSONDecodeError:
            return None, head
        if isinstance(state, dict):
            return state, str(state.get("error") or head)
        return None, head
    return None, f"{type(exc).__name__}: {message}"


def _schema_problem(state: dict[str, Any]) -> str | None:
    """Refuse a state the extension refuses: an unknown schema, or V2/V3 actions not nested once.

    From schema V2 on, the actions are one list (compound ``WhenAll``/``WhenAny`` actions hold
    their children) wrapped in an outer list of length one.
    """
    schema = state.get("schemaVersion", 0)
    if schema not in _SCHEMA_NAMES:
        return f'The OOProc schema of version "{schema}" is unsupported by devhost.'
    actions = state.get("actions") or []
    if schema > 0 and len(actions) != 1:
        return (
            f"With OOProc schema {_SCHEMA_NAMES[schema]}, expected actions array to be of length "
            f"1 in outer layer but got size: {len(actions)}"
        )
    return None


def _json_or_none(value: Any) -> str | None:
    return None if value is None else json.dumps(value)


class DurableEngine:
    """Runs orchestration instances: episodes, activities, timers, events, persistence."""

    def __init__(
        self,
        store: Store,
        invoker: Invoker,
        functions: Iterable[LoadedFunction],
        client_binding: Callable[[], str],
        overridable_existing_instance_states: str,
        *,
        timer_limits: TimerLimits | None = None,
    ) -> None:
        """Drive the orchestrators and activities among ``functions``."""
        functions = list(functions)
        self._timer_limits = timer_limits or TimerLimits()
        self._store = store
        self._invoker = invoker
        self._orchestrators = {
            f.name: f for f in functions if f.spec.kind == "orchestrationTrigger"
        }
        self._activities = {f.name: f for f in functions if f.spec.kind == "activityTrigger"}
        self._client_binding = client_binding
        self._overridable_states = overridable_existing_instance_states
        self._active: dict[str, _Instance] = {}
        self._tasks: set[asyncio.Task[None]] = set()
        self._closed = False

    # ----------------------------------------------------------------- public operations

    def is_orchestrator(self, name: str) -> bool:
        """Whether ``name`` is an orchestrator function."""
        return name in self._orchestrators

    def resume(self) -> int:
        """Pick up every Pending/Running instance from the store; return how many."""
        records = self._store.list_instances(InstanceQuery(statuses=ACTIVE_STATUSES))
        for record in records:
            instance = _Instance.load(record, self._store.history(record.instance_id))
            self._active[record.instance_id] = instance
            inbox = self._store.inbox(record.instance_id, record.execution_id)
            self._restart_outstanding_work(instance, [event for _, event in inbox])
            instance.queue.extend(inbox)
            self._kick(instance)
        return len(records)

    def start_instance(self, name: str, instance_id: str, raw_input: str | None) -> InstanceRecord:
        """Create (or replace) an instance and queue its ``ExecutionStarted``.

        ``raw_input`` is the start request's body text, kept as the extension keeps it.
        """
        if name not in self._orchestrators:
            raise UnknownOrchestratorError.named(name)
        refusal = start_refusal(self._store.get_instance(instance_id), self._overridable_states)
        if refusal:
            raise InstanceExistsError(refusal)
        previous = self._active.get(instance_id)
        if previous is not None:
            self._retire(previous)
        now = format_timestamp(utc_now())
        record = InstanceRecord.new_execution(instance_id, name, PENDING, now, input=raw_input)
        started = execution_started(record)
        inbox_id = self._store.create_instance(record, started)
        instance = _Instance(record=record, history=[])
        self._active[instance_id] = instance
        instance.queue.append((inbox_id, started))
        self._kick(instance)
        log.info("Orchestration '%s' instance '%s' scheduled", name, instance_id)
        return record

    def raise_event(self, instance_id: str, event_name: str, input_json: str | None) -> bool:
        """Deliver an external event; ``False`` if the instance is not active."""
        instance = self._active.get(instance_id)
        if instance is None:
            return False
        event = event_raised(event_name, input_json)
        return self._deliver(instance_id, instance.record.execution_id, event)

    def terminate(self, instance_id: str, reason: str | None) -> bool:
        """Ask an active instance to terminate; ``False`` if it is not active."""
        instance = self._active.get(instance_id)
        if instance is None:
            return False
        event = _event(
            HistoryEventType.EXECUTION_TERMINATED, format_timestamp(utc_now()), Input=reason
        )
        return self._deliver(instance_id, instance.record.execution_id, event)

    async def close(self) -> None:
        """Stop all work; unfinished work resumes from the store on the next start."""
        self._closed = True
        pending: list[asyncio.Task[None]] = list(self._tasks)
        for instance in list(self._active.values()):
            self._cancel_timers(instance)
            if instance.worker is not None:
                pending.append(instance.worker)
        for task in pending:
            task.cancel()
        await asyncio.gather(*pending, return_exceptions=True)
        self._active.clear()

    # ----------------------------------------------------------------- delivery and queueing

    def _deliver(self, instance_id: str, execution_id: str, event: dict[str, Any]) -> bool:
        instance = self._active.get(instance_id)
        if self._closed or instance is None or instance.record.execution_id != execution_id:
            return False
        inbox_id = self._store.add_to_inbox(instance_id, execution_id, event)
        instance.queue.append((inbox_id, event))
        self._kick(instance)
        return True

    def _kick(self, instance: _Instance) -> None:
        if instance.worker is None and instance.queue and not self._closed:
            instance.worker = asyncio.get_running_loop().create_task(self._drain(instance))

    async def _drain(self, instance: _Instance) -> None:
        try:
            while instance.queue and not instance.retired and not self._closed:
                inbox_id, event = instance.queue.popleft()
                try:
                    await self._process(instance, inbox_id, event)
                except asyncio.CancelledError:
                    raise
                except Exception as exc:
                    log.exception("devhost error while running instance '%s'", instance.instance_id)
                    error = json.dumps(f"devhost internal error: {type(exc).__name__}: {exc}")
                    self._finish(instance, _Episode(instance), inbox_id, _Outcome(FAILED, error))
        finally:
            instance.worker = None

    def _retire(self, instance: _Instance) -> None:
        instance.retired = True
        self._cancel_timers(instance)
        if self._active.get(instance.instance_id) is instance:
            del self._active[instance.instance_id]

    @staticmethod
    def _cancel_timers(instance: _Instance) -> None:
        for handle in instance.timers.values():
            handle.cancel()
        instance.timers.clear()

    # ----------------------------------------------------------------- episodes

    async def _process(self, instance: _Instance, inbox_id: int, event: dict[str, Any]) -> None:
        if instance.record.runtime_status not in ACTIVE_STATUSES:
            self._store.discard_inbox(inbox_id)
            return
        episode = _Episode(instance)
        episode.add(HistoryEventType.ORCHESTRATOR_STARTED)
        episode.events.append(event)

        if event["EventType"] == HistoryEventType.EXECUTION_TERMINATED:
            reason = _json_or_none(event["Input"])
            self._finish(instance, episode, inbox_id, _Outcome(TERMINATED, reason))
            return

        state, error = await self._run_orchestrator(instance, instance.history + episode.events)
        if instance.retired or self._closed:
            return
        self._apply_retry_policy(instance, episode, event)
        if error is None and state is not None:
            error = self._schedule(instance, episode, state)
        custom_status = _json_or_none((state or {}).get("customStatus"))
        name = instance.record.name

        if error is not None:
            failure = json.dumps(f"Orchestrator function '{name}' failed: {error}")
            self._finish(instance, episode, inbox_id, _Outcome(FAILED, failure, custom_status))
        elif state is not None and state.get("isDone"):
            output = _json_or_none(state.get("output"))
            self._finish(instance, episode, inbox_id, _Outcome(COMPLETED, output, custom_status))
        else:
            episode.add(HistoryEventType.ORCHESTRATOR_COMPLETED)
            self._commit(instance, episode, inbox_id, _Outcome(RUNNING, None, custom_status))
            for task_id, activity, input_ in episode.activities:
                self._start_activity(instance, task_id, activity, input_)
            for timer_id, fire_at in episode.timers:
                self._arm_timer(instance, timer_id, fire_at)

    def _finish(
        self, instance: _Instance, episode: _Episode, inbox_id: int, outcome: _Outcome
    ) -> None:
        status, output = outcome.status, outcome.output
        if status == TERMINATED:
            outcome = replace(outcome, custom_status=instance.record.custom_status)
        else:
            episode.add(
                HistoryEventType.EXECUTION_COMPLETED, OrchestrationStatus=status, Result=output
            )
            episode.add(HistoryEventType.ORCHESTRATOR_COMPLETED)
        self._commit(instance, episode, inbox_id, outcome)
        self._retire(instance)
        for leftover_id, _ in instance.queue:
            self._store.discard_inbox(leftover_id)
        instance.queue.clear()
        if status == FAILED and output is not None:
            log.warning(
                "Orchestration '%s' instance '%s' failed: %s",
                instance.record.name,
                instance.instance_id,
                json.loads(output).splitlines()[0],
            )
        else:
            log.info(
                "Orchestration '%s' instance '%s' %s",
                instance.record.name,
                instance.instance_id,
                status.lower(),
            )

    def _commit(
        self, instance: _Instance, episode: _Episode, inbox_id: int, outcome: _Outcome
    ) -> None:
        record = instance.record.evolve(
            runtime_status=outcome.status,
            output=outcome.output,
            custom_status=outcome.custom_status,
            last_updated_time=episode.timestamp,
            engine_state=instance.engine_state(),
        )
        self._store.commit_episode(record, len(instance.history), episode.events, inbox_id)
        instance.record = record
        instance.history.extend(episode.events)

    async def _run_orchestrator(
        self, instance: _Instance, history: list[dict[str, Any]]
    ) -> tuple[dict[str, Any] | None, str | None]:
        """Run one replay; return the state JSON, or the error that failed the orchestrator."""
        function = self._orchestrators.get(instance.record.name)
        if function is None:
            return None, f"the orchestrator function '{instance.record.name}' is not loaded"
        boundary = len(instance.history)
        raw_input = instance.record.input
        context = {
            "history": [dict(e, IsPlayed=i < boundary) for i, e in enumerate(history)],
            "input": json.loads(raw_input) if raw_input is not None else None,
            "instanceId": instance.instance_id,
            "isReplaying": boundary > 0,
            "parentInstanceId": None,
            "upperSchemaVersion": UPPER_SCHEMA_VERSION,
            "upperSchemaVersionNew": UPPER_SCHEMA_VERSION_NEW,
            "longRunningTimerIntervalDuration": format_timespan(
                self._timer_limits.long_timer_interval
            ),
            "maximumShortTimerDuration": format_timespan(self._timer_limits.max_short_timer),
            "defaultHttpAsyncRequestSleepTimeMillseconds": DEFAULT_HTTP_ASYNC_SLEEP_MILLISECONDS,
        }
        argument = orchestration_context(json.dumps(context))
        try:
            value = await self._invoker.invoke(
                function,
                {function.spec.trigger.name: argument},
                reason=DURABLE_REASON,
                convert=orchestrator_state,
            )
            state = json.loads(value) if isinstance(value, str | bytes) else value
        except Exception as exc:
            return _failure_from_exception(exc)
        if not isinstance(state, dict):
            return None, "the orchestrator did not return an orchestration state"
        if state.get("error"):
            return state, str(state["error"])
        return state, None

    def _apply_retry_policy(
        self, instance: _Instance, episode: _Episode, event: dict[str, Any]
    ) -> None:
        """Do the host's part of ``call_activity_with_retry`` for the episode's new event."""
        kind = event["EventType"]
        if kind in (HistoryEventType.TASK_COMPLETED, HistoryEventType.TASK_FAILED):
            call = next(
                (c for c in instance.retries if c.task_id == event["TaskScheduledId"]), None
            )
            if call is None:
                return
            if kind == HistoryEventType.TASK_COMPLETED:
                instance.retries.remove(call)
                return
            call.timer_id = episode.create_timer(format_timestamp(episode.now + call.delay()))
        elif kind == HistoryEventType.TIMER_FIRED:
            call = next((c for c in instance.retries if c.timer_id == event["TimerId"]), None)
            if call is None:
                return
            if call.exhausted:
                instance.retries.remove(call)
                return
            call.attempt += 1
            call.timer_id = None
            call.task_id = episode.schedule_activity(call.name, call.input)

    def _schedule(
        self, instance: _Instance, episode: _Episode, state: dict[str, Any]
    ) -> str | None:
        """Number and record the new actions; return an error that fails the instance."""
        problem = _schema_problem(state)
        if problem:
            return problem
        leaves = leaf_actions(state.get("actions", []))
        if len(leaves) < instance.actions_seen:
            return (
                "Non-deterministic workflow detected: the orchestrator scheduled fewer actions "
                "than in an earlier execution"
            )
        new_actions = leaves[instance.actions_seen :]
        for action in new_actions:
            problem = self._unsupported(action)
            if problem:
                return problem
        for action in new_actions:
            kind = action["actionType"]
            if kind in (ActionType.CALL_ACTIVITY, ActionType.CALL_ACTIVITY_WITH_RETRY):
                name, input_ = action["functionName"], action.get("input")
                task_id = episode.schedule_activity(name, input_)
                if kind == ActionType.CALL_ACTIVITY_WITH_RETRY:
                    options = dict(action["retryOptions"])
                    instance.retries.append(_RetryingCall(name, input_, options, 1, task_id))
            elif kind == ActionType.CREATE_TIMER:
                cancelled = bool(action.get("isCanceled"))
                timer_id = episode.create_timer(action["fireAt"], armed=not cancelled)
                if cancelled:
                    instance.cancelled_timers.add(timer_id)
        instance.actions_seen = len(leaves)
        return None

    @staticmethod
    def _unsupported(action: dict[str, Any]) -> str | None:
        kind = action.get("actionType")
        if kind not in _SUPPORTED_ACTIONS:
            return f"devhost does not support the {_action_name(kind)} action"
        is_call = kind in (ActionType.CALL_ACTIVITY, ActionType.CALL_ACTIVITY_WITH_RETRY)
        if is_call and not isinstance(action.get("functionName"), str):
            return "an activity call has no function name"
        if kind == ActionType.CALL_ACTIVITY_WITH_RETRY:
            options = action.get("retryOptions")
            if not isinstance(options, dict):
                return "an activity retry has no retry options"
            first = options.get("firstRetryIntervalInMilliseconds")
            attempts = options.get("maxNumberOfAttempts")
            if not isinstance(first, int | float) or first <= 0 or not isinstance(attempts, int):
                return "an activity retry has invalid retry options"
        if kind == ActionType.CREATE_TIMER:
            try:
                parse_timestamp(str(action.get("fireAt")))
            except ValueError:
                return "a timer has an invalid fireAt time"
        return None

    # ----------------------------------------------------------------- activities and timers

    def _restart_outstanding_work(
        self, instance: _Instance, undelivered: list[dict[str, Any]]
    ) -> None:
        """After a restart: re-run unfinished activities, re-arm unfired timers."""
        events = instance.history + undelivered
        finished = {
            e["TaskScheduledId"]
            for e in events
            if e["EventType"] in (HistoryEventType.TASK_COMPLETED, HistoryEventType.TASK_FAILED)
        }
        fired = {e["TimerId"] for e in events if e["EventType"] == HistoryEventType.TIMER_FIRED}
        for event in instance.history:
            kind, event_id = event["EventType"], event["EventId"]
            if kind == HistoryEventType.TASK_SCHEDULED and event_id not in finished:
                self._start_activity(instance, event_id, event["Name"], event.get("Input"))
            elif (
                kind == HistoryEventType.TIMER_CREATED
                and event_id not in fired
                and event_id not in instance.cancelled_timers
            ):
                self._arm_timer(instance, event_id, event["FireAt"])

    def _start_activity(
        self, instance: _Instance, task_id: int, name: str, input_: str | None
    ) -> None:
        task = asyncio.get_running_loop().create_task(
            self._run_activity(
                instance.instance_id, instance.record.execution_id, task_id, name, input_
            )
        )
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def _run_activity(
        self, instance_id: str, execution_id: str, task_id: int, name: str, input_: str | None
    ) -> None:
        function = self._activities.get(name)
        fields: dict[str, Any]
        if function is None:
            fields = {
                "Reason": f"The function '{name}' doesn't exist, is disabled, or is not an "
                "activity function.",
                "Details": "",
            }
            kind = HistoryEventType.TASK_FAILED
        else:
            try:
                arguments = {function.spec.trigger.name: decode_activity_input(input_)}
                clients = function.spec.names_of(DURABLE_CLIENT)
                for client in clients:
                    arguments[client] = durable_client_value(self._client_binding())
                result = await self._invoker.invoke(
                    function,
                    arguments,
                    reason=DURABLE_REASON,
                    # The SDK's client keeps its HTTP session on the host loop, so a coroutine
                    # activity that has one runs there, as the worker runs every coroutine.
                    coroutine_in_thread=not clients,
                    convert=encode_activity_output,
                )
                fields = {"Result": result}
                kind = HistoryEventType.TASK_COMPLETED
            except Exception as exc:
                details = user_traceback(exc)
                log.error("Activity function '%s' failed\n%s", name, details.rstrip())
                fields = {
                    "Reason": f"Activity function '{name}' failed: {type(exc).__name__}: {exc}",
                    "Details": details,
                }
                kind = HistoryEventType.TASK_FAILED
        event = _event(kind, format_timestamp(utc_now()), TaskScheduledId=task_id, **fields)
        self._deliver(instance_id, execution_id, event)

    def _arm_timer(self, instance: _Instance, timer_id: int, fire_at: str) -> None:
        delay = (parse_timestamp(fire_at) - utc_now()).total_seconds()
        handle = asyncio.get_running_loop().call_later(
            max(0.0, delay), self._fire_timer, instance, timer_id, fire_at
        )
        instance.timers[timer_id] = handle

    def _fire_timer(self, instance: _Instance, timer_id: int, fire_at: str) -> None:
        instance.timers.pop(timer_id, None)
        if instance.retired:
            return
        if parse_timestamp(fire_at) > utc_now():
            self._arm_timer(instance, timer_id, fire_at)
            return
        event = _event(
            HistoryEventType.TIMER_FIRED,
            format_timestamp(utc_now()),
            TimerId=timer_id,
            FireAt=fire_at,
        )
        self._deliver(instance.instance_id, instance.record.execution_id, event)
