"""devhost's building blocks on their own: routes, redaction, configuration, validation."""

from __future__ import annotations

import socket
import uuid
from datetime import timedelta

import azure.functions as func
import pytest

from devhost import StartupError, create_host
from devhost.config import load_host_config, load_local_settings
from devhost.engine import _RetryingCall
from devhost.functions import import_function, read_function_spec, scan_functions
from devhost.invocation import encode_http_response
from devhost.management import WEBHOOK_PATH, api_route
from devhost.redact import redact
from devhost.routing import compile_route
from tests.devhost.toolkit import write_app


@pytest.mark.parametrize(
    ("template", "path", "params"),
    [
        ("slash-start", "slash-start", {}),
        ("slash-start", "SLASH-START", {}),
        ("items/{id}", "items/7", {"id": "7"}),
        ("v{major}/things", "v2/things", {"major": "2"}),
    ],
)
def test_route_templates_match(template, path, params):
    match = compile_route(template).fullmatch(path)
    assert match is not None
    assert {k: v for k, v in match.groupdict().items() if v is not None} == params


@pytest.mark.parametrize(
    ("template", "path"),
    [
        ("slash-start", "slash-start/extra"),
        ("items/{id}", "items"),
        ("items/{id}", "items/a/b"),
    ],
)
def test_route_templates_reject(template, path):
    assert compile_route(template).fullmatch(path) is None


@pytest.mark.parametrize(
    ("method", "path", "expected"),
    [
        ("POST", "/orchestrators/flush_orchestrator/T1-V1", ("start", "T1-V1")),
        ("POST", "/orchestrators/flush_orchestrator", ("start", None)),
        ("GET", "/instances/T1-V1", ("status", "T1-V1")),
        ("GET", "/instances/", ("list", None)),
        ("GET", "/instances", ("list", None)),
        ("DELETE", "/instances/T1-V1", ("purge", "T1-V1")),
        ("DELETE", "/instances/", ("purge", None)),
        ("POST", "/instances/T1-V1/raiseEvent/decision", ("raise_event", "T1-V1")),
        ("POST", "/instances/T1-V1/terminate", ("terminate", "T1-V1")),
        ("POST", "/instances/T1-V1/rewind", None),
        ("GET", "/orchestrators/flush_orchestrator", None),
        ("PUT", "/instances/T1-V1", None),
    ],
)
def test_each_management_call_is_named_with_its_instance(method, path, expected):
    assert api_route(method, WEBHOOK_PATH + path) == expected
    assert api_route(method, "/api" + path) is None


def test_redaction_masks_query_values_tokens_and_secret_settings():
    environ = {"SLACK_BOT_TOKEN": "xoxb-123-secret-token", "HOME_DIR": "/home/someone"}
    text = (
        "GET https://flush.example/api/flush?code=abc123&x=1 Authorization: Bearer tok.en "
        "token xoxb-123-secret-token and xoxp-999-other AccountKey=Zm9vYmFy; home /home/someone"
    )
    redacted = redact(text, environ)
    for secret in ("abc123", "tok.en", "xoxb-123-secret-token", "xoxp-999-other", "Zm9vYmFy"):
        assert secret not in redacted
    assert "https://flush.example/api/flush?code=***&x=***" in redacted
    assert "/home/someone" in redacted


def test_host_json_settings(tmp_path):
    write_app(
        tmp_path,
        {
            "host.json": {
                "version": "2.0",
                "extensions": {
                    "http": {"routePrefix": "/v1/"},
                    "durableTask": {
                        "hubName": "Hub",
                        "overridableExistingInstanceStates": "nonrunningstates",
                    },
                },
            }
        },
    )
    config = load_host_config(tmp_path)
    assert config.route_prefix == "v1"
    assert config.hub_name == "Hub"
    assert config.overridable_existing_instance_states == "NonRunningStates"


def test_host_json_rejects_unknown_overridable_states(tmp_path):
    write_app(
        tmp_path,
        {"host.json": {"extensions": {"durableTask": {"overridableExistingInstanceStates": "x"}}}},
    )
    with pytest.raises(StartupError, match="overridableExistingInstanceStates"):
        load_host_config(tmp_path)


def test_local_settings_fill_the_environment_without_overriding_it(tmp_path):
    write_app(
        tmp_path,
        {
            "local.settings.json": {
                "IsEncrypted": False,
                "Values": {"A": "from-file", "B": "from-file", "FLAG": True, "N": 3},
            }
        },
    )
    environ = {"B": "from-env"}
    applied = load_local_settings(tmp_path, environ)
    assert environ == {"A": "from-file", "B": "from-env", "FLAG": "true", "N": "3"}
    assert sorted(applied) == ["A", "FLAG", "N"]


HTTP_IN = {"type": "httpTrigger", "direction": "in", "name": "req"}
HTTP_OUT = {"type": "http", "direction": "out", "name": "$return"}


@pytest.mark.parametrize(
    ("bindings", "message"),
    [
        ([HTTP_OUT], "exactly one trigger binding"),
        ([HTTP_IN, {**HTTP_IN, "name": "other"}], "exactly one trigger binding"),
        ([{**HTTP_IN, "direction": "out"}], "must have direction 'in'"),
        ([HTTP_IN, HTTP_OUT, {**HTTP_OUT, "name": "res"}], "at most one 'http' output"),
        ([{**HTTP_IN, "methods": ["FETCH"]}], "'methods' must list HTTP methods"),
        (
            [{"type": "activityTrigger", "direction": "in", "name": "x"}, HTTP_OUT],
            "needs an httpTrigger",
        ),
        ([{"type": "queueTrigger", "direction": "in", "name": "q"}], "type 'queueTrigger'"),
        ([{"type": "timerTrigger", "direction": "in", "name": "t"}], "needs a 'schedule'"),
        (
            [
                {"type": "timerTrigger", "direction": "in", "name": "t", "schedule": "* * * * * *"},
                {"type": "http", "direction": "out", "name": "$return"},
            ],
            "needs an httpTrigger",
        ),
        (
            [
                {
                    "type": "timerTrigger",
                    "direction": "in",
                    "name": "t",
                    "schedule": "0 * * * * *",
                    "runOnStartup": "yes",
                }
            ],
            "'runOnStartup' must be true or false",
        ),
        ([HTTP_IN, {**HTTP_OUT, "name": "req"}], "duplicate binding name 'req'"),
        ([{**HTTP_IN, "name": "not valid"}], "invalid 'name'"),
        ([{**HTTP_IN, "route": "items/{id:int}"}, HTTP_OUT], "parameter devhost does not"),
        ([{**HTTP_IN, "route": "items/{id?}"}, HTTP_OUT], "parameter devhost does not"),
        ([{**HTTP_IN, "route": "files/{*rest}"}, HTTP_OUT], "parameter devhost does not"),
    ],
)
def test_invalid_function_json_is_refused_naming_the_function(tmp_path, bindings, message):
    write_app(
        tmp_path,
        {
            "my_func/function.json": {"bindings": bindings},
            "my_func/__init__.py": "def main(req): ...\n",
        },
    )
    with pytest.raises(StartupError, match="function 'my_func'") as raised:
        read_function_spec(tmp_path, tmp_path / "my_func")
    assert message in str(raised.value)


def test_missing_script_file_is_refused(tmp_path):
    write_app(tmp_path, {"lonely/function.json": {"bindings": [HTTP_IN, HTTP_OUT]}})
    with pytest.raises(
        StartupError, match=r"function 'lonely': scriptFile '__init__\.py' not found"
    ):
        read_function_spec(tmp_path, tmp_path / "lonely")


def test_disabled_functions_and_folders_without_function_json_are_skipped(tmp_path):
    write_app(
        tmp_path,
        {
            "on_func/function.json": {"bindings": [HTTP_IN, HTTP_OUT]},
            "on_func/__init__.py": "def main(req): ...\n",
            "off_func/function.json": {"disabled": True, "bindings": [HTTP_IN, HTTP_OUT]},
            "helpers/__init__.py": "",
        },
    )
    specs = scan_functions(tmp_path, load_host_config(tmp_path))
    assert [s.name for s in specs] == ["on_func"]


@pytest.mark.parametrize(
    ("source", "message"),
    [
        ("def handler(req): ...\n", "entry point 'main' not found"),
        ("raise ImportError('no such thing')\n", "cannot import"),
    ],
)
def test_entry_point_must_be_importable(tmp_path, source, message):
    name = f"unit_{uuid.uuid4().hex[:12]}"
    write_app(
        tmp_path,
        {f"{name}/function.json": {"bindings": [HTTP_IN, HTTP_OUT]}, f"{name}/__init__.py": source},
    )
    spec = read_function_spec(tmp_path, tmp_path / name)
    with pytest.raises(StartupError, match=f"function '{name}'") as raised:
        import_function(tmp_path, spec)
    assert message in str(raised.value)


def test_http_function_returning_an_unsupported_type_is_an_error():
    with pytest.raises(TypeError, match="must return HttpResponse, str or None"):
        encode_http_response({"not": "a response"})
    reply = encode_http_response(func.HttpResponse(b"{}", mimetype="application/json"))
    assert reply.headers == [("content-type", "application/json")]


def test_retry_interval_applies_backoff_and_cap():
    options = {
        "firstRetryIntervalInMilliseconds": 100,
        "maxNumberOfAttempts": 5,
        "backoffCoefficient": 2,
        "maxRetryIntervalInMilliseconds": 300,
    }
    call = _RetryingCall(name="a", input=None, options=options, attempt=1, task_id=0)
    delays = []
    for attempt in (1, 2, 3, 4):
        call.attempt = attempt
        delays.append(call.delay())
    assert delays == [timedelta(milliseconds=ms) for ms in (100, 200, 300, 300)]
    assert not call.exhausted
    call.attempt = 5
    assert call.exhausted


def test_a_state_directory_serves_one_host_at_a_time(toy, loop_thread):
    second = create_host(toy.host.app_root, toy.host.state_dir, port=0)
    with pytest.raises(StartupError, match="in use by another devhost"):
        loop_thread.run(second.start())


def test_a_busy_port_is_a_startup_error(tmp_path, loop_thread):
    write_app(tmp_path / "app", {"host.json": {"version": "2.0"}})
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        host = create_host(tmp_path / "app", tmp_path / "state", port=port)
        with pytest.raises(StartupError, match=f"cannot listen on 127.0.0.1:{port}"):
            loop_thread.run(host.start())
