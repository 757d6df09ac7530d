"""devhost refuses to start whatever Microsoft's Python worker refuses to load, in its words.

The expected messages are the worker's ``FunctionLoadError`` texts (``Registry.add_function``
in azure-functions-python-worker, published as ``azure-functions-runtime-v1``).
"""

from __future__ import annotations

import uuid
from pathlib import Path
from typing import Any

import pytest

from devhost import DevHost, StartupError, create_host
from devhost.config import load_host_config
from devhost.functions import import_function, read_function_spec, scan_functions
from tests.devhost.toolkit import REPO_ROOT, write_app

HTTP_IN = {"type": "httpTrigger", "direction": "in", "name": "req"}
HTTP_OUT = {"type": "http", "direction": "out", "name": "$return"}
ACTIVITY_IN = {"type": "activityTrigger", "direction": "in", "name": "request"}
CLIENT_IN = {"type": "durableClient", "direction": "in", "name": "starter"}
HTTP_HEAD = "import azure.functions as func\n\n\n"

# The app's activities before they were fixed: a builtin generic under postponed annotations.
OLD_ACTIVITY = """from __future__ import annotations

from typing import Any


def main(request: dict[str, Any]) -> dict[str, Any]:
    return request
"""
FIXED_ACTIVITY = """from __future__ import annotations

from typing import Any, Dict

ActivityPayload = Dict[str, Any]


def main(request: ActivityPayload) -> ActivityPayload:
    return request
"""


def _load(tmp_path: Path, bindings: list[dict[str, Any]], source: str) -> Any:
    name = f"rule_{uuid.uuid4().hex[:12]}"
    write_app(
        tmp_path,
        {f"{name}/function.json": {"bindings": bindings}, f"{name}/__init__.py": source},
    )
    return name, lambda: import_function(tmp_path, read_function_spec(tmp_path, tmp_path / name))


def _refusal(tmp_path: Path, bindings: list[dict[str, Any]], source: str) -> str:
    name, load = _load(tmp_path, bindings, source)
    with pytest.raises(StartupError) as raised:
        load()
    message = str(raised.value)
    prefix = f"cannot load the {name} function: "
    assert message.startswith(prefix), message
    return message[len(prefix) :]


def _one_activity_host(tmp_path: Path, name: str, source: str) -> DevHost:
    """A host for an app of one activity, ``name``, whose ``__init__.py`` is ``source``."""
    app = write_app(
        tmp_path / "app",
        {
            "host.json": {"version": "2.0"},
            f"{name}/function.json": {"bindings": [ACTIVITY_IN]},
            f"{name}/__init__.py": source,
        },
    )
    return create_host(app, tmp_path / "state", port=0)


def test_an_activity_annotated_with_a_builtin_generic_is_refused_at_start(tmp_path, loop_thread):
    host = _one_activity_host(tmp_path, "old_activity", OLD_ACTIVITY)
    with pytest.raises(StartupError) as raised:
        loop_thread.run(host.start())
    assert str(raised.value) == (
        "cannot load the old_activity function: binding request has invalid non-type "
        "annotation dict[str, typing.Any]"
    )


def test_an_activity_annotated_with_a_typing_generic_starts(tmp_path, loop_thread):
    host = _one_activity_host(tmp_path, "new_activity", FIXED_ACTIVITY)
    loop_thread.run(host.start())
    try:
        assert host.base_url
    finally:
        loop_thread.run(host.stop())


def test_every_function_of_the_app_passes_the_workers_checks():
    specs = scan_functions(REPO_ROOT, load_host_config(REPO_ROOT))
    names = {spec.name for spec in specs}
    assert {"call_cache_flush_activity", "notify_user_activity", "flush_orchestrator"} <= names
    for spec in specs:
        import_function(REPO_ROOT, spec)


@pytest.mark.parametrize(
    ("bindings", "source", "message"),
    [
        pytest.param(
            [HTTP_IN, HTTP_OUT],
            HTTP_HEAD + "def main(req: func.Out[func.HttpResponse]) -> str: ...\n",
            'binding req is declared to have the "in" direction in function.json, but its '
            "annotation is azure.functions.Out in Python",
            id="out-on-an-in-binding",
        ),
        pytest.param(
            [HTTP_IN, {"type": "http", "direction": "out", "name": "res"}],
            HTTP_HEAD + "def main(req: func.HttpRequest, res: func.HttpResponse): ...\n",
            'binding res is declared to have the "out" direction, but its annotation in Python '
            "is not a subclass of azure.functions.Out",
            id="out-binding-without-out",
        ),
        pytest.param(
            [HTTP_IN, {"type": "http", "direction": "out", "name": "res"}],
            HTTP_HEAD + "def main(req: func.HttpRequest, res: func.Out[int]): ...\n",
            'type of res binding in function.json "http" does not match its Python annotation '
            '"int"',
            id="out-of-the-wrong-type",
        ),
        pytest.param(
            [HTTP_IN, HTTP_OUT],
            "def main(): ...\n",
            "the following parameters are declared in function.json but not in Python: {'req'}",
            id="missing-parameter",
        ),
        pytest.param(
            [HTTP_IN, HTTP_OUT],
            "def main(req, extra): ...\n",
            "the following parameters are declared in Python but not in function.json: {'extra'}",
            id="extra-parameter",
        ),
        pytest.param(
            [HTTP_IN, HTTP_OUT],
            HTTP_HEAD + "def main(req: func.HttpRequest, context: dict) -> str: ...\n",
            'the "context" parameter is expected to be of type azure.functions.Context, got '
            "\"<class 'dict'>\"",
            id="bad-context-annotation",
        ),
        pytest.param(
            [HTTP_IN, HTTP_OUT],
            HTTP_HEAD + "def main(req: func.HttpResponse) -> str: ...\n",
            'type of req binding in function.json "httpTrigger" does not match its Python '
            'annotation "HttpResponse"',
            id="converter-refuses-the-type",
        ),
        pytest.param(
            [{**HTTP_IN, "dataType": "string"}, HTTP_OUT],
            HTTP_HEAD + "def main(req: func.HttpResponse) -> str: ...\n",
            'binding type "\'req\'" and dataType "httpTrigger" in function.json do not match '
            "the corresponding function parameter's Python type annotation HttpResponse",
            id="converter-refuses-the-type-with-data-type",
        ),
        pytest.param(
            [HTTP_IN, HTTP_OUT, CLIENT_IN],
            HTTP_HEAD + "def main(req: func.HttpRequest, starter: int) -> str: ...\n",
            'type of starter binding in function.json "durableClient" does not match its '
            'Python annotation "int"',
            id="client-that-is-no-string",
        ),
        pytest.param(
            [ACTIVITY_IN],
            "import typing\n\n\ndef main(request: typing.Optional[int]): ...\n",
            "binding request has invalid non-type annotation typing.Optional[int]",
            id="optional-is-no-type",
        ),
        pytest.param(
            [ACTIVITY_IN],
            "def main(request: int | None): ...\n",
            "binding request has invalid non-type annotation int | None",
            id="union-is-no-type",
        ),
        pytest.param(
            [HTTP_IN, HTTP_OUT],
            HTTP_HEAD + "def main(req: func.HttpRequest) -> None: ...\n",
            'Python return annotation "NoneType" does not match binding type "http"',
            id="return-none-on-http",
        ),
        pytest.param(
            [HTTP_IN, HTTP_OUT],
            "import typing\n\n" + HTTP_HEAD + "def main(req: func.HttpRequest)"
            " -> typing.Optional[func.HttpResponse]: ...\n",
            "has invalid non-type return annotation "
            "typing.Optional[azure.functions._http.HttpResponse]",
            id="optional-return",
        ),
        pytest.param(
            [HTTP_IN, HTTP_OUT],
            HTTP_HEAD + "def main(req: func.HttpRequest) -> func.Out[str]: ...\n",
            "return annotation should not be azure.functions.Out",
            id="out-return",
        ),
        pytest.param(
            [{"type": "orchestrationTrigger", "direction": "in", "name": "context"}],
            "import azure.durable_functions as df\n\n\n"
            "def main(context: df.DurableOrchestrationContext) -> str: ...\n",
            'type of context binding in function.json "orchestrationTrigger" does not match its '
            'Python annotation "DurableOrchestrationContext"',
            id="orchestrator-entry-point-taking-the-sdk-context",
        ),
        pytest.param(
            [{**HTTP_IN, "direction": "inout"}, HTTP_OUT],
            "def main(req): ...\n",
            '"inout" bindings are not supported',
            id="inout",
        ),
        pytest.param(
            [HTTP_IN, {**HTTP_OUT, "direction": "in"}],
            "def main(req): ...\n",
            '"$return" binding must have direction set to "out"',
            id="return-not-out",
        ),
    ],
)
def test_the_workers_load_time_checks_refuse_with_its_message(tmp_path, bindings, source, message):
    assert _refusal(tmp_path, bindings, source) == message


@pytest.mark.parametrize(
    ("bindings", "source"),
    [
        pytest.param(
            [HTTP_IN, HTTP_OUT, CLIENT_IN],
            HTTP_HEAD + "async def main(req: func.HttpRequest, starter: str) -> "
            "func.HttpResponse: ...\n",
            id="http-with-client",
        ),
        pytest.param(
            [HTTP_IN, {"type": "http", "direction": "out", "name": "res"}],
            HTTP_HEAD + "def main(req: func.HttpRequest, res: func.Out[func.HttpResponse]): ...\n",
            id="named-out",
        ),
        pytest.param(
            [HTTP_IN, HTTP_OUT],
            HTTP_HEAD + "def main(req: func.HttpRequest, context: func.Context) -> str: ...\n",
            id="context",
        ),
        pytest.param([HTTP_IN, HTTP_OUT], "def main(req: str) -> str: ...\n", id="str-as-generic"),
        pytest.param([ACTIVITY_IN], "def main(request: int) -> dict: ...\n", id="activity"),
    ],
)
def test_what_the_worker_accepts_loads(tmp_path, bindings, source):
    name, load = _load(tmp_path, bindings, source)
    assert load().name == name
