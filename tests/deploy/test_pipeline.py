"""azure-pipelines.yml and its deployment template: structure, flow and what they deploy."""

from __future__ import annotations

import ast
import json
import os
import re
import shlex
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml

from shared import settings
from tests.deploy.pipeline_expressions import evaluate
from tests.deploy.support import PLATFORM_SETTINGS, ROOT

PIPELINE_FILE = ROOT / "azure-pipelines.yml"
TEMPLATE_FILE = ROOT / "azure-pipelines-templates" / "deployment-job.yml"
PIPELINE = yaml.safe_load(PIPELINE_FILE.read_text())
TEMPLATE = yaml.safe_load(TEMPLATE_FILE.read_text())
STAGES = {stage["stage"]: stage for stage in PIPELINE["stages"]}
# What the deployment needs from Vault besides the app's settings.
DEPLOYMENT_VARIABLES = {
    "RESOURCE_GROUP",
    "LOCATION",
    "STORAGE_ACCOUNT_TYPE",
    "MAXIMUM_INSTANCE_COUNT",
    "ALLOWED_USERS_STORAGE_ACCOUNT",
    "ALLOWED_USERS_STORAGE_RESOURCE_GROUP",
}
# Settings the template computes rather than takes from Vault.
COMPUTED_SETTINGS = {settings.ALLOWED_USERS_BLOB_ENDPOINT}
FUNCTION_FOLDERS = sorted(p.parent.name for p in ROOT.glob("*/function.json"))


def flatten(steps: list[dict[str, Any]]) -> Iterator[tuple[str | None, dict[str, Any]]]:
    """Each step with the template condition (``${{ if ... }}``) it sits under, if any."""
    for step in steps:
        (key,) = step.keys() if len(step) == 1 else (None,)
        if key is not None and key.startswith("${{"):
            for inner in step[key]:
                yield key, inner
        else:
            yield None, step


def deploy_steps() -> list[tuple[str | None, dict[str, Any]]]:
    (deployment,) = [job for job in TEMPLATE["jobs"] if "deployment" in job]
    return list(flatten(deployment["strategy"]["runOnce"]["deploy"]["steps"]))


def script_of(step: dict[str, Any]) -> str:
    """The script a step runs: inline (bash/script) or the AzureCLI task's script path."""
    if "bash" in step:
        return step["bash"]
    if "script" in step:
        return step["script"]
    return step.get("inputs", {}).get("scriptPath", "")


def step_running(script: str) -> dict[str, Any]:
    (step,) = [step for _, step in deploy_steps() if f"scripts/{script}" in script_of(step)]
    return step


def build_steps() -> list[dict[str, Any]]:
    (job,) = STAGES["build"]["jobs"]
    return job["steps"]


def build_step(predicate) -> dict[str, Any]:
    (step,) = [step for step in build_steps() if predicate(step)]
    return step


# Triggers and the flow between stages


def test_builds_every_branch_tag_and_pull_request() -> None:
    assert PIPELINE["trigger"] == {
        "batch": False,
        "branches": {"include": ["*"]},
        "tags": {"include": ["*"]},
    }
    assert PIPELINE["pr"] == {"autoCancel": True, "branches": {"include": ["*"]}}


def test_stages_and_their_dependencies() -> None:
    assert [(name, stage.get("dependsOn")) for name, stage in STAGES.items()] == [
        ("build", None),
        ("deployReviewEnvironment", "build"),
        ("deployIntegrationEnvironment", "build"),
        ("deployStagingEnvironment", "build"),
        ("deployProductionEnvironment", "deployStagingEnvironment"),
    ]


def stages_that_run(variables: dict[str, str], failing: frozenset[str] = frozenset()) -> list[str]:
    """Which stages a run executes, every stage that runs succeeding unless in ``failing``."""
    results: dict[str, str] = {}
    previous: list[str] = []
    for name, stage in STAGES.items():
        depends_on = stage.get("dependsOn", previous)
        depends_on = [depends_on] if isinstance(depends_on, str) else depends_on
        all_succeeded = all(results.get(dependency) == "Succeeded" for dependency in depends_on)
        condition = stage.get("condition", "succeeded()")
        runs = evaluate(condition, {"variables": variables}, succeeded=all_succeeded)
        results[name] = ("Failed" if name in failing else "Succeeded") if runs else "Skipped"
        previous = [name]
    return [name for name, result in results.items() if result != "Skipped"]


@pytest.mark.parametrize(
    ("reason", "branch", "expected"),
    [
        ("PullRequest", "refs/pull/42/merge", ["build", "deployReviewEnvironment"]),
        ("IndividualCI", "refs/heads/master", ["build", "deployIntegrationEnvironment"]),
        ("Manual", "refs/heads/master", ["build", "deployIntegrationEnvironment"]),
        ("IndividualCI", "refs/heads/feature/channel-posts", ["build"]),
        ("IndividualCI", "refs/heads/main", ["build"]),
        (
            "IndividualCI",
            "refs/tags/1.0.0",
            ["build", "deployStagingEnvironment", "deployProductionEnvironment"],
        ),
    ],
)
def test_which_stages_run_for_each_kind_of_build(
    reason: str, branch: str, expected: list[str]
) -> None:
    variables = {"Build.Reason": reason, "Build.SourceBranch": branch}
    assert stages_that_run(variables) == expected


def test_a_failed_build_deploys_nothing() -> None:
    for branch in ("refs/tags/1.0.0", "refs/heads/master", "refs/pull/1/merge"):
        variables = {
            "Build.Reason": "PullRequest" if "pull" in branch else "IndividualCI",
            "Build.SourceBranch": branch,
        }
        assert stages_that_run(variables, failing=frozenset({"build"})) == ["build"]


def test_production_only_follows_a_successful_staging_deployment() -> None:
    variables = {"Build.Reason": "IndividualCI", "Build.SourceBranch": "refs/tags/1.0.0"}
    ran = stages_that_run(variables, failing=frozenset({"deployStagingEnvironment"}))
    assert ran == ["build", "deployStagingEnvironment"]


ENVIRONMENTS = {
    "deployReviewEnvironment": {
        "appName": "$(REVIEW_APP_NAME_ROOT)$(System.PullRequest.PullRequestNumber)",
        "appTest": "deployed",
        "azureSubscription": "Development",
        "environment": "cacheflush-slackapp-review",
        "releaseEnvironment": "review",
        "vaultVariableGroup": "cacheflush-slackapp-vault-review",
        "alwaysReadyHttpInstances": 0,
        "alwaysReadyDurableInstances": 0,
    },
    "deployIntegrationEnvironment": {
        "appName": "nhsuk-cache-flush-slack-app-func-int-uks",
        "appTest": "running",
        "azureSubscription": "nhsuk.utilities_wwwnhs.uk",
        "environment": "cacheflush-slackapp-int",
        "releaseEnvironment": "int",
        "vaultVariableGroup": "cacheflush-slackapp-vault-nonprod",
        "alwaysReadyHttpInstances": 0,
        "alwaysReadyDurableInstances": 0,
    },
    "deployStagingEnvironment": {
        "appName": "nhsuk-cache-flush-slack-app-func-stag-uks",
        "appTest": "running",
        "azureSubscription": "nhsuk.utilities_wwwnhs.uk",
        "environment": "cacheflush-slackapp-staging",
        "releaseEnvironment": "staging",
        "vaultVariableGroup": "cacheflush-slackapp-vault-staging",
        "alwaysReadyHttpInstances": 1,
        "alwaysReadyDurableInstances": 1,
    },
    "deployProductionEnvironment": {
        "appName": "nhsuk-cache-flush-slack-app-func-prod-uks",
        "appTest": "running",
        "azureSubscription": "nhsuk.utilities_wwwnhs.uk-production",
        "environment": "cacheflush-slackapp-production",
        "releaseEnvironment": "production",
        "vaultVariableGroup": "cacheflush-slackapp-vault-production",
        "alwaysReadyHttpInstances": 1,
        "alwaysReadyDurableInstances": 1,
    },
}


@pytest.mark.parametrize("stage", list(ENVIRONMENTS))
def test_each_deployment_stage_uses_the_template_with_its_environment(stage: str) -> None:
    (use,) = [job for job in STAGES[stage]["jobs"] if "template" in job]
    assert (ROOT / use["template"]).resolve() == TEMPLATE_FILE
    assert use["parameters"] == ENVIRONMENTS[stage]


def test_review_apps_are_named_after_their_pull_request() -> None:
    root = PIPELINE["variables"]["REVIEW_APP_NAME_ROOT"]
    assert root + "42" == "nhsuk-cache-flush-slack-app-func-dev-uks-pr-42"


def test_the_template_declares_exactly_the_parameters_the_stages_pass() -> None:
    declared = {parameter["name"]: parameter for parameter in TEMPLATE["parameters"]}
    for parameters in ENVIRONMENTS.values():
        assert set(parameters) == set(declared)
    assert declared["appTest"]["values"] == ["deployed", "running"]
    counts = {"alwaysReadyHttpInstances", "alwaysReadyDurableInstances"}
    assert all(declared[name]["type"] == "number" for name in counts)
    others = set(declared) - counts
    assert all(declared[name]["type"] == "string" for name in others)


def test_the_template_validates_every_parameter_before_deploying() -> None:
    (validate,) = [job for job in TEMPLATE["jobs"] if job.get("job") == "validateParameters"]
    (step,) = validate["steps"]
    assert script_of(step) == "scripts/validate-template-parameters.sh"
    assert step["env"] == {
        "APP_NAME": "${{ parameters.appName }}",
        "APP_TEST": "${{ parameters.appTest }}",
        "AZURE_SUBSCRIPTION": "${{ parameters.azureSubscription }}",
        "ENVIRONMENT": "${{ parameters.environment }}",
        "VAULT_RELEASE_ENVIRONMENT": "${{ parameters.releaseEnvironment }}",
        "VAULT_VARIABLE_GROUP": "${{ parameters.vaultVariableGroup }}",
        "ALWAYS_READY_HTTP_INSTANCES": "${{ parameters.alwaysReadyHttpInstances }}",
        "ALWAYS_READY_DURABLE_INSTANCES": "${{ parameters.alwaysReadyDurableInstances }}",
    }
    (deployment,) = [job for job in TEMPLATE["jobs"] if "deployment" in job]
    assert deployment["dependsOn"] == "validateParameters"
    assert deployment["environment"] == "${{ parameters.environment }}"


# Deleting review environments after the merge


def test_the_merged_pull_request_number_comes_from_the_commit_message() -> None:
    jobs = {job.get("job"): job for job in STAGES["deployIntegrationEnvironment"]["jobs"]}
    (step,) = jobs["getNumberForMergedPR"]["steps"]
    assert step["bash"] == 'scripts/get-pr-number.sh "$BUILD_SOURCEVERSIONMESSAGE"'
    delete = jobs["deleteReviewEnvironment"]
    assert delete["dependsOn"] == "getNumberForMergedPR"
    reference = f"dependencies.getNumberForMergedPR.outputs['{step['name']}.PR_NUMBER']"
    variables = {v["name"]: v["value"] for v in delete["variables"] if "name" in v}
    assert variables["PR_NUMBER"] == f"$[ {reference} ]"
    assert reference in delete["condition"]


@pytest.mark.parametrize(
    ("number", "runs"), [("0", False), ("7", True), ("42", True), ("1234", True)]
)
def test_the_review_environment_is_deleted_only_for_a_merged_pull_request(
    number: str, runs: bool
) -> None:
    jobs = {job.get("job"): job for job in STAGES["deployIntegrationEnvironment"]["jobs"]}
    condition = jobs["deleteReviewEnvironment"]["condition"]
    context = {
        "dependencies": {"getNumberForMergedPR": {"outputs": {"findPullRequest.PR_NUMBER": number}}}
    }
    assert evaluate(condition, context, succeeded=True) is runs
    assert evaluate(condition, context, succeeded=False) is False


def test_the_delete_job_reads_the_review_resource_group_from_vault() -> None:
    jobs = {job.get("job"): job for job in STAGES["deployIntegrationEnvironment"]["jobs"]}
    vault, delete = jobs["deleteReviewEnvironment"]["steps"]
    assert script_of(vault) == "scripts/get-variables-from-vault.sh"
    assert vault["env"]["VAULT_RELEASE_ENVIRONMENT"] == "review"
    assert vault["env"]["VAULT_ACCEPTED_KEYS"] == "RESOURCE_GROUP"
    assert {"group": "cacheflush-slackapp-vault-nonprod"} in jobs["deleteReviewEnvironment"][
        "variables"
    ]
    assert script_of(delete).endswith("scripts/delete-review-environment.sh")
    assert (
        delete["inputs"]["azureSubscription"]
        == ENVIRONMENTS["deployReviewEnvironment"]["azureSubscription"]
    )
    assert delete["env"] == {
        "PR_NUMBER": "$(PR_NUMBER)",
        "RESOURCE_GROUP": "$(RESOURCE_GROUP)",
        "REVIEW_APP_NAME_ROOT": "$(REVIEW_APP_NAME_ROOT)",
    }


# The build stage


def test_the_build_uses_python_311_and_node() -> None:
    python = build_step(lambda s: s.get("task") == "UsePythonVersion@0")
    assert python["inputs"]["versionSpec"] == "$(PYTHON_VERSION)"
    assert PIPELINE["variables"]["PYTHON_VERSION"] == "3.11"
    node = build_step(lambda s: s.get("task") == "NodeTool@0")
    assert node["inputs"]["versionSpec"] == "$(NODE_VERSION)"


def test_the_build_installs_lints_then_runs_the_readme_test_command() -> None:
    scripts = [step["script"].split()[:2] for step in build_steps() if "script" in step]
    assert scripts[:3] == [["make", "install"], ["make", "lint"], ["make", "test"]]


def pytest_arguments() -> list[str]:
    test = build_step(lambda s: s.get("script", "").startswith("make test"))
    (assignment,) = shlex.split(test["script"])[2:]
    name, _, value = assignment.partition("=")
    assert name == "PYTEST_ARGS"
    return value.split()


def option(arguments: list[str], name: str) -> list[str]:
    return [a.split("=", 1)[1] for a in arguments if a.startswith(f"{name}=")]


def test_the_tests_report_junit_and_cobertura_and_both_are_published() -> None:
    arguments = pytest_arguments()
    (junit,) = option(arguments, "--junitxml")
    (coverage,) = [
        v.removeprefix("xml:") for v in option(arguments, "--cov-report") if v.startswith("xml:")
    ]
    results = build_step(lambda s: s.get("task") == "PublishTestResults@2")
    assert results["inputs"]["testResultsFormat"] == "JUnit"
    assert results["inputs"]["testResultsFiles"] == junit
    assert results["condition"] == "succeededOrFailed()"
    published = build_step(lambda s: s.get("task") == "PublishCodeCoverageResults@2")
    assert published["inputs"]["summaryFileLocation"] == coverage
    assert published["condition"] == "succeededOrFailed()"
    for report in (junit, coverage):
        assert report.startswith("$(Common.TestResultsDirectory)/"), (
            "reports stay out of the package"
        )


def test_coverage_measures_every_function_and_the_shared_package() -> None:
    assert sorted(option(pytest_arguments(), "--cov")) == sorted([*FUNCTION_FOLDERS, "shared"])


def test_pytest_cov_is_a_pinned_development_dependency() -> None:
    lines = (ROOT / "requirements-dev.txt").read_text().splitlines()
    assert any(re.fullmatch(r"pytest-cov==[0-9][0-9.]*", line) for line in lines)


def test_the_package_is_built_from_the_lock_after_the_tests() -> None:
    """scripts/build-package.sh installs requirements.lock and stages the files
    (test_build_package.py); nothing else in the build installs runtime dependencies."""
    steps = build_steps()
    names = [step.get("task") or script_of(step) for step in steps]
    build = next(
        i for i, s in enumerate(steps) if "scripts/build-package.sh" in s.get("script", "")
    )
    archive = names.index("ArchiveFiles@2")
    test = next(i for i, s in enumerate(steps) if s.get("script", "").startswith("make test"))
    assert test < build < archive
    assert not any("--target" in s.get("script", "") for s in steps)


def test_the_staged_files_are_archived_and_published_where_the_deployment_finds_them() -> None:
    stage = build_step(lambda s: "scripts/build-package.sh" in s.get("script", ""))
    (staging_directory,) = shlex.split(stage["script"])[1:]
    archive = build_step(lambda s: s.get("task") == "ArchiveFiles@2")["inputs"]
    assert archive["rootFolderOrFile"] == staging_directory
    assert archive["includeRootFolder"] is False
    assert archive["archiveType"] == "zip"
    publish = build_step(lambda s: "publish" in s)
    assert publish["artifact"] == "$(ARTIFACT_NAME)"
    assert archive["archiveFile"] == f"{publish['publish']}/$(Build.BuildId).zip"
    (deployment,) = [job for job in TEMPLATE["jobs"] if "deployment" in job]
    assert job_variables(deployment)["PACKAGE"] == (
        "$(Pipeline.Workspace)/$(ARTIFACT_NAME)/$(Build.BuildId).zip"
    )
    (download,) = [step for _, step in deploy_steps() if "download" in step]
    assert download == {
        "download": "current",
        "artifact": "$(ARTIFACT_NAME)",
        "displayName": download["displayName"],
    }


# The deployment job


def job_variables(job: dict[str, Any]) -> dict[str, str]:
    """A job's named variables (its list also holds variable groups)."""
    return {item["name"]: item["value"] for item in job["variables"] if "name" in item}


def deployment_job() -> dict[str, Any]:
    (deployment,) = [job for job in TEMPLATE["jobs"] if "deployment" in job]
    return deployment


def test_the_deployment_runs_its_steps_in_order() -> None:
    order = []
    for condition, step in deploy_steps():
        if "checkout" in step:
            order.append("checkout")
        elif "download" in step:
            order.append("download")
        else:
            order.append((condition, Path(script_of(step)).name))
    assert order == [
        "checkout",
        (
            "${{ if in(parameters.releaseEnvironment, 'staging', 'production') }}",
            "check-commit-is-on-master.sh",
        ),
        "download",
        (None, "get-variables-from-vault.sh"),
        (None, "deploy-infrastructure.sh"),
        (None, "deploy-package.sh"),
        ("${{ if eq(parameters.appTest, 'deployed') }}", "test-app-is-deployed.sh"),
        ("${{ if eq(parameters.appTest, 'running') }}", "test-app-is-running.sh"),
    ]


def test_the_variables_come_from_vault_for_the_release_environment() -> None:
    step = step_running("get-variables-from-vault.sh")
    env = dict(step["env"])
    accepted = env.pop("VAULT_ACCEPTED_KEYS").split()
    assert env == {
        "VAULT_APP_NAME": "$(VAULT_APP_NAME)",
        "VAULT_RELEASE_ENVIRONMENT": "${{ parameters.releaseEnvironment }}",
        "VAULT_SERVER": "$(VAULT_SERVER)",
        "VAULT_TOKEN": "$(VAULT_TOKEN)",
    }
    assert PIPELINE["variables"]["VAULT_APP_NAME"] == "nhsuk.cache-flush-slack-app"
    assert len(accepted) == len(set(accepted))
    assert set(accepted) == DEPLOYMENT_VARIABLES | (set(settings.ALL_VARIABLES) - COMPUTED_SETTINGS)


def test_vault_never_supplies_a_variable_the_job_sets_itself() -> None:
    accepted = set(
        step_running("get-variables-from-vault.sh")["env"]["VAULT_ACCEPTED_KEYS"].split()
    )
    own = set(job_variables(deployment_job())) | set(PIPELINE["variables"]) | {"APP_SERVICE_HOST"}
    assert accepted.isdisjoint(own)


# Vault tokens: each environment its own, from a variable group, never the pipeline's


def test_no_vault_token_is_a_pipeline_variable() -> None:
    """A pipeline variable reaches every run of every branch, with that branch's YAML."""
    assert not any("VAULT_TOKEN" in name for name in PIPELINE["variables"])
    assert (
        "VAULT_TOKEN (secret) as variables" not in PIPELINE_FILE.read_text().split("\nname:", 1)[0]
    )


def test_every_job_that_reads_vault_gets_its_token_from_a_variable_group() -> None:
    jobs = [deployment_job()]
    jobs += [job for stage in STAGES.values() for job in stage["jobs"] if "job" in job]
    readers = 0
    for job in jobs:
        steps = job.get("steps") or job.get("strategy", {}).get("runOnce", {}).get("deploy", {})
        steps = steps.get("steps", []) if isinstance(steps, dict) else steps
        if any("get-variables-from-vault.sh" in script_of(step) for _, step in flatten(steps)):
            readers += 1
            groups = [v["group"] for v in job.get("variables", []) if "group" in v]
            assert len(groups) == 1, job.get("job") or job.get("deployment")
    assert readers == 2


def test_each_environment_reads_vault_with_its_own_group() -> None:
    """Review's token (unreviewed code) reads this app's dev values only; integration's, used
    on master alone, the non-production ones; staging and production each their own."""
    assert {"group": "${{ parameters.vaultVariableGroup }}"} in deployment_job()["variables"]
    groups = {
        ENVIRONMENTS[stage]["releaseEnvironment"]: ENVIRONMENTS[stage] for stage in ENVIRONMENTS
    }
    assert {env: stage["vaultVariableGroup"] for env, stage in groups.items()} == {
        "review": "cacheflush-slackapp-vault-review",
        "int": "cacheflush-slackapp-vault-nonprod",
        "staging": "cacheflush-slackapp-vault-staging",
        "production": "cacheflush-slackapp-vault-production",
    }
    cleanup = {job.get("job"): job for job in STAGES["deployIntegrationEnvironment"]["jobs"]}
    assert {"group": "cacheflush-slackapp-vault-nonprod"} in cleanup["deleteReviewEnvironment"][
        "variables"
    ]


def test_production_has_its_own_service_connection() -> None:
    connections = {stage: ENVIRONMENTS[stage]["azureSubscription"] for stage in ENVIRONMENTS}
    assert connections.pop("deployProductionEnvironment") == "nhsuk.utilities_wwwnhs.uk-production"
    assert connections.pop("deployReviewEnvironment") == "Development"
    assert set(connections.values()) == {"nhsuk.utilities_wwwnhs.uk"}


def test_staging_and_production_release_only_commits_on_master() -> None:
    checkout = next(step for _, step in deploy_steps() if "checkout" in step)
    assert checkout == {"checkout": "self", "fetchDepth": 0}
    (condition, step) = next(
        (c, s) for c, s in deploy_steps() if "check-commit-is-on-master.sh" in script_of(s)
    )
    assert condition == "${{ if in(parameters.releaseEnvironment, 'staging', 'production') }}"
    assert step["env"] == {"COMMIT": "$(Build.SourceVersion)"}
    released = {
        ENVIRONMENTS[s]["releaseEnvironment"]
        for s in ("deployStagingEnvironment", "deployProductionEnvironment")
    }
    assert released == {"staging", "production"}


def test_always_ready_instances_only_where_users_are() -> None:
    for group in ("alwaysReadyHttpInstances", "alwaysReadyDurableInstances"):
        warm = {ENVIRONMENTS[s]["releaseEnvironment"]: ENVIRONMENTS[s][group] for s in ENVIRONMENTS}
        assert warm == {"review": 0, "int": 0, "staging": 1, "production": 1}, group


def test_the_azure_cli_steps_use_the_environment_service_connection() -> None:
    steps = [step for _, step in deploy_steps() if step.get("task", "").startswith("AzureCLI@")]
    assert len(steps) == 3
    for step in steps:
        assert step["inputs"]["azureSubscription"] == "${{ parameters.azureSubscription }}"


def test_the_infrastructure_step_gets_what_the_template_needs() -> None:
    step = step_running("deploy-infrastructure.sh")
    assert step["task"] == "AzureCLI@2"
    env = step["env"]
    assert env["ALWAYS_READY_HTTP_INSTANCES"] == "${{ parameters.alwaysReadyHttpInstances }}"
    assert env["ALWAYS_READY_DURABLE_INSTANCES"] == (
        "${{ parameters.alwaysReadyDurableInstances }}"
    )
    for name in [*DEPLOYMENT_VARIABLES, "APP_NAME"]:
        assert env[name] == f"$({name})"


def test_the_package_is_deployed_by_zip_deploy_of_the_downloaded_artifact() -> None:
    step = step_running("deploy-package.sh")
    assert step["task"] == "AzureCLI@2"
    assert step["env"] == {
        "APP_NAME": "$(APP_NAME)",
        "PACKAGE": "$(PACKAGE)",
        "RESOURCE_GROUP": "$(RESOURCE_GROUP)",
    }
    assert not any(s.get("task", "").startswith("AzureFunctionApp@") for _, s in deploy_steps())


def test_the_smoke_tests_target_the_deployed_app() -> None:
    url = "$(APP_SERVICE_HOST)"
    deployed = step_running("test-app-is-deployed.sh")
    assert deployed["env"] == {"APP_SERVICE_HOST": url}
    running = step_running("test-app-is-running.sh")
    assert running["task"] == "AzureCLI@2", "it reads the function key with az"
    assert running["env"] == {
        "APP_NAME": "$(APP_NAME)",
        "APP_SERVICE_HOST": url,
        "RESOURCE_GROUP": "$(RESOURCE_GROUP)",
        "SLACK_SIGNING_SECRET": "$(SLACK_SIGNING_SECRET)",
    }


# The app settings: exactly what the app reads


def names_read_from_the_environment(path: Path) -> set[str]:
    """String literals a module passes to os.environ[...], os.environ.get or os.getenv."""
    names = set()
    for node in ast.walk(ast.parse(path.read_text())):
        argument = None
        if isinstance(node, ast.Subscript) and ast.unparse(node.value) == "os.environ":
            argument = node.slice
        elif isinstance(node, ast.Call) and ast.unparse(node.func) in {
            "os.environ.get",
            "os.getenv",
        }:
            argument = node.args[0] if node.args else None
        if isinstance(argument, ast.Constant) and isinstance(argument.value, str):
            names.add(argument.value)
    return names


def test_the_app_reads_its_settings_only_through_shared_settings() -> None:
    deployed_code = [
        path for folder in ["shared", *FUNCTION_FOLDERS] for path in (ROOT / folder).rglob("*.py")
    ]
    assert deployed_code
    read_directly = set().union(*(names_read_from_the_environment(p) for p in deployed_code))
    assert read_directly <= set(settings.REQUIRED) | set(settings.OPTIONAL_DEFAULTS)


def test_the_settings_module_names_every_variable_once() -> None:
    names = [*settings.REQUIRED, *settings.OPTIONAL_DEFAULTS]
    assert len(names) == len(set(names))
    assert set(names) == set(settings.ALL_VARIABLES)
    assert all(re.fullmatch(r"[A-Z][A-Z0-9_]+", name) for name in names)


def test_the_deployed_app_settings_are_exactly_the_variables_the_app_reads() -> None:
    env = step_running("deploy-infrastructure.sh")["env"]
    required = env["REQUIRED_APP_SETTINGS"].split()
    optional = env["OPTIONAL_APP_SETTINGS"].split()
    assert len(required + optional) == len(set(required + optional))
    assert set(required) | set(optional) | COMPUTED_SETTINGS == set(settings.ALL_VARIABLES)
    # The storage connection string may give way to the identity; the others may not.
    assert set(required) == set(settings.REQUIRED) - {settings.AZURE_STORAGE_CONNECTION_STRING}
    for name in required + optional:
        assert env[name] == f"$({name})"
    other = set(env) - {"REQUIRED_APP_SETTINGS", "OPTIONAL_APP_SETTINGS", "APP_NAME"}
    assert other - set(required) - set(optional) == DEPLOYMENT_VARIABLES | {
        "ALWAYS_READY_HTTP_INSTANCES",
        "ALWAYS_READY_DURABLE_INSTANCES",
    }


def test_platform_settings_come_from_the_template_and_never_clash_with_the_app() -> None:
    template = json.loads((ROOT / "AzureResourceGroup" / "AzureDeploy.json").read_text())
    (site,) = [r for r in template["resources"] if r["type"] == "Microsoft.Web/sites"]
    names = {setting["name"] for setting in site["properties"]["siteConfig"]["appSettings"]}
    assert names - set(settings.ALL_VARIABLES) == PLATFORM_SETTINGS
    assert PLATFORM_SETTINGS.isdisjoint(settings.ALL_VARIABLES)
    parameters = template["parameters"]
    env = step_running("deploy-infrastructure.sh")["env"]
    for name in env["REQUIRED_APP_SETTINGS"].split() + env["OPTIONAL_APP_SETTINGS"].split():
        assert name in parameters, f"the template has no parameter for {name}"


# Scripts the pipeline runs


def referenced_scripts() -> set[str]:
    text = PIPELINE_FILE.read_text() + TEMPLATE_FILE.read_text()
    return set(re.findall(r"scripts/[A-Za-z0-9_.-]+\.sh", text))


def test_every_script_the_pipeline_names_exists_and_is_executable() -> None:
    scripts = referenced_scripts()
    assert len(scripts) == 10
    for script in scripts:
        path = ROOT / script
        assert path.is_file(), script
        assert os.access(path, os.X_OK), f"{script} is not executable (chmod +x)"
        assert path.read_text().startswith("#!/usr/bin/env bash\n"), script


def test_no_script_step_pastes_free_text_variables_into_its_code() -> None:
    """Commit messages and branch names reach scripts through the environment, never as
    macros inside the script text, where a crafted value would become code."""
    text = PIPELINE_FILE.read_text() + TEMPLATE_FILE.read_text()
    for variable in (
        "Build.SourceVersionMessage",
        "Build.SourceBranchName",
        "System.PullRequest.SourceBranch",
    ):
        assert f"$({variable})" not in text
