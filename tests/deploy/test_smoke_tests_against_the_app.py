"""The smoke tests against the app's real HTTP functions, behind a stand-in for the Functions
host's function-key check: they expect exactly what this app answers, and cause no side effect."""

from __future__ import annotations

import asyncio
import importlib
import inspect
import json
from collections.abc import Callable

import azure.functions as func
import pytest

from tests.deploy.support import Answer, LocalServer, Request, output_of, run_script

FUNCTION_KEY = "host-default-function-key"
SIGNING_SECRET = "0123456789abcdef0123456789abcdef"
DURABLE_CLIENT = json.dumps(
    {
        "taskHubName": "SmokeTestHub",
        "creationUrls": {},
        "managementUrls": {},
        "baseUrl": "http://127.0.0.1:9/runtime/webhooks/durabletask",
        "requiredQueryStringParameters": "",
        "rpcBaseUrl": "http://127.0.0.1:9/durabletask/",
    }
)


def function_host(request: Request) -> Answer:
    """What the Functions host does in front of the app: home page, routes, key check."""
    if request.path == "/":
        return Answer(200, b"<html>Your Functions 4.0 app is up and running</html>")
    folders = {"/api/slash-start": "slash_start", "/api/orchestrator-client": "orchestrator_client"}
    if request.path not in folders:
        return Answer(404)
    key = request.headers.get("x-functions-key") or request.query.get("code", [""])[0]
    if key != FUNCTION_KEY:
        return Answer(401)
    main = importlib.import_module(folders[request.path]).main
    http_request = func.HttpRequest(
        method=request.method,
        url=f"http://127.0.0.1{request.path}",
        headers=request.headers,
        params={},
        body=request.body,
    )
    if inspect.iscoroutinefunction(main):
        response = asyncio.run(main(http_request, DURABLE_CLIENT))
    else:
        response = main(http_request)
    return Answer(response.status_code, response.get_body())


@pytest.fixture
def deployed_app(monkeypatch: pytest.MonkeyPatch, local_server: Callable[..., LocalServer]):
    """The app configured as in Azure, every dependency a recording loopback server."""
    dependencies = local_server(lambda request: Answer(500))
    monkeypatch.setenv(
        "AZURE_STORAGE_CONNECTION_STRING",
        "DefaultEndpointsProtocol=http;AccountName=devstoreaccount1;AccountKey="
        "Eby8vdM02xNOcqFlqUwJPLlmEtlCDXJ1OUzFT50uSRZ6IFsuFq2UVErCz4I6tq/K1SZFPTOtr/KBHBeksoGMGw==;"
        f"BlobEndpoint={dependencies.origin}/devstoreaccount1;",
    )
    monkeypatch.setenv(
        "CACHE_FLUSH_FUNCTION_APP_FULL_URL_WITH_PATH_AND_CODE",
        f"{dependencies.origin}/api/FastPurgeUrls?code=cache-flush-key",
    )
    monkeypatch.setenv("SLACK_BOT_USER_OAUTH_ACCESS_TOKEN", "xoxb-smoke-test")
    monkeypatch.setenv("SLACK_SIGNING_SECRET", SIGNING_SECRET)
    monkeypatch.setenv("SLACK_API_URL", f"{dependencies.origin}/slack/api/")
    return local_server(function_host), dependencies


def env_for(server: LocalServer, **overrides: str) -> dict[str, str]:
    env = {
        "APP_SERVICE_HOST": server.origin,
        "FUNCTION_KEY": FUNCTION_KEY,
        "SLACK_SIGNING_SECRET": SIGNING_SECRET,
        "SMOKE_TEST_TIMEOUT_SECONDS": "0",
    }
    env.update(overrides)
    return env


def test_both_smoke_tests_pass_against_the_app_and_touch_nothing_else(deployed_app) -> None:
    app, dependencies = deployed_app
    deployed = run_script("test-app-is-deployed.sh", env=env_for(app))
    assert deployed.returncode == 0, output_of(deployed)
    running = run_script("test-app-is-running.sh", env=env_for(app))
    assert running.returncode == 0, output_of(running)
    assert "a signed ssl_check passes the key and the signature check (200)" in running.stdout
    assert dependencies.received() == [], "no Slack call, no blob read, no cache flush"


def test_the_running_test_catches_a_signing_secret_that_differs_from_vault(deployed_app) -> None:
    app, _ = deployed_app
    result = run_script("test-app-is-running.sh", env=env_for(app, SLACK_SIGNING_SECRET="stale"))
    assert result.returncode == 1
    assert "got 401" in result.stdout


def test_the_running_test_catches_a_missing_app_setting(deployed_app, monkeypatch) -> None:
    app, _ = deployed_app
    monkeypatch.delenv("SLACK_BOT_USER_OAUTH_ACCESS_TOKEN")
    result = run_script("test-app-is-running.sh", env=env_for(app))
    assert result.returncode == 1
    assert (
        "got 500: the function ran and failed, usually because an app setting is missing"
        in result.stdout
    )
