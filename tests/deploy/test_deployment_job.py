"""The whole deployment job of azure-pipelines-templates/deployment-job.yml, run step by step as
the agent runs it (macros expanded, variables set by one step passed to the next, non-secret
variables exported to every script), against a fake Vault on loopback, a fake ``az`` modelling
the function app, and a loopback stand-in for the deployed app. After every step the app's
settings must be ones it can run with: a release never leaves it answering 500."""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest

from shared import settings
from tests.deploy.support import FakeAz, LocalServer, output_of, run_script
from tests.deploy.test_azure_cli_scripts import make_package
from tests.deploy.test_pipeline import ENVIRONMENTS, PIPELINE, TEMPLATE, deploy_steps, script_of
from tests.deploy.test_smoke_tests import FUNCTION_KEY, SIGNING_SECRET, FakeFunctionApp
from tests.deploy.test_vault_script import TOKEN, FakeVault

APP = "nhsuk.cache-flush-slack-app"
SETVARIABLE = re.compile(r"^##vso\[task\.setvariable variable=([^;\]]+)((?:;[^\]]*)?)\](.*)$")
MACRO = re.compile(r"\$\(([A-Za-z0-9_.]+)\)")
PARAMETER = re.compile(r"\$\{\{\s*parameters\.(\w+)\s*\}\}")
CONDITION = re.compile(r"^\$\{\{ if (eq|in)\(parameters\.(\w+), ((?:'[^']*'(?:, )?)+)\) \}\}$")
VAULT_VALUES = {
    "RESOURCE_GROUP": "nhsuk-utils-rg-int-uks",
    "LOCATION": "uksouth",
    "ALLOWED_USERS_STORAGE_ACCOUNT": "allowedusers",
    "CACHE_FLUSH_FUNCTION_APP_FULL_URL_WITH_PATH_AND_CODE": "https://cf.example.org/api/f?code=new",
    "SLACK_BOT_USER_OAUTH_ACCESS_TOKEN": "xoxb-new",
    "SLACK_SIGNING_SECRET": SIGNING_SECRET,
    "SLACK_CHANNEL_NAME": "cache-flush-notices",
}
# What a template expression gives on Azure, for the settings the app checks.
COMPUTED = {settings.ALLOWED_USERS_BLOB_ENDPOINT: "https://allowedusers.blob.core.windows.net/"}


def previous_release() -> dict[str, str]:
    """The settings a working app has before this release."""
    values = {name: "" for name in settings.ALL_VARIABLES}
    values.update(
        {
            "AzureWebJobsStorage__accountName": "abcdefghijklmazfunctions",
            "APPLICATIONINSIGHTS_CONNECTION_STRING": "InstrumentationKey=x",
            "AZURE_STORAGE_CONNECTION_STRING": "DefaultEndpointsProtocol=https;AccountName=a",
            "CACHE_FLUSH_FUNCTION_APP_FULL_URL_WITH_PATH_AND_CODE": "https://cf.example.org/?code=o",
            "SLACK_BOT_USER_OAUTH_ACCESS_TOKEN": "xoxb-old",
            "SLACK_SIGNING_SECRET": "old",
        }
    )
    return values


def problems_starting_with(app_settings: dict[str, str]) -> str | None:
    """Why the app could not run with these settings, or None when it can."""
    if not app_settings.get("AzureWebJobsStorage__accountName") and not app_settings.get(
        "AzureWebJobsStorage"
    ):
        return "the Functions host has no storage"
    environ = {
        name: COMPUTED.get(name, value) if value == "<computed>" else value
        for name, value in app_settings.items()
    }
    missing = [name for name in settings.ALL_VARIABLES if name not in environ]
    if missing:
        return f"settings missing: {missing}"
    try:
        settings.load_settings(environ)
    except settings.ConfigurationError as error:
        return str(error)
    return None


@dataclass
class JobRun:
    """What happened: each step's script and output, and the app's settings after it."""

    steps: list[str] = field(default_factory=list)
    outputs: list[str] = field(default_factory=list)
    settings_after: list[dict[str, str]] = field(default_factory=list)
    failed: str | None = None


class Agent:
    """Runs the deployment job's steps as an Azure Pipelines agent does."""

    def __init__(self, fake_az: FakeAz, parameters: dict[str, Any], variables: dict[str, str]):
        self.fake_az = fake_az
        self.parameters = parameters
        self.variables = dict(variables)
        self.secret: set[str] = set()

    def expand(self, text: str) -> str:
        text = PARAMETER.sub(lambda m: str(self.parameters[m.group(1)]), text)
        return MACRO.sub(lambda m: self.variables.get(m.group(1), m.group(0)), text)

    def exported(self) -> dict[str, str]:
        """Non-secret variables reach every script as environment variables."""
        return {
            name.upper().replace(".", "_"): value
            for name, value in self.variables.items()
            if name not in self.secret
        }

    def run(self, steps: list[tuple[str | None, dict[str, Any]]]) -> JobRun:
        outcome = JobRun()
        for condition, step in steps:
            if condition is not None:
                match = CONDITION.match(condition)
                assert match, condition
                function, parameter, listed = match.groups()
                values = re.findall(r"'([^']*)'", listed)
                assert function == "in" or len(values) == 1, condition
                if str(self.parameters[parameter]) not in values:
                    continue
            if "checkout" in step or "download" in step:
                continue
            script = Path(self.expand(script_of(step)))
            env = {**self.exported(), **{k: self.expand(str(v)) for k, v in step["env"].items()}}
            result = run_script(
                script.name, env={**env, **self.fake_az.env}, path_prefix=self.fake_az.bin
            )
            outcome.steps.append(script.name)
            outcome.outputs.append(output_of(result))
            outcome.settings_after.append(dict(self.fake_az.app()["app_settings"]))
            for line in result.stdout.splitlines():
                match = SETVARIABLE.match(line)
                if match:
                    name, flags, value = match.groups()
                    self.variables[name] = value
                    if "issecret=true" in flags:
                        self.secret.add(name)
            if result.returncode != 0:
                outcome.failed = script.name
                break
        return outcome


@pytest.fixture
def world(local_server: Callable[..., LocalServer], fake_az: FakeAz, tmp_path: Path):
    """Vault, Azure (modelled by the fake az) and the deployed app, before a release."""
    vault = FakeVault()
    vault.secrets["/v1/secret/defaults"] = {"APP_NAME": "hijacked", "OTHER_APPS_TOKEN": "theirs"}
    vault.secrets["/v1/secret/int/defaults"] = {
        "RESOURCE_GROUP": VAULT_VALUES["RESOURCE_GROUP"],
        "LOCATION": VAULT_VALUES["LOCATION"],
    }
    vault.secrets[f"/v1/secret/int/{APP}/env-vars"] = {
        k: v for k, v in VAULT_VALUES.items() if k not in {"RESOURCE_GROUP", "LOCATION"}
    }
    vault_server = local_server(vault)
    app_server = local_server(FakeFunctionApp())
    fake_az.model_app(
        {
            "host": app_server.origin,
            "app_settings": previous_release(),
            "function_key": FUNCTION_KEY,
        }
    )
    workspace = tmp_path / "workspace"
    (workspace / PIPELINE["variables"]["ARTIFACT_NAME"]).mkdir(parents=True)
    variables = {
        **{name: str(value) for name, value in PIPELINE["variables"].items()},
        "Build.BuildId": "4242",
        "Pipeline.Workspace": str(workspace),
        "System.DefaultWorkingDirectory": str(Path(__file__).resolve().parents[2]),
        "SMOKE_TEST_TIMEOUT_SECONDS": "0",
        "SMOKE_TEST_INTERVAL_SECONDS": "0",
        # The environment's variable group.
        "VAULT_SERVER": vault_server.origin,
        "VAULT_TOKEN": TOKEN,
    }
    return fake_az, variables


def run_job(fake_az: FakeAz, variables: dict[str, str], stage: str) -> tuple[JobRun, Agent]:
    parameters = ENVIRONMENTS[stage]
    agent = Agent(fake_az, parameters, variables)
    agent.secret.add("VAULT_TOKEN")
    (deployment,) = [job for job in TEMPLATE["jobs"] if "deployment" in job]
    declared = deployment["variables"]
    if isinstance(declared, dict):
        declared = [{"name": name, "value": value} for name, value in declared.items()]
    for item in declared:
        if "name" in item:
            agent.variables[item["name"]] = agent.expand(item["value"])
    make_package(Path(agent.variables["PACKAGE"]))
    return agent.run(deploy_steps()), agent


def test_a_release_keeps_the_settings_complete_at_every_step(world) -> None:
    fake_az, variables = world
    outcome, agent = run_job(fake_az, variables, "deployIntegrationEnvironment")
    for step, app_settings in zip(outcome.steps, outcome.settings_after, strict=True):
        assert problems_starting_with(app_settings) is None, step
    assert outcome.failed is None, outcome.outputs
    assert outcome.steps == [
        "get-variables-from-vault.sh",
        "deploy-infrastructure.sh",
        "deploy-package.sh",
        "test-app-is-running.sh",
    ]
    final = fake_az.app()
    for name, value in VAULT_VALUES.items():
        if name in settings.ALL_VARIABLES:
            assert final["app_settings"][name] == value
    assert final["app_settings"]["AZURE_STORAGE_CONNECTION_STRING"] == ""
    assert final["app_settings"][settings.ALLOWED_USERS_BLOB_ENDPOINT] == "<computed>"
    assert final["package"] == agent.variables["PACKAGE"]
    assert agent.variables["APP_NAME"] == "nhsuk-cache-flush-slack-app-func-int-uks"
    assert "OTHER_APPS_TOKEN" not in agent.variables


def test_a_failed_package_deployment_leaves_the_new_settings_in_place(world) -> None:
    fake_az, variables = world
    fake_az.answer(["functionapp", "deployment", "source", "config-zip"], exit_code=1)
    outcome, _ = run_job(fake_az, variables, "deployIntegrationEnvironment")
    assert outcome.failed == "deploy-package.sh"
    for step, app_settings in zip(outcome.steps, outcome.settings_after, strict=True):
        assert problems_starting_with(app_settings) is None, step
    assert "package" not in fake_az.app()


def test_a_failed_infrastructure_deployment_leaves_the_previous_release_running(world) -> None:
    fake_az, variables = world
    fake_az.answer(["deployment", "group", "create"], exit_code=1)
    outcome, _ = run_job(fake_az, variables, "deployIntegrationEnvironment")
    assert outcome.failed == "deploy-infrastructure.sh"
    assert outcome.settings_after[-1] == previous_release()
    assert not any(c[:2] == ["functionapp", "deployment"] for c in fake_az.commands())


def test_a_setting_missing_from_vault_stops_the_release_before_any_change(world) -> None:
    fake_az, variables = world
    del variables["VAULT_SERVER"]  # a run without the variable group: no Vault at all
    outcome, _ = run_job(fake_az, variables, "deployIntegrationEnvironment")
    assert outcome.failed == "deploy-infrastructure.sh"
    assert outcome.settings_after[-1] == previous_release()
    assert [c[:1] for c in fake_az.commands()] == []
