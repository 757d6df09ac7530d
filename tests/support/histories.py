"""Build Durable Functions histories by hand and replay an orchestrator over them.

The events are the JSON the Durable extension sends to an out-of-process orchestrator;
event IDs are written explicitly, as the extension assigns them, so each test states
exactly which history it replays.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

from devhost.engine import leaf_actions

EXECUTION_STARTED = 0
TASK_SCHEDULED = 4
TASK_COMPLETED = 5
TASK_FAILED = 6
TIMER_CREATED = 10
TIMER_FIRED = 11
ORCHESTRATOR_STARTED = 12
ORCHESTRATOR_COMPLETED = 13
EVENT_RAISED = 15

CALL_ACTIVITY = 0
CALL_ACTIVITY_WITH_RETRY = 1
CREATE_TIMER = 5
WAIT_FOR_EXTERNAL_EVENT = 6

TIMESTAMP = "2026-01-01T00:00:00.000Z"


class History:
    """An orchestration history, appended to episode by episode."""

    def __init__(self, name: str, input_value: Any, instance_id: str = "test-instance") -> None:
        self.instance_id = instance_id
        self.input = json.dumps(input_value)
        self.events: list[dict[str, Any]] = [
            self._event(ORCHESTRATOR_STARTED, -1),
            self._event(EXECUTION_STARTED, -1, Name=name, Input=self.input, Version=""),
        ]

    @staticmethod
    def _event(event_type: int, event_id: int, **fields: Any) -> dict[str, Any]:
        return {
            "EventType": event_type,
            "EventId": event_id,
            "IsPlayed": False,
            "Timestamp": TIMESTAMP,
            **fields,
        }

    def new_episode(self, at: str = TIMESTAMP) -> History:
        """Close the episode the orchestrator just ran and start the next one, at `at`."""
        for event in self.events:
            event["IsPlayed"] = True
        self.events.append(self._event(ORCHESTRATOR_COMPLETED, -1))
        self.events.append({**self._event(ORCHESTRATOR_STARTED, -1), "Timestamp": at})
        return self

    def scheduled(self, event_id: int, name: str) -> History:
        """The activity the orchestrator asked for, as TaskScheduled with its ID."""
        self.events.insert(-1, self._event(TASK_SCHEDULED, event_id, Name=name))
        return self

    def timer(self, event_id: int, fire_at: str = TIMESTAMP) -> History:
        """A timer the host created (TimerCreated, before the new episode)."""
        self.events.insert(-1, self._event(TIMER_CREATED, event_id, FireAt=fire_at))
        return self

    def completed(self, scheduled_id: int, result: Any) -> History:
        """The activity's result."""
        self.events.append(
            self._event(TASK_COMPLETED, -1, TaskScheduledId=scheduled_id, Result=json.dumps(result))
        )
        return self

    def failed(self, scheduled_id: int, reason: str) -> History:
        """The activity raised."""
        self.events.append(
            self._event(
                TASK_FAILED, -1, TaskScheduledId=scheduled_id, Reason=reason, Details="trace"
            )
        )
        return self

    def fired(self, timer_id: int, fire_at: str = TIMESTAMP) -> History:
        """A timer fired."""
        self.events.append(self._event(TIMER_FIRED, -1, TimerId=timer_id, FireAt=fire_at))
        return self

    def raised(self, name: str, payload: Any) -> History:
        """An external event raised on the instance (EventRaised, its payload as JSON)."""
        self.events.append(self._event(EVENT_RAISED, -1, Name=name, Input=json.dumps(payload)))
        return self

    def context_json(self) -> str:
        """The orchestration trigger's payload for this history."""
        return json.dumps(
            {
                "history": self.events,
                "input": self.input,
                "instanceId": self.instance_id,
                "isReplaying": any(event["IsPlayed"] for event in self.events),
                "parentInstanceId": None,
                # As the Durable extension sends them for Python, with the Azure Storage
                # provider's timer limits: the SDK replays with its V3 schema.
                "upperSchemaVersion": 1,
                "upperSchemaVersionNew": 2,
                "maximumShortTimerDuration": "6.00:00:00",
                "longRunningTimerIntervalDuration": "3.00:00:00",
            }
        )


def replay(orchestrator: Callable[[str], str], history: History) -> dict[str, Any]:
    """Run the orchestrator's entry point over the history; return its state JSON."""
    return json.loads(orchestrator(history.context_json()))


def _actions(state: dict[str, Any], types: tuple[int, ...]) -> list[dict[str, Any]]:
    """The state's actions of the given types, compound actions flattened, in order."""
    return [
        action
        for action in leaf_actions(state.get("actions", []))
        if action.get("actionType") in types
    ]


def activity_calls(state: dict[str, Any]) -> list[dict[str, Any]]:
    """Every activity call in the state's actions, compound actions flattened, in order."""
    return _actions(state, (CALL_ACTIVITY, CALL_ACTIVITY_WITH_RETRY))


def timers(state: dict[str, Any]) -> list[dict[str, Any]]:
    """Every durable timer the orchestrator created, in order."""
    return _actions(state, (CREATE_TIMER,))


def event_waits(state: dict[str, Any]) -> list[dict[str, Any]]:
    """Every external event the orchestrator waits for, in order."""
    return _actions(state, (WAIT_FOR_EXTERNAL_EVENT,))
