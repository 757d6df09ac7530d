"""The toy function apps the in-process devhost tests run (written to a temporary folder)."""

from __future__ import annotations

from typing import Any

from tests.devhost.toolkit import ORCHESTRATOR_JSON, activity_json, http_function

STARTER = """
import azure.durable_functions as df
import azure.functions as func


async def main(req: func.HttpRequest, starter: str) -> func.HttpResponse:
    client = df.DurableOrchestrationClient(starter)
    payload = req.get_json() if req.get_body() else None
    instance_id = await client.start_new(
        req.route_params["orchestrator"], req.params.get("id"), payload
    )
    return client.create_check_status_response(req, instance_id)
"""

STATUS = """
import json

import azure.durable_functions as df
import azure.functions as func


async def main(req: func.HttpRequest, starter: str) -> func.HttpResponse:
    client = df.DurableOrchestrationClient(starter)
    status = await client.get_status(req.route_params["instance"])
    body = {
        "exists": bool(status),
        "runtimeStatus": status.runtime_status.value if status else None,
        "output": status.output if status else None,
    }
    return func.HttpResponse(json.dumps(body), mimetype="application/json")
"""

ECHO = """
import json

import azure.functions as func


def main(req: func.HttpRequest) -> func.HttpResponse:
    body = {
        "method": req.method,
        "url": req.url,
        "params": dict(req.params),
        "route": dict(req.route_params),
        "body": req.get_body().decode("utf-8"),
        "x_test": req.headers.get("X-Test"),
        "content_type": req.headers.get("content-type"),
    }
    return func.HttpResponse(json.dumps(body), mimetype="application/json")
"""

HTML = """
import azure.functions as func


def main(req: func.HttpRequest) -> func.HttpResponse:
    return func.HttpResponse("<p>caf\\u00e9</p>", mimetype="text/html", charset="latin-1")
"""

NONE = """
import azure.functions as func


def main(req: func.HttpRequest) -> None:
    return None
"""

ASYNC = """
import asyncio
import threading

import azure.functions as func


async def main(req: func.HttpRequest) -> func.HttpResponse:
    await asyncio.sleep(0)
    return func.HttpResponse(f"async on {threading.current_thread().name}", status_code=200)
"""

TEXT = """
import azure.functions as func


def main(req: func.HttpRequest) -> str:
    return "plain text"
"""

BOOM = """
import azure.functions as func


def main(req: func.HttpRequest) -> func.HttpResponse:
    raise RuntimeError("kaboom")
"""

OUT = """
import azure.functions as func


def main(req: func.HttpRequest, res: func.Out[func.HttpResponse]) -> None:
    res.set(func.HttpResponse("created", status_code=201, headers={"X-Made": "yes"}))
"""

CONTEXT = """
import azure.functions as func


def main(req: func.HttpRequest, context: func.Context) -> str:
    return f"{context.function_name}|{context.invocation_id}"
"""

SHARED = """
import azure.functions as func

from toyshared.greeting import greet


def main(req: func.HttpRequest) -> str:
    return greet(req.params.get("name", "nobody"))
"""

INT_ROUTE = """
import azure.functions as func


def main(req: func.HttpRequest) -> str:
    return "item " + req.route_params["id"]
"""

FLOW = """
import azure.durable_functions as df


def orchestrator(context: df.DurableOrchestrationContext):
    first = yield context.call_activity("toy_double", context.get_input()["n"])
    context.set_custom_status({"stage": "fan-out", "first": first})
    rest = yield context.task_all(
        [context.call_activity("toy_double", first + i) for i in range(3)]
    )
    return {"first": first, "rest": rest}


main = df.Orchestrator.create(orchestrator)
"""

RETRY = """
import azure.durable_functions as df


def orchestrator(context: df.DurableOrchestrationContext):
    job = context.get_input()
    options = df.RetryOptions(job["interval"], job["attempts"])
    try:
        result = yield context.call_activity_with_retry("toy_flaky", options, job["spec"])
    except Exception as error:
        return {"error": str(error)}
    return {"ok": result}


main = df.Orchestrator.create(orchestrator)
"""

RETRY_FANOUT = """
import azure.durable_functions as df


def orchestrator(context: df.DurableOrchestrationContext):
    job = context.get_input()
    options = df.RetryOptions(job["interval"], job["attempts"])
    tasks = [context.call_activity_with_retry("toy_flaky", options, s) for s in job["specs"]]
    tasks.append(context.call_activity("toy_double", 21))
    results = yield context.task_all(tasks)
    after = yield context.call_activity("toy_double", len(results))
    return {"results": results, "after": after}


main = df.Orchestrator.create(orchestrator)
"""

TIMER = """
from datetime import timedelta

import azure.durable_functions as df


def orchestrator(context: df.DurableOrchestrationContext):
    started = context.current_utc_datetime
    delay = timedelta(milliseconds=context.get_input()["ms"])
    yield context.create_timer(started + delay)
    elapsed = context.current_utc_datetime - started
    return {"fired": True, "elapsed_ms": elapsed.total_seconds() * 1000}


main = df.Orchestrator.create(orchestrator)
"""

WAIT = """
import azure.durable_functions as df


def orchestrator(context: df.DurableOrchestrationContext):
    context.set_custom_status("waiting")
    event = yield context.wait_for_external_event("Approval")
    context.set_custom_status("approved")
    return {"input": context.get_input(), "event": event}


main = df.Orchestrator.create(orchestrator)
"""

BROKEN = """
import azure.durable_functions as df


def orchestrator(context: df.DurableOrchestrationContext):
    first = yield context.call_activity("toy_double", 1)
    raise ValueError(f"orchestrator broke after {first}")


main = df.Orchestrator.create(orchestrator)
"""

UNSUPPORTED = """
import azure.durable_functions as df


def orchestrator(context: df.DurableOrchestrationContext):
    result = yield context.call_sub_orchestrator("toy_flow", {"n": 1})
    return result


main = df.Orchestrator.create(orchestrator)
"""

UNRETRIED = """
import azure.durable_functions as df


def orchestrator(context: df.DurableOrchestrationContext):
    result = yield context.call_activity("toy_flaky", context.get_input())
    return result


main = df.Orchestrator.create(orchestrator)
"""

BLOCK = """
import azure.durable_functions as df


def orchestrator(context: df.DurableOrchestrationContext):
    result = yield context.call_activity("toy_blocker", context.get_input())
    return result


main = df.Orchestrator.create(orchestrator)
"""

BLOCKER = """
import time
from pathlib import Path


def main(payload: dict) -> str:
    work = Path(payload["dir"])
    (work / (payload["key"] + ".started")).write_text("started")
    release = work / (payload["key"] + ".release")
    deadline = time.monotonic() + 30
    while not release.exists() and time.monotonic() < deadline:
        time.sleep(0.01)
    return "released" if release.exists() else "gave up"
"""

AUDIT = """
import logging

import azure.durable_functions as df


def orchestrator(context: df.DurableOrchestrationContext):
    if not context.is_replaying:
        logging.info("audit %s", context.instance_id)
    first = yield context.call_activity("toy_double", 1)
    second = yield context.call_activity("toy_double", first)
    return second


main = df.Orchestrator.create(orchestrator)
"""

RAISE = """
import azure.durable_functions as df
import azure.functions as func


async def main(req: func.HttpRequest, starter: str) -> func.HttpResponse:
    client = df.DurableOrchestrationClient(starter)
    await client.raise_event(req.route_params["instance"], "Approval", req.get_json())
    return func.HttpResponse(status_code=202)
"""

RACE = """
from datetime import timedelta

import azure.durable_functions as df


def orchestrator(context: df.DurableOrchestrationContext):
    deadline = context.current_utc_datetime + timedelta(milliseconds=context.get_input()["ms"])
    timeout = context.create_timer(deadline)
    event = context.wait_for_external_event("Go")
    context.set_custom_status("racing")
    winner = yield context.task_any([timeout, event])
    if winner == event:
        timeout.cancel()
        return {"winner": "event", "value": event.result}
    return {"winner": "timer"}


main = df.Orchestrator.create(orchestrator)
"""

ASYNC_CALLER = """
import azure.durable_functions as df


def orchestrator(context: df.DurableOrchestrationContext):
    result = yield context.call_activity("toy_async_activity", context.get_input())
    return result


main = df.Orchestrator.create(orchestrator)
"""

ASYNC_ACTIVITY = """
import asyncio
import threading


async def main(payload: int) -> dict:
    await asyncio.sleep(0)
    return {"doubled": payload * 2, "thread": threading.current_thread().name}
"""

DOUBLE = """
def main(payload: int) -> int:
    return payload * 2
"""

FLAKY = """
from pathlib import Path


def main(payload: dict) -> dict:
    counter = Path(payload["dir"]) / (payload["key"] + ".attempts")
    attempt = int(counter.read_text()) + 1 if counter.exists() else 1
    counter.write_text(str(attempt))
    if attempt <= payload["failures"]:
        raise RuntimeError(f"boom {payload['key']} attempt {attempt}")
    return {"key": payload["key"], "attempts": attempt}
"""

TOY_APP: dict[str, Any] = {
    "host.json": {"version": "2.0"},
    "toyshared/__init__.py": "",
    "toyshared/greeting.py": 'def greet(name: str) -> str:\n    return f"hello {name}"\n',
    "toy_start/function.json": http_function("start/{orchestrator}", ["post"], client=True),
    "toy_start/__init__.py": STARTER,
    "toy_status/function.json": http_function("status/{instance}", ["get"], client=True),
    "toy_status/__init__.py": STATUS,
    "toy_echo/function.json": http_function("echo/{name?}", ["get", "post", "put"]),
    "toy_echo/__init__.py": ECHO,
    "toy_html/function.json": http_function("html", ["get"]),
    "toy_html/__init__.py": HTML,
    "toy_none/function.json": http_function("none", ["get"]),
    "toy_none/__init__.py": NONE,
    "toy_async/function.json": http_function("async", ["get"]),
    "toy_async/__init__.py": ASYNC,
    "toy_text/function.json": http_function("text", ["get"]),
    "toy_text/__init__.py": TEXT,
    "toy_boom/function.json": http_function("boom", ["get"]),
    "toy_boom/__init__.py": BOOM,
    "toy_out/function.json": {
        "bindings": [
            {"type": "httpTrigger", "direction": "in", "name": "req", "route": "out"},
            {"type": "http", "direction": "out", "name": "res"},
        ]
    },
    "toy_out/__init__.py": OUT,
    "toy_default/function.json": {
        "bindings": [
            {"type": "httpTrigger", "direction": "in", "name": "req"},
            {"type": "http", "direction": "out", "name": "$return"},
        ]
    },
    "toy_default/__init__.py": TEXT,
    "toy_context/function.json": http_function("context", ["get"]),
    "toy_context/__init__.py": CONTEXT,
    "toy_shared/function.json": http_function("shared", ["get"]),
    "toy_shared/__init__.py": SHARED,
    "toy_int/function.json": http_function("items/{id:int}", ["get"]),
    "toy_int/__init__.py": INT_ROUTE,
    "toy_flow/function.json": ORCHESTRATOR_JSON,
    "toy_flow/__init__.py": FLOW,
    "toy_retry/function.json": ORCHESTRATOR_JSON,
    "toy_retry/__init__.py": RETRY,
    "toy_retry_fanout/function.json": ORCHESTRATOR_JSON,
    "toy_retry_fanout/__init__.py": RETRY_FANOUT,
    "toy_timer/function.json": ORCHESTRATOR_JSON,
    "toy_timer/__init__.py": TIMER,
    "toy_wait/function.json": ORCHESTRATOR_JSON,
    "toy_wait/__init__.py": WAIT,
    "toy_broken/function.json": ORCHESTRATOR_JSON,
    "toy_broken/__init__.py": BROKEN,
    "toy_unsupported/function.json": ORCHESTRATOR_JSON,
    "toy_unsupported/__init__.py": UNSUPPORTED,
    "toy_unretried/function.json": ORCHESTRATOR_JSON,
    "toy_unretried/__init__.py": UNRETRIED,
    "toy_block/function.json": ORCHESTRATOR_JSON,
    "toy_block/__init__.py": BLOCK,
    "toy_blocker/function.json": activity_json(),
    "toy_blocker/__init__.py": BLOCKER,
    "toy_audit/function.json": ORCHESTRATOR_JSON,
    "toy_audit/__init__.py": AUDIT,
    "toy_raise/function.json": http_function("raise/{instance}", ["post"], client=True),
    "toy_raise/__init__.py": RAISE,
    "toy_race/function.json": ORCHESTRATOR_JSON,
    "toy_race/__init__.py": RACE,
    "toy_async_caller/function.json": ORCHESTRATOR_JSON,
    "toy_async_caller/__init__.py": ASYNC_CALLER,
    "toy_async_activity/function.json": activity_json(),
    "toy_async_activity/__init__.py": ASYNC_ACTIVITY,
    "toy_double/function.json": activity_json(),
    "toy_double/__init__.py": DOUBLE,
    "toy_flaky/function.json": activity_json(),
    "toy_flaky/__init__.py": FLAKY,
}

STRICT_STARTER = """
import json

import azure.durable_functions as df
import azure.functions as func


async def main(req: func.HttpRequest, starter: str) -> func.HttpResponse:
    client = df.DurableOrchestrationClient(starter)
    try:
        instance_id = await client.start_new(
            "strict_wait", req.route_params["instance"], req.get_json()
        )
    except Exception as error:
        return func.HttpResponse(str(error), status_code=409)
    return func.HttpResponse(json.dumps({"id": instance_id}), status_code=202)
"""

STRICT_WAIT = """
import azure.durable_functions as df


def orchestrator(context: df.DurableOrchestrationContext):
    event = yield context.wait_for_external_event("Go")
    return {"input": context.get_input(), "event": event}


main = df.Orchestrator.create(orchestrator)
"""

STRICT_APP: dict[str, Any] = {
    "host.json": {
        "version": "2.0",
        "extensions": {"durableTask": {"overridableExistingInstanceStates": "NonRunningStates"}},
    },
    "strict_start/function.json": http_function("strict/{instance}", ["post"], client=True),
    "strict_start/__init__.py": STRICT_STARTER,
    "strict_wait/function.json": ORCHESTRATOR_JSON,
    "strict_wait/__init__.py": STRICT_WAIT,
}
