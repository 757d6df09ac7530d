"""scripts/get-variables-from-vault.sh against a loopback server playing Vault's KV v1 API."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest

from tests.deploy.support import (
    Answer,
    LocalServer,
    Request,
    output_of,
    run_script,
    secret_variables,
)

TOKEN = "hvs.test-vault-token"
APP = "nhsuk.cache-flush-slack-app"
PATHS = (
    "/v1/secret/defaults",
    "/v1/secret/dev/defaults",
    f"/v1/secret/defaults/{APP}/env-vars",
    f"/v1/secret/dev/{APP}/env-vars",
)


class FakeVault:
    """Vault's KV version 1 read API: token in X-Vault-Token, data under ``data``."""

    def __init__(self) -> None:
        self.secrets: dict[str, dict[str, Any]] = {}
        self.failures: dict[str, Answer] = {}

    def __call__(self, request: Request) -> Answer:
        if request.method != "GET":
            return Answer.json(405, {"errors": []})
        if request.headers.get("x-vault-token") != TOKEN:
            return Answer.json(403, {"errors": ["permission denied"]})
        if request.path in self.failures:
            return self.failures[request.path]
        if request.path not in self.secrets:
            return Answer.json(404, {"errors": []})
        return Answer.json(
            200,
            {
                "request_id": "0b1e8e59-6a0a-4d6b-9d5b-2f0c6f1a9c11",
                "lease_id": "",
                "renewable": False,
                "lease_duration": 2764800,
                "data": self.secrets[request.path],
                "wrap_info": None,
                "warnings": None,
                "auth": None,
            },
        )


@pytest.fixture
def vault(local_server: Callable[..., LocalServer]) -> tuple[FakeVault, LocalServer]:
    fake = FakeVault()
    return fake, local_server(fake)


ACCEPTED = [
    *(f"FROM_PATH_{i}" for i in range(4)),
    "LOCATION",
    "APP_PLAN",
    "RESOURCE_GROUP",
    "SLACK_SIGNING_SECRET",
    "ACCESS_REQUEST_HINT",
    "ALLOWED_USERS_CACHE_SECONDS",
    "FLAG",
    "LIST",
    "GOOD",
    "A",
    "B",
]


def vault_env(server: LocalServer, environment: str = "dev", **overrides: str) -> dict[str, str]:
    env = {
        "VAULT_SERVER": server.origin,
        "VAULT_TOKEN": TOKEN,
        "VAULT_APP_NAME": APP,
        "VAULT_RELEASE_ENVIRONMENT": environment,
        "VAULT_ACCEPTED_KEYS": " ".join(ACCEPTED),
    }
    env.update(overrides)
    return env


def test_reads_the_four_paths_in_order_with_the_token(vault) -> None:
    fake, server = vault
    for index, path in enumerate(PATHS):
        fake.secrets[path] = {f"FROM_PATH_{index}": f"value {index}"}
    result = run_script("get-variables-from-vault.sh", env=vault_env(server))
    assert result.returncode == 0, output_of(result)
    assert [r.path for r in server.received()] == list(PATHS)
    assert all(r.headers["x-vault-token"] == TOKEN for r in server.received())
    assert secret_variables(result.stdout) == [(f"FROM_PATH_{i}", f"value {i}") for i in range(4)]


def test_a_more_specific_path_is_read_later_so_its_value_wins(vault) -> None:
    fake, server = vault
    fake.secrets[PATHS[0]] = {"LOCATION": "westeurope", "APP_PLAN": "shared-plan"}
    fake.secrets[PATHS[3]] = {"LOCATION": "uksouth"}
    result = run_script("get-variables-from-vault.sh", env=vault_env(server))
    assert result.returncode == 0, output_of(result)
    # The agent applies the commands in order: the last value of a name is the one it keeps.
    assert dict(secret_variables(result.stdout)) == {
        "LOCATION": "uksouth",
        "APP_PLAN": "shared-plan",
    }


@pytest.mark.parametrize("environment", ["int", "staging", "production"])
def test_the_environment_names_its_paths(vault, environment: str) -> None:
    fake, server = vault
    fake.secrets[f"/v1/secret/{environment}/{APP}/env-vars"] = {"RESOURCE_GROUP": environment}
    result = run_script("get-variables-from-vault.sh", env=vault_env(server, environment))
    assert result.returncode == 0, output_of(result)
    assert [r.path for r in server.received()] == [
        "/v1/secret/defaults",
        f"/v1/secret/{environment}/defaults",
        f"/v1/secret/defaults/{APP}/env-vars",
        f"/v1/secret/{environment}/{APP}/env-vars",
    ]
    assert secret_variables(result.stdout) == [("RESOURCE_GROUP", environment)]


def test_review_reads_only_the_apps_own_dev_paths(vault) -> None:
    """Review runs code nobody has reviewed: its token may read this app's values and nothing
    shared with other apps, so the shared defaults are not even asked for."""
    fake, server = vault
    fake.secrets[PATHS[0]] = {"RESOURCE_GROUP": "shared"}
    fake.secrets[PATHS[3]] = {"RESOURCE_GROUP": "review-apps"}
    denied = Answer.json(403, {"errors": ["1 error occurred:\n\t* permission denied\n\n"]})
    fake.failures[PATHS[0]] = fake.failures[PATHS[1]] = denied
    result = run_script("get-variables-from-vault.sh", env=vault_env(server, "review"))
    assert result.returncode == 0, output_of(result)
    assert [r.path for r in server.received()] == list(PATHS[2:])
    assert secret_variables(result.stdout) == [("RESOURCE_GROUP", "review-apps")]


def test_a_trailing_slash_on_the_server_url_is_ignored(vault) -> None:
    fake, server = vault
    fake.secrets[PATHS[0]] = {"A": "1"}
    result = run_script(
        "get-variables-from-vault.sh", env=vault_env(server, VAULT_SERVER=server.origin + "/")
    )
    assert result.returncode == 0, output_of(result)
    assert server.received()[0].path == PATHS[0]


def test_paths_with_nothing_stored_are_skipped(vault) -> None:
    fake, server = vault
    fake.secrets[PATHS[2]] = {"SLACK_SIGNING_SECRET": "s3cr3t"}
    result = run_script("get-variables-from-vault.sh", env=vault_env(server))
    assert result.returncode == 0, output_of(result)
    assert len(server.received()) == 4
    assert secret_variables(result.stdout) == [("SLACK_SIGNING_SECRET", "s3cr3t")]
    assert result.stdout.count("skipped") == 3


def test_an_empty_path_gives_no_variables(vault) -> None:
    fake, server = vault
    fake.secrets[PATHS[1]] = {}
    result = run_script("get-variables-from-vault.sh", env=vault_env(server))
    assert result.returncode == 0, output_of(result)
    assert secret_variables(result.stdout) == []


@pytest.mark.parametrize(
    "value",
    [
        "a value with spaces",
        'double "quoted" value',
        "single 'quoted' value",
        "Endpoint=https://x.blob.core.windows.net/;AccountKey=ab+c/d==;",
        "100% sure %0A is not a newline %AZP25",
        "first line\nsecond line\r\nthird",
        "  leading and trailing spaces  ",
        "brackets ] [ and ;semicolons; and $(NOT_A_MACRO) and `ticks`",
        "unicode: café — ✓",
    ],
)
def test_values_arrive_intact_after_the_agent_unescapes_them(vault, value: str) -> None:
    fake, server = vault
    fake.secrets[PATHS[3]] = {"ACCESS_REQUEST_HINT": value}
    result = run_script("get-variables-from-vault.sh", env=vault_env(server))
    assert result.returncode == 0, output_of(result)
    commands = [line for line in result.stdout.splitlines() if line.startswith("##vso[")]
    assert len(commands) == 1, "a value must never spill over several log lines"
    assert secret_variables(result.stdout) == [("ACCESS_REQUEST_HINT", value)]


def test_values_that_are_not_strings_become_their_json_text(vault) -> None:
    fake, server = vault
    fake.secrets[PATHS[3]] = {"ALLOWED_USERS_CACHE_SECONDS": 60, "FLAG": True, "LIST": [1, "a"]}
    result = run_script("get-variables-from-vault.sh", env=vault_env(server))
    assert result.returncode == 0, output_of(result)
    assert dict(secret_variables(result.stdout)) == {
        "ALLOWED_USERS_CACHE_SECONDS": "60",
        "FLAG": "true",
        "LIST": '[1,"a"]',
    }


def test_the_log_names_variables_but_never_shows_a_value_outside_a_secret_command(vault) -> None:
    fake, server = vault
    fake.secrets[PATHS[3]] = {"SLACK_SIGNING_SECRET": "very-secret-value"}
    result = run_script("get-variables-from-vault.sh", env=vault_env(server))
    assert result.returncode == 0, output_of(result)
    assert "SLACK_SIGNING_SECRET" in result.stdout.split("##vso[")[0]
    for line in output_of(result).splitlines():
        if "very-secret-value" in line:
            assert line.startswith("##vso[task.setvariable")
            assert "issecret=true" in line
    assert TOKEN not in output_of(result)


@pytest.mark.parametrize(
    "missing", ["VAULT_SERVER", "VAULT_TOKEN", "VAULT_APP_NAME", "VAULT_RELEASE_ENVIRONMENT"]
)
@pytest.mark.parametrize("how", ["absent", "empty", "undefined pipeline variable"])
def test_a_missing_input_skips_vault_cleanly(vault, missing: str, how: str) -> None:
    fake, server = vault
    fake.secrets[PATHS[0]] = {"A": "1"}
    env = vault_env(server)
    if how == "absent":
        del env[missing]
    elif how == "empty":
        env[missing] = ""
    else:
        env[missing] = f"$({missing})"
    result = run_script("get-variables-from-vault.sh", env=env)
    assert result.returncode == 0, output_of(result)
    assert f"{missing} is not set" in result.stdout
    assert server.received() == []
    assert secret_variables(result.stdout) == []


def test_every_missing_input_is_named() -> None:
    result = run_script("get-variables-from-vault.sh")
    assert result.returncode == 0, output_of(result)
    for name in ("VAULT_SERVER", "VAULT_TOKEN", "VAULT_APP_NAME", "VAULT_RELEASE_ENVIRONMENT"):
        assert f"{name} is not set" in result.stdout


@pytest.mark.parametrize(
    ("answer", "reason"),
    [
        (Answer.json(403, {"errors": ["permission denied"]}), "permission denied"),
        (Answer.json(500, {"errors": ["internal error"]}), "internal error"),
        (Answer.json(503, {"errors": ["Vault is sealed"]}), "Vault is sealed"),
        (Answer(502, b"<html>Bad gateway</html>"), ""),
    ],
)
def test_any_other_answer_stops_the_step(vault, answer: Answer, reason: str) -> None:
    fake, server = vault
    fake.secrets[PATHS[0]] = {"A": "1"}
    fake.failures[PATHS[1]] = answer
    fake.secrets[PATHS[3]] = {"B": "2"}
    result = run_script("get-variables-from-vault.sh", env=vault_env(server))
    assert result.returncode == 1
    assert [r.path for r in server.received()] == list(PATHS[:2])
    error = [line for line in result.stdout.splitlines() if "logissue type=error" in line]
    assert error, result.stdout
    assert f"answered {answer.status} for {PATHS[1]}" in error[0]
    assert reason in error[0]
    assert ("B", "2") not in secret_variables(result.stdout)


def test_a_wrong_token_stops_the_step(vault) -> None:
    _, server = vault
    result = run_script("get-variables-from-vault.sh", env=vault_env(server, VAULT_TOKEN="wrong"))
    assert result.returncode == 1
    assert "answered 403" in result.stdout
    assert "wrong" not in result.stdout


def test_a_success_without_a_data_object_stops_the_step(vault) -> None:
    fake, server = vault
    fake.failures[PATHS[0]] = Answer(200, b"<html>a proxy's login page</html>")
    result = run_script("get-variables-from-vault.sh", env=vault_env(server))
    assert result.returncode == 1
    assert "holds no data object" in result.stdout


def warnings(stdout: str) -> list[str]:
    return [
        line for line in stdout.splitlines() if line.startswith("##vso[task.logissue type=warning]")
    ]


def test_keys_the_job_does_not_accept_are_ignored_with_a_warning(vault) -> None:
    fake, server = vault
    fake.secrets[PATHS[0]] = {"GOOD": "1", "OTHER_APPS_SECRET": "theirs", "APP_NAME": "evil"}
    fake.secrets[PATHS[3]] = {"PACKAGE": "/tmp/evil.zip", "ARTIFACT_NAME": "x", "A": "2"}
    result = run_script("get-variables-from-vault.sh", env=vault_env(server))
    assert result.returncode == 0, output_of(result)
    assert secret_variables(result.stdout) == [("GOOD", "1"), ("A", "2")]
    assert warnings(result.stdout) == [
        f"##vso[task.logissue type=warning]Ignored keys of {PATHS[0]} that this job does not "
        "accept: APP_NAME, OTHER_APPS_SECRET.",
        f"##vso[task.logissue type=warning]Ignored keys of {PATHS[3]} that this job does not "
        "accept: ARTIFACT_NAME, PACKAGE.",
    ]
    assert "theirs" not in result.stdout


def test_keys_that_cannot_be_variable_names_are_ignored_without_echoing_them(vault) -> None:
    fake, server = vault
    fake.secrets[PATHS[0]] = {"GOOD": "1", "BAD]NAME": "2", "X\n##vso[task.complete]": "3"}
    result = run_script("get-variables-from-vault.sh", env=vault_env(server))
    assert result.returncode == 0, output_of(result)
    assert secret_variables(result.stdout) == [("GOOD", "1")]
    assert "task.complete" not in result.stdout
    (warning,) = warnings(result.stdout)
    assert "(a key that is not a variable name)" in warning


@pytest.mark.parametrize(
    "name", ["APP_NAME", "PACKAGE", "ARTIFACT_NAME", "VAULT_TOKEN", "SYSTEM_X"]
)
def test_the_accepted_keys_may_never_name_the_jobs_own_variables(vault, name: str) -> None:
    _, server = vault
    env = vault_env(server, VAULT_ACCEPTED_KEYS=f"RESOURCE_GROUP {name}")
    result = run_script("get-variables-from-vault.sh", env=env)
    assert result.returncode == 1
    assert f"names {name}, which the pipeline sets itself" in result.stdout
    assert server.received() == []


@pytest.mark.parametrize("value", ["", "$(VAULT_ACCEPTED_KEYS)"])
def test_without_accepted_keys_nothing_is_read(vault, value: str) -> None:
    _, server = vault
    result = run_script(
        "get-variables-from-vault.sh", env=vault_env(server, VAULT_ACCEPTED_KEYS=value)
    )
    assert result.returncode == 1
    assert "VAULT_ACCEPTED_KEYS is not set" in result.stdout
    assert server.received() == []


def test_an_unreachable_vault_stops_the_step(local_server) -> None:
    server = local_server(lambda request: Answer(200))
    url = server.origin
    server.stop()
    env = {
        "VAULT_SERVER": url,
        "VAULT_TOKEN": TOKEN,
        "VAULT_APP_NAME": APP,
        "VAULT_RELEASE_ENVIRONMENT": "dev",
        "VAULT_ACCEPTED_KEYS": "RESOURCE_GROUP",
    }
    result = run_script("get-variables-from-vault.sh", env=env)
    assert result.returncode == 1
    assert f"Could not read {PATHS[0]} from Vault" in result.stdout
