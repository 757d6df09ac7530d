"""The Durable extension's HTTP management API (the subset devhost implements).

Served under ``/runtime/webhooks/durabletask/``, which is also the ``rpcBaseUrl`` handed to
``DurableOrchestrationClient`` through the ``durableClient`` binding, so the SDK's client talks
to these handlers unchanged. Answers follow the extension's: 202 with management URLs on start,
404 with an empty body for an unknown instance, 409 when host.json forbids replacing a running
instance, 410 for events or termination sent to a finished instance.
"""

from __future__ import annotations

import base64
import json
import uuid
from collections.abc import Mapping
from typing import Any, Literal, Protocol, get_args
from urllib.parse import quote

from aiohttp import web
from azure.durable_functions.models.history.HistoryEventType import HistoryEventType
from multidict import MultiMapping

from devhost.engine import (
    EXTENSION_STATUSES,
    FAILED,
    RUNNING_STATUSES,
    InstanceExistsError,
    UnknownOrchestratorError,
    format_timestamp,
    parse_timestamp,
    utc_now,
)
from devhost.store import FINISHED_STATUSES, InstanceQuery, InstanceRecord, Store

WEBHOOK_PATH = "/runtime/webhooks/durabletask"
CONTINUATION_HEADER = "x-ms-continuation-token"
PAGE_SIZE_PARAMETER = "top"
# The extension's page size when a query gives no ``top`` (OrchestrationStatusQueryCondition).
DEFAULT_PAGE_SIZE = 100
# The calls a client makes, as a stall or a forced answer names them.
Route = Literal["start", "status", "list", "purge", "raise_event", "terminate"]
ROUTES: frozenset[str] = frozenset(get_args(Route))
_UNSUPPORTED_OPERATIONS = frozenset({"rewind", "restart", "suspend", "resume"})
_MAX_INSTANCE_ID_LENGTH = 256
_HIDDEN_EVENT_TYPES = frozenset(
    {HistoryEventType.ORCHESTRATOR_STARTED, HistoryEventType.ORCHESTRATOR_COMPLETED}
)


def api_route(method: str, path: str) -> tuple[Route, str | None] | None:
    """Which call a request to the API is, and the instance it names; ``None`` for others.

    ``path`` is the decoded request path.
    """
    if not path.startswith(WEBHOOK_PATH + "/"):
        return None
    parts = path[len(WEBHOOK_PATH) + 1 :].strip("/").split("/")
    head, method = parts[0], method.upper()
    named = parts[1] if len(parts) > 1 else None
    route: Route | None = None
    if head == "orchestrators" and len(parts) in (2, 3) and method == "POST":
        route, named = "start", parts[2] if len(parts) == 3 else None
    elif head == "instances" and len(parts) <= 2:
        route = {"DELETE": "purge", "GET": "status" if named else "list"}.get(method)
    elif head == "instances" and method == "POST" and len(parts) == 4 and parts[2] == "raiseEvent":
        route = "raise_event"
    elif head == "instances" and method == "POST" and len(parts) == 3:
        route = "terminate" if parts[2].lower() == "terminate" else None
    return (route, named) if route else None


class InstanceControl(Protocol):
    """What the management API asks of the task hub: start, raise an event, terminate.

    ``DurableEngine`` runs the orchestrations; ``devhost.standins.durable_api`` holds them
    still for tests that move instances along themselves.
    """

    def start_instance(self, name: str, instance_id: str, raw_input: str | None) -> InstanceRecord:
        """Create or replace an instance, or raise why not (unknown name, instance exists)."""
        ...

    def raise_event(self, instance_id: str, event_name: str, input_json: str | None) -> bool:
        """Deliver an event; ``False`` if the instance no longer takes events."""
        ...

    def terminate(self, instance_id: str, reason: str | None) -> bool:
        """Terminate an instance; ``False`` if it is not running."""
        ...


class DurableUrls:
    """The URLs devhost advertises for its management API."""

    def __init__(self, base_url: str, hub_name: str, system_key: str | None = None) -> None:
        """Build URLs under ``base_url`` for task hub ``hub_name``.

        With ``system_key`` the URLs carry it as ``code=``, as Azure's carry the extension's
        system key; devhost itself checks no key.
        """
        self.webhook = f"{base_url}{WEBHOOK_PATH}"
        self.hub_name = hub_name
        self._code = f"code={quote(system_key, safe='')}" if system_key else ""
        self._query = f"taskHub={quote(hub_name, safe='')}&connection=Storage"
        if self._code:
            self._query += f"&{self._code}"

    def management_payload(self, instance_id: str) -> dict[str, str]:
        """The URLs for one instance, as in the extension's 202 answer."""
        instance = f"{self.webhook}/instances/{quote(instance_id, safe='')}"
        return {
            "id": instance_id,
            "statusQueryGetUri": f"{instance}?{self._query}",
            "sendEventPostUri": f"{instance}/raiseEvent/{{eventName}}?{self._query}",
            "terminatePostUri": f"{instance}/terminate?reason={{text}}&{self._query}",
            "purgeHistoryDeleteUri": f"{instance}?{self._query}",
        }

    def client_binding(self) -> str:
        """The ``durableClient`` binding value: the JSON the extension passes the worker."""
        placeholder = "INSTANCEID"
        management = self.management_payload(placeholder)
        code = f"?{self._code}" if self._code else ""
        wait_code = f"&{self._code}" if self._code else ""
        return json.dumps(
            {
                "taskHubName": self.hub_name,
                "creationUrls": {
                    "createNewInstancePostUri": (
                        f"{self.webhook}/orchestrators/{{functionName}}[/{{instanceId}}]{code}"
                    ),
                    "createAndWaitOnNewInstancePostUri": (
                        f"{self.webhook}/orchestrators/{{functionName}}[/{{instanceId}}]"
                        "?timeout={timeoutInSeconds}&pollingInterval={intervalInSeconds}"
                        f"{wait_code}"
                    ),
                },
                "managementUrls": management,
                "baseUrl": self.webhook,
                "requiredQueryStringParameters": self._code,
                "rpcBaseUrl": f"{self.webhook}/",
                "httpBaseUrl": "",
            }
        )


def _load(text: str | None) -> Any:
    return json.loads(text) if text is not None else None


def _seconds(timestamp: str) -> str:
    return parse_timestamp(timestamp).strftime("%Y-%m-%dT%H:%M:%SZ")


def _event_type_name(value: int) -> str:
    try:
        name = HistoryEventType(value).name
    except ValueError:
        return str(value)
    return "".join(word.capitalize() for word in name.split("_"))


def _history_view(events: list[dict[str, Any]], show_output: bool) -> list[dict[str, Any]]:
    view = []
    for event in events:
        if event["EventType"] in _HIDDEN_EVENT_TYPES:
            continue
        entry: dict[str, Any] = {"EventType": _event_type_name(event["EventType"])}
        for key, value in event.items():
            if key in ("EventType", "IsPlayed", "OrchestrationInstance", "Version"):
                continue
            if key in ("Input", "Result") and not show_output:
                continue
            entry["FunctionName" if key == "Name" else key] = value
        view.append(entry)
    return view


def status_payload(
    record: InstanceRecord,
    *,
    show_input: bool = True,
    history: list[dict[str, Any]] | None = None,
    show_history_output: bool = False,
) -> dict[str, Any]:
    """The status JSON of one instance, shaped like the extension's."""
    payload: dict[str, Any] = {
        "name": record.name,
        "instanceId": record.instance_id,
        "runtimeStatus": record.runtime_status,
        "input": _load(record.input) if show_input else None,
        "customStatus": _load(record.custom_status),
        "output": _load(record.output),
        "createdTime": _seconds(record.created_time),
        "lastUpdatedTime": _seconds(record.last_updated_time),
    }
    if history is not None:
        payload["historyEvents"] = _history_view(history, show_history_output)
    return payload


def _flag(query: Mapping[str, str], name: str, default: bool) -> bool:
    value = query.get(name)
    if value is None or value.lower() not in ("true", "false"):
        return default
    return value.lower() == "true"


def _error(status: int, message: str, exception_message: str | None = None) -> web.Response:
    body = {"Message": message}
    if exception_message is not None:
        body["ExceptionMessage"] = exception_message
    return web.json_response(body, status=status)


def _instance_id_problem(instance_id: str) -> str | None:
    if len(instance_id) > _MAX_INSTANCE_ID_LENGTH:
        return f"Instance ID values must be {_MAX_INSTANCE_ID_LENGTH} characters or less."
    if instance_id.startswith("@"):
        return "Orchestration instance ids must not start with @."
    if any(c in "/\\#?" or ord(c) < 32 or 127 <= ord(c) < 160 for c in instance_id):
        return f"Instance ID '{instance_id}' contains invalid characters."
    return None


async def _json_body(request: web.Request) -> tuple[bool, Any]:
    """Read a JSON body: (True, parsed) — parsed is ``None`` when empty — or (False, None)."""
    raw = await request.read()
    if not raw.strip():
        return True, None
    try:
        return True, json.loads(raw.decode("utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError):
        return False, None


class ManagementApi:
    """Request handlers for the management API."""

    def __init__(self, engine: InstanceControl, store: Store, urls: DurableUrls) -> None:
        """Serve ``engine``'s instances, read from ``store``."""
        self._engine = engine
        self._store = store
        self._urls = urls

    def register(self, app: web.Application) -> None:
        """Add the routes to ``app``."""
        prefix = WEBHOOK_PATH
        router = app.router
        router.add_post(f"{prefix}/orchestrators/{{functionName}}", self.start)
        router.add_post(f"{prefix}/orchestrators/{{functionName}}/{{instanceId}}", self.start)
        for path in (f"{prefix}/instances", f"{prefix}/instances/"):
            router.add_get(path, self.list_instances)
            router.add_delete(path, self.purge_by_filter)
        router.add_get(f"{prefix}/instances/{{instanceId}}", self.status)
        router.add_delete(f"{prefix}/instances/{{instanceId}}", self.purge)
        router.add_post(
            f"{prefix}/instances/{{instanceId}}/raiseEvent/{{eventName}}", self.raise_event
        )
        router.add_post(f"{prefix}/instances/{{instanceId}}/{{operation}}", self.operation)

    async def start(self, request: web.Request) -> web.Response:
        """``POST orchestrators/{functionName}[/{instanceId}]``."""
        name = request.match_info["functionName"]
        instance_id = request.match_info.get("instanceId") or uuid.uuid4().hex
        problem = _instance_id_problem(instance_id)
        if problem:
            return _error(400, "One or more of the arguments submitted is incorrect", problem)
        raw = await request.read()
        raw_input = raw.decode("utf-8", errors="replace") if raw.strip() else None
        if raw_input is not None:
            try:
                json.loads(raw_input)
            except json.JSONDecodeError as exc:
                return _error(400, "Invalid JSON content", str(exc))
        try:
            self._engine.start_instance(name, instance_id, raw_input)
        except UnknownOrchestratorError as exc:
            return _error(400, "One or more of the arguments submitted is incorrect", str(exc))
        except InstanceExistsError as exc:
            return _error(409, str(exc))
        payload = self._urls.management_payload(instance_id)
        headers = {"Location": payload["statusQueryGetUri"], "Retry-After": "10"}
        return web.json_response(payload, status=202, headers=headers)

    async def status(self, request: web.Request) -> web.Response:
        """``GET instances/{instanceId}``: 404 with an empty body when unknown."""
        instance_id = request.match_info["instanceId"]
        record = self._store.get_instance(instance_id)
        if record is None:
            return web.Response(status=404)
        query = request.query
        show_history = _flag(query, "showHistory", default=False)
        payload = status_payload(
            record,
            show_input=_flag(query, "showInput", default=True),
            history=self._store.history(instance_id) if show_history else None,
            show_history_output=_flag(query, "showHistoryOutput", default=False),
        )
        headers: dict[str, str] = {}
        status = 200
        if record.runtime_status in RUNNING_STATUSES:
            status = 202
            headers = {"Location": str(request.url), "Retry-After": "5"}
        elif record.runtime_status == FAILED and _flag(
            query, "returnInternalServerErrorOnFailure", default=False
        ):
            status = 500
        return web.json_response(payload, status=status, headers=headers)

    async def list_instances(self, request: web.Request) -> web.Response:
        """``GET instances``: one page of the instances matching the filters.

        Filters as the extension reads them: ``runtimeStatus`` (comma list), ``createdTimeFrom``
        and ``createdTimeTo`` (inclusive), ``instanceIdPrefix``; ``showInput`` (default true);
        ``top`` is the page size (default 100). When more instances match, the answer carries
        an ``x-ms-continuation-token`` header; sending it back in the same request header
        gives the next page.
        """
        query = request.query
        token = request.headers.get(CONTINUATION_HEADER)
        after = None
        if token:
            after = decode_continuation_token(token)
            if after is None:
                return _error(400, "The continuation token is not valid.")
        page_size = _page_size(query.get(PAGE_SIZE_PARAMETER))
        records = self._store.query_instances(
            InstanceQuery(
                statuses=_statuses(query),
                prefix=query.get("instanceIdPrefix") or None,
                created_from=_time_filter(query.get("createdTimeFrom")),
                created_to=_time_filter(query.get("createdTimeTo")),
            ),
            after=after,
            limit=page_size + 1,
        )
        headers = {}
        if len(records) > page_size:
            records = records[:page_size]
            headers[CONTINUATION_HEADER] = encode_continuation_token(records[-1].instance_id)
        show_input = _flag(query, "showInput", default=True)
        body = [status_payload(r, show_input=show_input) for r in records]
        return web.json_response(body, headers=headers)

    async def raise_event(self, request: web.Request) -> web.Response:
        """``POST instances/{instanceId}/raiseEvent/{eventName}``."""
        instance_id = request.match_info["instanceId"]
        record = self._store.get_instance(instance_id)
        if record is None:
            return web.Response(status=404)
        if record.runtime_status not in RUNNING_STATUSES:
            return web.Response(status=410)
        if request.content_type.lower() != "application/json":
            return _error(400, "Only application/json request content is supported")
        valid, data = await _json_body(request)
        if not valid:
            return _error(400, "Invalid JSON content")
        input_json = json.dumps(data) if data is not None else None
        if not self._engine.raise_event(instance_id, request.match_info["eventName"], input_json):
            return web.Response(status=410)
        return web.Response(status=202)

    async def operation(self, request: web.Request) -> web.Response:
        """``POST instances/{instanceId}/terminate``; other operations are not supported."""
        instance_id = request.match_info["instanceId"]
        operation = request.match_info["operation"].lower()
        if operation in _UNSUPPORTED_OPERATIONS:
            return _error(501, f"devhost does not support the '{operation}' operation")
        if operation != "terminate":
            return web.Response(status=404)
        record = self._store.get_instance(instance_id)
        if record is None:
            return web.Response(status=404)
        if record.runtime_status not in RUNNING_STATUSES:
            return web.Response(status=410)
        if not self._engine.terminate(instance_id, request.query.get("reason")):
            return web.Response(status=410)
        return web.Response(status=202)

    async def purge(self, request: web.Request) -> web.Response:
        """``DELETE instances/{instanceId}``: purge a finished instance's history."""
        instance_id = request.match_info["instanceId"]
        record = self._store.get_instance(instance_id)
        if record is None:
            return web.Response(status=404)
        if record.runtime_status in RUNNING_STATUSES:
            return web.json_response(
                "Only orchestrations in a terminal state can be purged, but the orchestration "
                f"with instance ID {instance_id} has status {record.runtime_status}",
                status=412,
            )
        self._store.purge(instance_id)
        return web.json_response({"instancesDeleted": 1})

    async def purge_by_filter(self, request: web.Request) -> web.Response:
        """``DELETE instances?createdTimeFrom=…[&createdTimeTo=…][&runtimeStatus=…]``.

        As the extension: ``createdTimeFrom`` is required (400 without it), ``createdTimeTo``
        defaults to now, and only the finished statuses among ``runtimeStatus`` count. Answers
        200 with ``instancesDeleted``, or 404 when nothing matched. devhost never purges a
        ``Pending`` or ``Running`` instance: without a finished status in ``runtimeStatus`` it
        purges the finished instances of the time range.
        """
        query = request.query
        created_from = _time_filter(query.get("createdTimeFrom"))
        if created_from is None:
            return web.json_response(
                "Please provide value for 'createdTimeFrom' parameter.", status=400
            )
        created_to = _time_filter(query.get("createdTimeTo")) or format_timestamp(utc_now())
        requested = _statuses(query)
        finished = tuple(s for s in requested if s in FINISHED_STATUSES)
        if requested and not finished:
            return web.Response(status=404)
        deleted = self._store.purge_instances(
            InstanceQuery(
                statuses=finished or FINISHED_STATUSES,
                created_from=created_from,
                created_to=created_to,
            )
        )
        if deleted == 0:
            return web.Response(status=404)
        return web.json_response({"instancesDeleted": deleted})


def _statuses(query: MultiMapping[str]) -> tuple[str, ...]:
    """The known runtime statuses named in ``runtimeStatus`` (others are ignored)."""
    values = query.getall("runtimeStatus", [])
    wanted = {s.strip().lower() for v in values for s in v.split(",")}
    return tuple(s for s in EXTENSION_STATUSES if s.lower() in wanted)


def _page_size(value: str | None) -> int:
    if value is not None and value.strip().isdigit() and int(value) > 0:
        return int(value)
    return DEFAULT_PAGE_SIZE


def encode_continuation_token(last_instance_id: str) -> str:
    """An opaque token for the page after the instance ``last_instance_id``."""
    raw = json.dumps({"after": last_instance_id}).encode("utf-8")
    return base64.urlsafe_b64encode(raw).decode("ascii")


def decode_continuation_token(token: str) -> str | None:
    """The instance ID a continuation token continues after, or ``None`` if it is invalid."""
    try:
        decoded = json.loads(base64.urlsafe_b64decode(token.encode("ascii")))
    except (ValueError, UnicodeError):
        return None
    after = decoded.get("after") if isinstance(decoded, dict) else None
    return after if isinstance(after, str) else None


def _time_filter(value: str | None) -> str | None:
    if not value:
        return None
    try:
        return format_timestamp(parse_timestamp(value))
    except ValueError:
        return None
