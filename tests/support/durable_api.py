"""A stand-in for the Durable Functions extension's HTTP API, as the Python client uses it.

``client_binding_json()`` is what the extension passes to a function as its ``durableClient``
binding, pointing at this server, so ``DurableOrchestrationClient(binding_json)`` works
unchanged. Starts honour ``overridableExistingInstanceStates: NonRunningStates``: starting an
instance that is Pending/Running/ContinuedAsNew/Suspended is refused as the extension refuses it
(409 with ``{"Message": ...}``, or with ``refusal="legacy"`` the 500 error body older extension
versions sent); a start over a finished instance replaces it. Events raised on an instance are
recorded and answered as the extension answers them: 202 while it runs, 410 once it has
finished, 404 for an unknown instance (``event_status`` forces another answer; ``event_delay``
seconds pass before the answer, as when the extension's storage is slow).
"""

from __future__ import annotations

import json
import uuid
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime
from typing import Any, Literal
from urllib.parse import unquote

from devhost.standins.recording import RecordedRequest
from devhost.standins.stub_server import Reply, StubServer
from tests.support.constants import DURABLE_SYSTEM_KEY, ORCHESTRATOR_NAME

RUNNING_STATES = frozenset({"Pending", "Running", "ContinuedAsNew", "Suspended"})
ALL_STATES = RUNNING_STATES | {"Completed", "Failed", "Canceled", "Terminated"}
_RPC_PREFIX = "/durabletask/"
_WEBHOOK_PATH = "/runtime/webhooks/durabletask"


@dataclass(frozen=True)
class DurableStart:
    """One start request.

    The Python client sends the input already serialized, so the body is a JSON string
    holding JSON: ``raw_body`` is the body, ``input_json`` the body decoded once (that
    string), ``input`` the input decoded fully. ``accepted`` is False when refused.
    """

    seq: int
    name: str
    instance_id: str
    raw_body: bytes
    input_json: Any
    input: Any
    accepted: bool
    headers: dict[str, str] = field(repr=False)


@dataclass(frozen=True)
class RaisedEvent:
    """One raiseEvent request: the instance, the event name, its decoded data and the answer."""

    instance_id: str
    name: str
    data: Any
    status: int


@dataclass
class _Instance:
    name: str
    instance_id: str
    runtime_status: str
    input: Any
    output: Any
    custom_status: Any
    created: datetime
    updated: datetime
    visible: bool


def _timestamp(moment: datetime) -> str:
    return moment.strftime("%Y-%m-%dT%H:%M:%SZ")


def _parse_time(text: str | None) -> datetime | None:
    """A query's time as the client writes it (ISO 8601 with a trailing Z), or None."""
    if not text:
        return None
    return datetime.fromisoformat(text.replace("Z", "+00:00"))


def _decode(value: Any) -> Any:
    if not isinstance(value, str):
        return value
    try:
        return json.loads(value)
    except ValueError:
        return value


class DurableApiStub(StubServer):
    """Answers the extension's RPC endpoints for starting instances and reading their status."""

    def __init__(
        self, task_hub: str = "TestHubName", *, refusal: Literal["conflict", "legacy"] = "conflict"
    ) -> None:
        """Create the stand-in; ``start()`` (or ``with``) binds it."""
        super().__init__("durable")
        self.task_hub = task_hub
        self.refusal = refusal
        self._starts: list[DurableStart] = []
        self._instances: dict[str, _Instance] = {}
        self._events: list[RaisedEvent] = []
        self.event_status: int | None = None
        self.event_delay = 0.0
        # A stalled extension: seconds to wait before answering status reads and starts.
        self.status_delay = 0.0
        self.start_delay = 0.0
        # An extension that fails every start with this status (after `start_delay`).
        self.start_failure: int | None = None

    @property
    def rpc_base_url(self) -> str:
        """The ``rpcBaseUrl`` the client calls, with a trailing slash."""
        return f"{self.origin}{_RPC_PREFIX}"

    def client_binding_json(self) -> str:
        """The ``durableClient`` binding value the extension would pass, pointing here."""
        base = f"{self.origin}{_WEBHOOK_PATH}"
        common = f"taskHub={self.task_hub}&connection=Storage&code={DURABLE_SYSTEM_KEY}"
        instance = f"{base}/instances/INSTANCEID"
        return json.dumps(
            {
                "taskHubName": self.task_hub,
                "creationUrls": {
                    "createNewInstancePostUri": (
                        f"{base}/orchestrators/{{functionName}}[/{{instanceId}}]"
                        f"?code={DURABLE_SYSTEM_KEY}"
                    ),
                    "createAndWaitOnNewInstancePostUri": (
                        f"{base}/orchestrators/{{functionName}}[/{{instanceId}}]"
                        "?timeout={timeoutInSeconds}&pollingInterval={intervalInSeconds}"
                        f"&code={DURABLE_SYSTEM_KEY}"
                    ),
                },
                "managementUrls": {
                    "id": "INSTANCEID",
                    "statusQueryGetUri": f"{instance}?{common}",
                    "sendEventPostUri": f"{instance}/raiseEvent/{{eventName}}?{common}",
                    "terminatePostUri": f"{instance}/terminate?reason={{text}}&{common}",
                    "rewindPostUri": f"{instance}/rewind?reason={{text}}&{common}",
                    "purgeHistoryDeleteUri": f"{instance}?{common}",
                    "restartPostUri": f"{instance}/restart?{common}",
                    "suspendPostUri": f"{instance}/suspend?reason={{text}}&{common}",
                    "resumePostUri": f"{instance}/resume?reason={{text}}&{common}",
                },
                "baseUrl": base,
                "requiredQueryStringParameters": f"code={DURABLE_SYSTEM_KEY}",
                "rpcBaseUrl": self.rpc_base_url,
                "httpBaseUrl": "",
                "maxGrpcMessageSizeInBytes": 0,
                "grpcHttpClientTimeout": "00:01:40",
            }
        )

    @property
    def starts(self) -> list[DurableStart]:
        """Every start request received (accepted or refused), in arrival order."""
        with self._cond:
            return list(self._starts)

    @property
    def events(self) -> list[RaisedEvent]:
        """Every raiseEvent request received, in arrival order, with the status answered."""
        with self._cond:
            return list(self._events)

    def accepted_starts(self) -> list[DurableStart]:
        """The start requests that created or replaced an instance."""
        return [s for s in self.starts if s.accepted]

    def wait_for_starts(self, n: int, timeout: float = 5.0) -> list[DurableStart]:
        """Wait until at least ``n`` start requests have arrived; return them all."""
        self.wait_until(lambda: len(self._starts) >= n, timeout, f"{n} start request(s)")
        return self.starts

    def set_status(
        self,
        instance_id: str,
        runtime_status: str,
        *,
        name: str | None = None,
        input: Any = None,
        output: Any = None,
        custom_status: Any = None,
        visible: bool = True,
        created: datetime | None = None,
    ) -> None:
        """Create or update an instance (``name`` defaults to the existing one, else the app's).

        ``input`` is stored as given (the status endpoint returns it as is). With
        ``visible=False`` the status endpoint answers 404 although the instance exists, so a
        start is still refused: two submissions racing, each reading the status before the
        other's start is recorded. ``created`` backdates the instance.
        """
        if runtime_status not in ALL_STATES:
            raise ValueError(f"unknown runtime status {runtime_status!r}")
        now = datetime.now(UTC)
        with self._cond:
            existing = self._instances.get(instance_id)
            self._instances[instance_id] = _Instance(
                name=name or (existing.name if existing else ORCHESTRATOR_NAME),
                instance_id=instance_id,
                runtime_status=runtime_status,
                input=input if input is not None or existing is None else existing.input,
                output=output,
                custom_status=custom_status,
                created=created or (existing.created if existing else now),
                updated=now,
                visible=visible,
            )
            self._cond.notify_all()

    def status(self, instance_id: str) -> str | None:
        """The runtime status this stub holds for ``instance_id`` (visible or not), if any."""
        with self._cond:
            found = self._instances.get(instance_id)
            return found.runtime_status if found else None

    def clear(self) -> None:
        """Forget starts, instances and recorded requests."""
        with self._cond:
            self._starts.clear()
            self._instances.clear()
            self._events.clear()
        super().clear()

    def handle(self, request: RecordedRequest) -> Reply:
        """Route RPC calls: start an orchestrator, or read an instance's status."""
        path = unquote(request.path)
        if not path.startswith(_RPC_PREFIX):
            return Reply(status=404)
        parts = path[len(_RPC_PREFIX) :].strip("/").split("/")
        if parts[0] == "orchestrators" and len(parts) in (2, 3) and request.method == "POST":
            instance_id = parts[2] if len(parts) == 3 else uuid.uuid4().hex
            if self.start_failure is not None:
                failed = {"Message": "An error has occurred.", "ExceptionMessage": "storage"}
                return Reply(status=self.start_failure, json=failed, delay=self.start_delay)
            return replace(self._start(request, parts[1], instance_id), delay=self.start_delay)
        if parts[0] == "instances" and len(parts) <= 2 and request.method in ("GET", "DELETE"):
            listed = len(parts) == 1 or request.method == "DELETE"
            answer = self._query(request) if listed else self._status(request, parts[1])
            return replace(answer, delay=self.status_delay)
        if parts[0] == "instances" and len(parts) == 4 and parts[2] == "raiseEvent":
            return self._raise_event(request, parts[1], parts[3])
        return Reply(status=404)

    def _raise_event(self, request: RecordedRequest, instance_id: str, name: str) -> Reply:
        with self._cond:
            found = self._instances.get(instance_id)
            if self.event_status is not None:
                status = self.event_status
            elif found is None:
                status = 404
            else:
                status = 202 if found.runtime_status in RUNNING_STATES else 410
            data = json.loads(request.body) if request.body else None
            self._events.append(RaisedEvent(instance_id, name, _decode(data), status))
            self._cond.notify_all()
        answer = {} if status == 202 else {"Message": "refused"}
        return Reply(status=status, json=answer, delay=self.event_delay)

    def _start(self, request: RecordedRequest, name: str, instance_id: str) -> Reply:
        try:
            input_json = json.loads(request.body) if request.body else None
        except ValueError as exc:
            return Reply(
                status=400,
                json={
                    "Message": "Invalid JSON content",
                    "ExceptionMessage": str(exc),
                    "ExceptionType": "Newtonsoft.Json.JsonReaderException",
                    "StackTrace": "",
                },
            )
        now = datetime.now(UTC)
        with self._cond:
            existing = self._instances.get(instance_id)
            refused = existing is not None and existing.runtime_status in RUNNING_STATES
            if not refused:
                self._instances[instance_id] = _Instance(
                    name, instance_id, "Pending", input_json, None, None, now, now, visible=True
                )
            self._starts.append(
                DurableStart(
                    seq=request.seq,
                    name=name,
                    instance_id=instance_id,
                    raw_body=request.body,
                    input_json=input_json,
                    input=_decode(input_json),
                    accepted=not refused,
                    headers=dict(request.headers),
                )
            )
            self._cond.notify_all()
        if existing is not None and refused:
            return self._refusal(existing.runtime_status)
        payload = self._management_payload(instance_id)
        return Reply(
            status=202,
            json=payload,
            headers={"Location": payload["statusQueryGetUri"], "Retry-After": "10"},
        )

    def _refusal(self, runtime_status: str) -> Reply:
        message = f"An Orchestration instance with the status {runtime_status} already exists."
        if self.refusal == "legacy":
            return Reply(
                status=500,
                json={
                    "Message": "Something went wrong while processing your request",
                    "ExceptionMessage": message,
                    "ExceptionType": "System.InvalidOperationException",
                    "StackTrace": "",
                },
            )
        return Reply(status=409, json={"Message": message})

    def _management_payload(self, instance_id: str) -> dict[str, str]:
        urls = json.loads(self.client_binding_json())["managementUrls"]
        return {key: value.replace("INSTANCEID", instance_id) for key, value in urls.items()}

    def _matching(self, request: RecordedRequest) -> list[_Instance]:
        """The instances a list or purge query selects, as the extension filters them."""
        query = request.query
        low = _parse_time(query.get("createdTimeFrom"))
        high = _parse_time(query.get("createdTimeTo"))
        states = {s for s in query.get("runtimeStatus", "").split(",") if s}
        prefix = query.get("instanceIdPrefix", "")
        return [
            found
            for found in self._instances.values()
            if (low is None or found.created >= low)
            and (high is None or found.created <= high)
            and (not states or found.runtime_status in states)
            and found.instance_id.startswith(prefix)
        ]

    def _query(self, request: RecordedRequest) -> Reply:
        """List the instances a query selects (GET), or purge them (DELETE)."""
        with self._cond:
            matching = self._matching(request)
            if request.method == "DELETE":
                for found in matching:
                    del self._instances[found.instance_id]
                self._cond.notify_all()
                if not matching:
                    return Reply(status=404)
                return Reply(status=200, json={"instancesDeleted": len(matching)})
            return Reply(status=200, json=[self._body(found, True) for found in matching])

    def _body(self, found: _Instance, show_input: bool) -> dict[str, Any]:
        return {
            "name": found.name,
            "instanceId": found.instance_id,
            "runtimeStatus": found.runtime_status,
            "input": found.input if show_input else None,
            "customStatus": found.custom_status,
            "output": found.output,
            "createdTime": _timestamp(found.created),
            "lastUpdatedTime": _timestamp(found.updated),
        }

    def _status(self, request: RecordedRequest, instance_id: str) -> Reply:
        with self._cond:
            found = self._instances.get(instance_id)
            if found is None or not found.visible:
                return Reply(status=404)
            show_input = request.query.get("showInput", "true").lower() != "false"
            body = self._body(found, show_input)
            running = found.runtime_status in RUNNING_STATES
        if running:
            return Reply(
                status=202,
                json=body,
                headers={"Location": f"{self.origin}{request.path}", "Retry-After": "5"},
            )
        return Reply(status=200, json=body)
