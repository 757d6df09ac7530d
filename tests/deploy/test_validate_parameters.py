"""scripts/validate-template-parameters.sh: the deployment template's parameters, expanded."""

import pytest

from tests.deploy.support import output_of, run_script

VALID = {
    "APP_NAME": "nhsuk-cache-flush-slack-app-func-dev-uks-pr-42",
    "APP_TEST": "deployed",
    "AZURE_SUBSCRIPTION": "Development",
    "ENVIRONMENT": "cacheflush-slackapp-review",
    "VAULT_RELEASE_ENVIRONMENT": "review",
    "VAULT_VARIABLE_GROUP": "cacheflush-slackapp-vault-review",
    "ALWAYS_READY_HTTP_INSTANCES": "0",
    "ALWAYS_READY_DURABLE_INSTANCES": "0",
}
PARAMETERS = {
    "APP_NAME": "appName",
    "APP_TEST": "appTest",
    "AZURE_SUBSCRIPTION": "azureSubscription",
    "ENVIRONMENT": "environment",
    "VAULT_RELEASE_ENVIRONMENT": "releaseEnvironment",
    "VAULT_VARIABLE_GROUP": "vaultVariableGroup",
    "ALWAYS_READY_HTTP_INSTANCES": "alwaysReadyHttpInstances",
    "ALWAYS_READY_DURABLE_INSTANCES": "alwaysReadyDurableInstances",
}


def errors(result) -> list[str]:
    return [line for line in result.stdout.splitlines() if line.startswith("##vso[task.logissue")]


def test_valid_parameters_pass() -> None:
    result = run_script("validate-template-parameters.sh", env=VALID)
    assert result.returncode == 0, output_of(result)
    assert errors(result) == []
    assert "appName=nhsuk-cache-flush-slack-app-func-dev-uks-pr-42" in result.stdout


@pytest.mark.parametrize("variable", list(PARAMETERS))
@pytest.mark.parametrize("how", ["absent", "empty"])
def test_each_missing_parameter_fails_the_job_by_name(variable: str, how: str) -> None:
    env = dict(VALID)
    if how == "absent":
        del env[variable]
    else:
        env[variable] = ""
    result = run_script("validate-template-parameters.sh", env=env)
    assert result.returncode == 1
    assert errors(result) == [
        f'##vso[task.logissue type=error]Missing template parameter "{PARAMETERS[variable]}".'
    ]


def test_every_missing_parameter_is_reported_at_once() -> None:
    result = run_script("validate-template-parameters.sh")
    assert result.returncode == 1
    assert len(errors(result)) == len(PARAMETERS)
    for parameter in PARAMETERS.values():
        assert f'"{parameter}"' in result.stdout


@pytest.mark.parametrize("variable", list(PARAMETERS))
def test_a_parameter_naming_an_undefined_variable_fails(variable: str) -> None:
    env = dict(VALID)
    env[variable] = "prefix-$(System.PullRequest.PullRequestNumber)"
    result = run_script("validate-template-parameters.sh", env=env)
    assert result.returncode == 1
    assert f'"{PARAMETERS[variable]}" refers to an undefined variable' in errors(result)[0]


@pytest.mark.parametrize("app_test", ["running", "deployed"])
def test_app_test_accepts_the_two_smoke_tests(app_test: str) -> None:
    result = run_script("validate-template-parameters.sh", env={**VALID, "APP_TEST": app_test})
    assert result.returncode == 0, output_of(result)


@pytest.mark.parametrize("app_test", ["Running", "smoke", "none"])
def test_app_test_rejects_anything_else(app_test: str) -> None:
    result = run_script("validate-template-parameters.sh", env={**VALID, "APP_TEST": app_test})
    assert result.returncode == 1
    assert 'must be "deployed" or "running"' in errors(result)[0]


@pytest.mark.parametrize(
    "name",
    [
        "nhsuk-cache-flush-slack-app-func-dev-uks-pr-",  # no pull request number
        "-leading-hyphen",
        "has_underscore",
        "has space",
        "x",
        "a" * 61,
    ],
)
def test_app_name_must_be_a_valid_function_app_name(name: str) -> None:
    result = run_script("validate-template-parameters.sh", env={**VALID, "APP_NAME": name})
    assert result.returncode == 1
    assert "not a valid function app name" in errors(result)[0]


@pytest.mark.parametrize("name", ["ab", "a" * 60, "nhsuk-cache-flush-slack-app-func-prod-uks"])
def test_app_name_accepts_valid_names(name: str) -> None:
    result = run_script("validate-template-parameters.sh", env={**VALID, "APP_NAME": name})
    assert result.returncode == 0, output_of(result)


@pytest.mark.parametrize("environment", ["Production", "prod/uks", "../dev"])
def test_release_environment_must_be_a_vault_environment_name(environment: str) -> None:
    env = {**VALID, "VAULT_RELEASE_ENVIRONMENT": environment}
    result = run_script("validate-template-parameters.sh", env=env)
    assert result.returncode == 1
    assert "not a Vault environment name" in errors(result)[0]


def connection_for(environment: str) -> str:
    return "nhsuk.utilities_wwwnhs.uk-production" if environment == "production" else "Development"


@pytest.mark.parametrize("environment", ["review", "staging", "production"])
def test_review_staging_and_production_read_vault_with_their_own_token(environment: str) -> None:
    env = {
        **VALID,
        "VAULT_RELEASE_ENVIRONMENT": environment,
        "AZURE_SUBSCRIPTION": connection_for(environment),
        "VAULT_VARIABLE_GROUP": "cacheflush-slackapp-vault-nonprod",
    }
    result = run_script("validate-template-parameters.sh", env=env)
    assert result.returncode == 1
    assert f"must be {environment}'s own group" in errors(result)[0]
    own = {**env, "VAULT_VARIABLE_GROUP": f"cacheflush-slackapp-vault-{environment}"}
    result = run_script("validate-template-parameters.sh", env=own)
    assert result.returncode == 0, output_of(result)


def test_production_deploys_with_its_own_service_connection() -> None:
    env = {
        **VALID,
        "VAULT_RELEASE_ENVIRONMENT": "production",
        "VAULT_VARIABLE_GROUP": "cacheflush-slackapp-vault-production",
        "AZURE_SUBSCRIPTION": "nhsuk.utilities_wwwnhs.uk",
    }
    result = run_script("validate-template-parameters.sh", env=env)
    assert result.returncode == 1
    assert "must be production's own service connection" in errors(result)[0]
    env["AZURE_SUBSCRIPTION"] = "nhsuk.utilities_wwwnhs.uk-production"
    result = run_script("validate-template-parameters.sh", env=env)
    assert result.returncode == 0, output_of(result)


@pytest.mark.parametrize("environment", ["review", "int", "staging"])
def test_no_other_environment_uses_the_production_connection(environment: str) -> None:
    env = {
        **VALID,
        "VAULT_RELEASE_ENVIRONMENT": environment,
        "VAULT_VARIABLE_GROUP": f"cacheflush-slackapp-vault-{environment}",
        "AZURE_SUBSCRIPTION": "nhsuk.utilities_wwwnhs.uk-production",
    }
    result = run_script("validate-template-parameters.sh", env=env)
    assert result.returncode == 1
    assert (
        "names production's service connection nhsuk.utilities_wwwnhs.uk-production "
        f"for {environment}" in errors(result)[0]
    )


@pytest.mark.parametrize(
    "variable", ["ALWAYS_READY_HTTP_INSTANCES", "ALWAYS_READY_DURABLE_INSTANCES"]
)
@pytest.mark.parametrize("count", ["-1", "11", "one", "1.5"])
def test_always_ready_instances_must_be_a_small_whole_number(variable: str, count: str) -> None:
    env = {**VALID, variable: count}
    result = run_script("validate-template-parameters.sh", env=env)
    assert result.returncode == 1
    assert f'"{PARAMETERS[variable]}" must be a whole number from 0 to 10' in errors(result)[0]
