"""scripts/test-app-is-deployed.sh and test-app-is-running.sh against a loopback stand-in
for a deployed function app: the Functions host's key check in front of the app's own
Slack signature check (slack-sdk's SignatureVerifier, which checks what the app checks)."""

from __future__ import annotations

import subprocess
import threading
from collections.abc import Callable
from shlex import split
from urllib.parse import parse_qs

import pytest
from slack_sdk.signature import SignatureVerifier

from tests.deploy.support import Answer, FakeAz, LocalServer, Request, output_of, run_script

FUNCTION_KEY = "fUnCtIoN+key/with==specials"
SIGNING_SECRET = "8f742231b10e8888abcd99yyyzzz85a5"
ROUTES = ("/api/slash-start", "/api/orchestrator-client")


class FakeFunctionApp:
    """Answers as a deployed app does; attributes switch on the failures a deployment can have."""

    def __init__(self) -> None:
        self.key = FUNCTION_KEY
        self.secret = SIGNING_SECRET
        self.starting_answers = 0  # answer 503 this many times first, as a starting host does
        self.home_status = 200
        self.functions_loaded = True
        self.anonymous = False  # authLevel "anonymous": no key needed
        self.app_status: int | None = None  # e.g. 500: the app is not configured
        self._lock = threading.Lock()

    def __call__(self, request: Request) -> Answer:  # noqa: PLR0911 - one per kind of answer
        with self._lock:
            if self.starting_answers > 0:
                self.starting_answers -= 1
                return Answer(503)
        if request.path == "/":
            return Answer(self.home_status, b"<html>Your Functions 4.0 app is up</html>")
        if request.path not in ROUTES or not self.functions_loaded:
            return Answer(404)
        if request.method != "POST":
            return Answer(405)
        key = request.headers.get("x-functions-key") or request.query.get("code", [""])[0]
        if not self.anonymous and key != self.key:
            return Answer(401)
        if self.app_status is not None:
            return Answer(self.app_status, b"The app is not configured correctly")
        body = request.body.decode()
        timestamp = request.headers.get("x-slack-request-timestamp")
        signature = request.headers.get("x-slack-signature")
        verifier = SignatureVerifier(self.secret)
        if not (
            timestamp
            and signature
            and verifier.is_valid(body=body, timestamp=timestamp, signature=signature)
        ):
            return Answer(401, b"Invalid request signature")
        if request.path == ROUTES[0] and parse_qs(body).get("ssl_check") == ["1"]:
            return Answer(200)
        return Answer(400, b"Not a slash command")


@pytest.fixture
def app(local_server: Callable[..., LocalServer]) -> tuple[FakeFunctionApp, LocalServer]:
    fake = FakeFunctionApp()
    return fake, local_server(fake)


def smoke_env(server: LocalServer, **overrides: str) -> dict[str, str]:
    env = {
        "APP_SERVICE_HOST": server.origin,
        "SMOKE_TEST_TIMEOUT_SECONDS": "0",
        "SMOKE_TEST_INTERVAL_SECONDS": "0",
    }
    env.update(overrides)
    return env


def running_env(server: LocalServer, **overrides: str) -> dict[str, str]:
    env = smoke_env(server, FUNCTION_KEY=FUNCTION_KEY, SLACK_SIGNING_SECRET=SIGNING_SECRET)
    env.update(overrides)
    return env


def error_lines(result) -> list[str]:
    return [line for line in result.stdout.splitlines() if "logissue type=error" in line]


def run_reading_the_key_with_az(
    server: LocalServer, fake_az: FakeAz, **overrides: str
) -> subprocess.CompletedProcess[str]:
    """Run test-app-is-running.sh without FUNCTION_KEY, so that it asks ``fake_az``."""
    env = running_env(server, **overrides)
    del env["FUNCTION_KEY"]
    env.update(fake_az.env)
    return run_script("test-app-is-running.sh", env=env, path_prefix=fake_az.bin)


# test-app-is-deployed.sh


def test_deployed_passes_against_a_deployed_app(app) -> None:
    _, server = app
    result = run_script("test-app-is-deployed.sh", env=smoke_env(server))
    assert result.returncode == 0, output_of(result)
    assert [(r.method, r.path) for r in server.received()] == [
        ("GET", "/"),
        ("POST", "/api/slash-start"),
        ("POST", "/api/orchestrator-client"),
    ]
    assert all("x-functions-key" not in r.headers for r in server.received())


def test_deployed_accepts_a_bare_host_name_and_a_trailing_slash(app) -> None:
    _, server = app
    result = run_script(
        "test-app-is-deployed.sh", env=smoke_env(server, APP_SERVICE_HOST=f"{server.origin}/")
    )
    assert result.returncode == 0, output_of(result)
    assert server.received()[0].path == "/"


def test_deployed_waits_for_a_host_that_is_still_starting(app) -> None:
    fake, server = app
    fake.starting_answers = 2
    result = run_script(
        "test-app-is-deployed.sh", env=smoke_env(server, SMOKE_TEST_TIMEOUT_SECONDS="60")
    )
    assert result.returncode == 0, output_of(result)
    assert [r.path for r in server.received()[:3]] == ["/", "/", "/"]
    assert result.stdout.count("Got 503 where 200 is expected") == 2


def test_deployed_gives_up_at_the_deadline(app) -> None:
    fake, server = app
    fake.starting_answers = 1_000_000
    result = run_script(
        "test-app-is-deployed.sh",
        env=smoke_env(server, SMOKE_TEST_TIMEOUT_SECONDS="1", SMOKE_TEST_INTERVAL_SECONDS="0"),
    )
    assert result.returncode == 1
    assert "got 503" in error_lines(result)[0]
    assert "still starting" in error_lines(result)[0]


def test_deployed_reports_no_answer(local_server) -> None:
    server = local_server(lambda request: Answer(200))
    url = server.origin
    server.stop()
    result = run_script(
        "test-app-is-deployed.sh", env={"APP_SERVICE_HOST": url, "SMOKE_TEST_TIMEOUT_SECONDS": "0"}
    )
    assert result.returncode == 1
    assert "got 000: no answer" in error_lines(result)[0]


@pytest.mark.parametrize("script", ["test-app-is-deployed.sh", "test-app-is-running.sh"])
@pytest.mark.parametrize("value", [None, "", "$(APP_SERVICE_HOST)"])
def test_the_smoke_tests_need_the_app_url(script: str, value: str | None) -> None:
    env = {} if value is None else {"APP_SERVICE_HOST": value}
    result = run_script(script, env=env)
    assert result.returncode == 1
    assert "APP_SERVICE_HOST is not set" in result.stdout


@pytest.mark.parametrize("setting", ["SMOKE_TEST_TIMEOUT_SECONDS", "SMOKE_TEST_INTERVAL_SECONDS"])
def test_the_retry_settings_must_be_whole_seconds(app, setting: str) -> None:
    _, server = app
    result = run_script("test-app-is-deployed.sh", env=smoke_env(server, **{setting: "1.5"}))
    assert result.returncode == 1
    assert "whole numbers of seconds" in result.stdout
    assert server.received() == []


# Failures either script reports: one error naming the answer and what it most likely means

FAILURES = [
    pytest.param(
        "test-app-is-deployed.sh",
        {"home_status": 403},
        {},
        ["got 403", "stopped"],
        id="deployed-home-page-forbidden",
    ),
    pytest.param(
        "test-app-is-deployed.sh",
        {"functions_loaded": False},
        {},
        [
            "Expected 401 because /api/slash-start exists and needs a function key; got 404",
            "functions did not load",
        ],
        id="deployed-functions-did-not-load",
    ),
    pytest.param(
        "test-app-is-deployed.sh",
        {
            "anonymous": True,
            "secret": "the app would refuse the unsigned request anyway",
            "app_status": 200,
        },
        {},
        ["got 200"],
        id="deployed-function-needs-no-key",
    ),
    pytest.param(
        "test-app-is-running.sh",
        {},
        {"SLACK_SIGNING_SECRET": "not-the-app-secret"},
        ["Expected 200 because a signed ssl_check passes", "got 401", "signing secret"],
        id="running-wrong-signing-secret",
    ),
    pytest.param(
        "test-app-is-running.sh",
        {},
        {"FUNCTION_KEY": "wrong-key"},
        ["got 401", "wrong function key"],
        id="running-wrong-function-key",
    ),
    pytest.param(
        "test-app-is-running.sh",
        {"app_status": 500},
        {},
        ["got 500", "app setting is missing"],
        id="running-app-not-configured",
    ),
    pytest.param(
        "test-app-is-running.sh",
        {"app_status": 200},
        {},
        ["refuses a request without Slack's signature; got 200"],
        id="running-app-accepts-unsigned-requests",
    ),
]


@pytest.mark.parametrize(("script", "app_state", "overrides", "expected"), FAILURES)
def test_a_failed_check_is_one_error_that_explains_the_answer(
    app, script: str, app_state: dict[str, object], overrides: dict[str, str], expected: list[str]
) -> None:
    fake, server = app
    for name, value in app_state.items():
        setattr(fake, name, value)
    env = smoke_env if script == "test-app-is-deployed.sh" else running_env
    result = run_script(script, env=env(server, **overrides))
    assert result.returncode == 1
    (error,) = error_lines(result)
    for text in expected:
        assert text in error


# test-app-is-running.sh


def test_running_passes_against_a_running_app(app) -> None:
    _, server = app
    result = run_script("test-app-is-running.sh", env=running_env(server))
    assert result.returncode == 0, output_of(result)
    keyed = [r for r in server.received() if "x-functions-key" in r.headers]
    assert [(r.path, "x-slack-signature" in r.headers) for r in keyed] == [
        ("/api/slash-start", False),
        ("/api/orchestrator-client", False),
        ("/api/slash-start", True),
    ]
    assert all(r.headers["x-functions-key"] == FUNCTION_KEY for r in keyed)
    assert all(r.query == {} for r in server.received()), "the key never travels in the URL"
    assert parse_qs(keyed[-1].body.decode()) == {"ssl_check": ["1"], "token": ["smoke-test"]}


def test_running_first_checks_what_the_deployed_test_checks(app) -> None:
    fake, server = app
    fake.functions_loaded = False
    result = run_script("test-app-is-running.sh", env=running_env(server))
    assert result.returncode == 1
    assert "got 404" in error_lines(result)[0]
    assert all("x-functions-key" not in r.headers for r in server.received())


def test_running_never_prints_the_key_or_the_secret(app) -> None:
    _, server = app
    result = run_script("test-app-is-running.sh", env=running_env(server))
    assert result.returncode == 0, output_of(result)
    assert FUNCTION_KEY not in output_of(result)
    assert SIGNING_SECRET not in output_of(result)


def test_running_without_the_secret_checks_less_and_says_so(app) -> None:
    _, server = app
    env = running_env(server)
    del env["SLACK_SIGNING_SECRET"]
    result = run_script("test-app-is-running.sh", env=env)
    assert result.returncode == 0, output_of(result)
    assert "skipped the signed check" in result.stdout
    assert not any("x-slack-signature" in r.headers for r in server.received())


def test_running_reads_the_function_key_with_az(app, fake_az: FakeAz) -> None:
    _, server = app
    fake_az.answer(["functionapp", "keys", "list"], stdout=FUNCTION_KEY + "\n")
    result = run_reading_the_key_with_az(
        server,
        fake_az,
        APP_NAME="nhsuk-cache-flush-slack-app-func-int-uks",
        RESOURCE_GROUP="rg-int",
    )
    assert result.returncode == 0, output_of(result)
    assert list(fake_az.commands()) == [
        split(
            "functionapp keys list --resource-group rg-int "
            "--name nhsuk-cache-flush-slack-app-func-int-uks "
            "--query functionKeys.default --output tsv"
        )
    ]
    assert FUNCTION_KEY not in output_of(result)


def test_running_in_a_pipeline_masks_the_key_it_read(app, fake_az: FakeAz) -> None:
    _, server = app
    fake_az.answer(["functionapp", "keys", "list"], stdout=FUNCTION_KEY + "\n")
    result = run_reading_the_key_with_az(
        server, fake_az, APP_NAME="app", RESOURCE_GROUP="rg", TF_BUILD="True"
    )
    assert result.returncode == 0, output_of(result)
    lines_with_key = [line for line in output_of(result).splitlines() if FUNCTION_KEY in line]
    assert lines_with_key == [f"##vso[task.setsecret]{FUNCTION_KEY}"]


def test_running_keeps_asking_az_until_the_new_app_has_a_key(app, fake_az: FakeAz) -> None:
    _, server = app
    fake_az.answer(["functionapp", "keys", "list"], exit_code=1, times=2)
    fake_az.answer(["functionapp", "keys", "list"], stdout=FUNCTION_KEY + "\n")
    result = run_reading_the_key_with_az(
        server, fake_az, APP_NAME="app", RESOURCE_GROUP="rg", SMOKE_TEST_TIMEOUT_SECONDS="60"
    )
    assert result.returncode == 0, output_of(result)
    assert len(list(fake_az.commands())) == 3


def test_running_gives_up_when_az_never_has_a_key(app, fake_az: FakeAz) -> None:
    _, server = app
    fake_az.answer(["functionapp", "keys", "list"], exit_code=1)
    result = run_reading_the_key_with_az(
        server, fake_az, APP_NAME="app", RESOURCE_GROUP="rg", SMOKE_TEST_TIMEOUT_SECONDS="0"
    )
    assert result.returncode == 1
    assert "Could not read the function key of app in rg" in result.stdout
    assert not any("x-functions-key" in r.headers for r in server.received())


def test_running_needs_a_key_or_where_to_read_it(app) -> None:
    _, server = app
    env = running_env(server)
    del env["FUNCTION_KEY"]
    result = run_script("test-app-is-running.sh", env=env)
    assert result.returncode == 1
    assert "Set FUNCTION_KEY, or APP_NAME and RESOURCE_GROUP" in result.stdout
