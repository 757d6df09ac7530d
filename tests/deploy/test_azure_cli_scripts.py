"""The scripts that drive the Azure CLI, run against a stand-in ``az`` that records its calls:
deploy-infrastructure.sh, set-app-settings.sh and delete-review-environment.sh."""

from __future__ import annotations

import json

import pytest

from tests.deploy.support import ROOT, FakeAz, output_of, run_script

REQUIRED = ("SECRET_A", "SECRET_B")
OPTIONAL = ("OPTION_C", "OPTION_D", "OPTION_E")


def run(fake_az: FakeAz, script: str, env: dict[str, str]):
    return run_script(script, env={**fake_az.env, **env}, path_prefix=fake_az.bin)


# deploy-infrastructure.sh

INFRA = {
    "RESOURCE_GROUP": "nhsuk-utils-rg-dev-uks",
    "LOCATION": "uksouth",
    "APP_NAME": "nhsuk-cache-flush-slack-app-func-dev-uks-pr-7",
    "APP_PLAN": "nhsuk-utils-linux-plan-dev-uks",
}


def deployment_call(fake_az: FakeAz) -> list[str]:
    (call,) = [c for c in fake_az.commands() if c[:3] == ["deployment", "group", "create"]]
    return call


def test_infrastructure_is_deployed_into_an_existing_group(fake_az: FakeAz) -> None:
    fake_az.answer(["group", "exists"], stdout="true\n")
    result = run(fake_az, "deploy-infrastructure.sh", INFRA)
    assert result.returncode == 0, output_of(result)
    commands = list(fake_az.commands())
    assert commands[0] == ["group", "exists", "--name", "nhsuk-utils-rg-dev-uks"]
    assert not any(c[:2] == ["group", "create"] for c in commands)
    call = deployment_call(fake_az)
    template = call[call.index("--template-file") + 1]
    assert (ROOT / template).resolve() == ROOT / "AzureResourceGroup" / "AzureDeploy.json"
    assert call[call.index("--resource-group") + 1] == "nhsuk-utils-rg-dev-uks"
    assert call[call.index("--name") + 1] == INFRA["APP_NAME"]
    assert call[call.index("--mode") + 1] == "Incremental"
    parameters = call[call.index("--parameters") + 1 : call.index("--output")]
    assert parameters == [
        "appName=nhsuk-cache-flush-slack-app-func-dev-uks-pr-7",
        "appPlan=nhsuk-utils-linux-plan-dev-uks",
        "location=uksouth",
    ]


def test_a_missing_group_is_created_first(fake_az: FakeAz) -> None:
    fake_az.answer(["group", "exists"], stdout="false\n")
    result = run(fake_az, "deploy-infrastructure.sh", INFRA)
    assert result.returncode == 0, output_of(result)
    commands = list(fake_az.commands())
    assert commands[1] == [
        "group",
        "create",
        "--name",
        "nhsuk-utils-rg-dev-uks",
        "--location",
        "uksouth",
        "--output",
        "none",
    ]
    assert commands[2][:3] == ["deployment", "group", "create"]


def test_the_storage_account_type_is_passed_when_set(fake_az: FakeAz) -> None:
    fake_az.answer(["group", "exists"], stdout="true\n")
    result = run(
        fake_az, "deploy-infrastructure.sh", {**INFRA, "STORAGE_ACCOUNT_TYPE": "Standard_GRS"}
    )
    assert result.returncode == 0, output_of(result)
    assert "storageAccountType=Standard_GRS" in deployment_call(fake_az)


def test_an_undefined_storage_account_type_is_left_to_the_template(fake_az: FakeAz) -> None:
    fake_az.answer(["group", "exists"], stdout="true\n")
    env = {**INFRA, "STORAGE_ACCOUNT_TYPE": "$(STORAGE_ACCOUNT_TYPE)"}
    result = run(fake_az, "deploy-infrastructure.sh", env)
    assert result.returncode == 0, output_of(result)
    assert not any(p.startswith("storageAccountType") for p in deployment_call(fake_az))


@pytest.mark.parametrize("missing", list(INFRA))
def test_infrastructure_needs_its_variables(fake_az: FakeAz, missing: str) -> None:
    env = {**INFRA, missing: f"$({missing})"}
    result = run(fake_az, "deploy-infrastructure.sh", env)
    assert result.returncode == 1
    assert f"Not set (add them to Vault): {missing}." in result.stdout
    assert list(fake_az.commands()) == []


def test_a_failed_deployment_fails_the_script(fake_az: FakeAz) -> None:
    fake_az.answer(["group", "exists"], stdout="true\n")
    fake_az.answer(["deployment", "group", "create"], exit_code=1)
    result = run(fake_az, "deploy-infrastructure.sh", INFRA)
    assert result.returncode == 1


# set-app-settings.sh

SETTINGS_TARGET = {
    "APP_NAME": "nhsuk-cache-flush-slack-app-func-int-uks",
    "RESOURCE_GROUP": "rg-int",
    "REQUIRED_APP_SETTINGS": " ".join(REQUIRED),
    "OPTIONAL_APP_SETTINGS": " ".join(OPTIONAL),
}


def settings_sent(fake_az: FakeAz) -> list[dict[str, object]]:
    (call,) = [
        c
        for c in fake_az.calls()
        if c["args"][:4] == ["functionapp", "config", "appsettings", "set"]
    ]
    args = call["args"]
    assert args[args.index("--name") + 1] == SETTINGS_TARGET["APP_NAME"]
    assert args[args.index("--resource-group") + 1] == SETTINGS_TARGET["RESOURCE_GROUP"]
    settings_argument = args[args.index("--settings") + 1]
    assert settings_argument.startswith("@")
    return json.loads(call["files"][settings_argument])


def removed(fake_az: FakeAz) -> list[str]:
    calls = [
        c for c in fake_az.commands() if c[:4] == ["functionapp", "config", "appsettings", "delete"]
    ]
    if not calls:
        return []
    (call,) = calls
    return call[call.index("--setting-names") + 1 : call.index("--output")]


def test_required_and_present_optional_settings_are_set_the_rest_removed(fake_az: FakeAz) -> None:
    env = {
        **SETTINGS_TARGET,
        "SECRET_A": "xoxb-123",
        "SECRET_B": "https://cache-flush.example.org/api/flush?code=abc==",
        "OPTION_D": "#cache-flush",
        "OPTION_E": "$(OPTION_E)",
    }
    result = run(fake_az, "set-app-settings.sh", env)
    assert result.returncode == 0, output_of(result)
    assert settings_sent(fake_az) == [
        {"name": "SECRET_A", "value": "xoxb-123", "slotSetting": False},
        {
            "name": "SECRET_B",
            "value": "https://cache-flush.example.org/api/flush?code=abc==",
            "slotSetting": False,
        },
        {"name": "OPTION_D", "value": "#cache-flush", "slotSetting": False},
    ]
    assert removed(fake_az) == ["OPTION_C", "OPTION_E"]


def test_nothing_is_removed_when_every_optional_setting_has_a_value(fake_az: FakeAz) -> None:
    env = {**SETTINGS_TARGET, **dict.fromkeys(REQUIRED + OPTIONAL, "v")}
    result = run(fake_az, "set-app-settings.sh", env)
    assert result.returncode == 0, output_of(result)
    assert [s["name"] for s in settings_sent(fake_az)] == list(REQUIRED + OPTIONAL)
    assert removed(fake_az) == []


@pytest.mark.parametrize(
    "value",
    ['say "hello"', "it's", "a;b=c", "line one\nline two", "100% $(HOME) `x` \\n", "  padded  "],
)
def test_values_reach_az_exactly_and_never_on_its_command_line(fake_az: FakeAz, value: str) -> None:
    env = {**SETTINGS_TARGET, "SECRET_A": value, "SECRET_B": "b"}
    result = run(fake_az, "set-app-settings.sh", env)
    assert result.returncode == 0, output_of(result)
    assert settings_sent(fake_az)[0] == {"name": "SECRET_A", "value": value, "slotSetting": False}
    for args in fake_az.commands():
        assert not any(value in arg for arg in args)
    assert value not in output_of(result)


def test_the_settings_file_is_gone_when_the_script_ends(fake_az: FakeAz) -> None:
    env = {**SETTINGS_TARGET, "SECRET_A": "a", "SECRET_B": "b"}
    result = run(fake_az, "set-app-settings.sh", env)
    assert result.returncode == 0, output_of(result)
    (call,) = [c for c in fake_az.calls() if "--settings" in c["args"]]
    path = call["args"][call["args"].index("--settings") + 1][1:]
    assert not (ROOT / path).exists()


@pytest.mark.parametrize("how", ["absent", "empty", "undefined pipeline variable"])
def test_a_missing_required_setting_stops_before_any_change(fake_az: FakeAz, how: str) -> None:
    env = {**SETTINGS_TARGET, "SECRET_A": "a"}
    if how == "empty":
        env["SECRET_B"] = ""
    elif how == "undefined pipeline variable":
        env["SECRET_B"] = "$(SECRET_B)"
    result = run(fake_az, "set-app-settings.sh", env)
    assert result.returncode == 1
    assert "Required app settings without a value (add them to Vault): SECRET_B." in result.stdout
    assert list(fake_az.commands()) == []


def test_every_missing_required_setting_is_named(fake_az: FakeAz) -> None:
    result = run(fake_az, "set-app-settings.sh", SETTINGS_TARGET)
    assert result.returncode == 1
    assert "SECRET_A SECRET_B" in result.stdout


@pytest.mark.parametrize("missing", ["APP_NAME", "RESOURCE_GROUP", "REQUIRED_APP_SETTINGS"])
def test_set_app_settings_needs_its_target(fake_az: FakeAz, missing: str) -> None:
    env = {**SETTINGS_TARGET, "SECRET_A": "a", "SECRET_B": "b"}
    del env[missing]
    result = run(fake_az, "set-app-settings.sh", env)
    assert result.returncode == 1
    assert f"{missing} is not set." in result.stdout
    assert list(fake_az.commands()) == []


def test_a_failing_az_fails_the_script(fake_az: FakeAz) -> None:
    fake_az.answer(["functionapp", "config", "appsettings", "set"], exit_code=1)
    env = {**SETTINGS_TARGET, "SECRET_A": "a", "SECRET_B": "b"}
    result = run(fake_az, "set-app-settings.sh", env)
    assert result.returncode == 1
    assert not any(
        c[:4] == ["functionapp", "config", "appsettings", "delete"] for c in fake_az.commands()
    )


# delete-review-environment.sh

REVIEW = {
    "REVIEW_APP_NAME_ROOT": "nhsuk-cache-flush-slack-app-func-dev-uks-pr-",
    "PR_NUMBER": "42",
    "RESOURCE_GROUP": "nhsuk-utils-rg-dev-uks",
}
GROUP = "/subscriptions/0000/resourceGroups/nhsuk-utils-rg-dev-uks/providers"
APP = "nhsuk-cache-flush-slack-app-func-dev-uks-pr-42"
SITE = f"{GROUP}/Microsoft.Web/sites/{APP}"
INSIGHTS = f"{GROUP}/microsoft.insights/components/{APP}"
STORAGE = f"{GROUP}/Microsoft.Storage/storageAccounts/abcdefghijklmazfunctions"
WORKSPACE = f"{GROUP}/Microsoft.OperationalInsights/workspaces/{APP}"


def test_the_review_app_goes_first_then_everything_tagged_with_its_name(fake_az: FakeAz) -> None:
    fake_az.answer(
        ["resource", "list"], stdout="\n".join([INSIGHTS, STORAGE, SITE, WORKSPACE]) + "\n"
    )
    result = run(fake_az, "delete-review-environment.sh", REVIEW)
    assert result.returncode == 0, output_of(result)
    commands = list(fake_az.commands())
    assert commands[0] == [
        "resource",
        "list",
        "--resource-group",
        "nhsuk-utils-rg-dev-uks",
        "--tag",
        "app-name=nhsuk-cache-flush-slack-app-func-dev-uks-pr-42",
        "--query",
        "[].id",
        "--output",
        "tsv",
    ]
    assert commands[1:] == [
        ["resource", "delete", "--ids", SITE, "--output", "none"],
        ["resource", "delete", "--ids", INSIGHTS, STORAGE, WORKSPACE, "--output", "none"],
    ]


def test_nothing_tagged_means_nothing_to_delete(fake_az: FakeAz) -> None:
    fake_az.answer(["resource", "list"], stdout="")
    result = run(fake_az, "delete-review-environment.sh", REVIEW)
    assert result.returncode == 0, output_of(result)
    assert "already deleted" in result.stdout
    assert len(list(fake_az.commands())) == 1


def test_a_failed_listing_fails_without_deleting(fake_az: FakeAz) -> None:
    fake_az.answer(["resource", "list"], exit_code=1)
    result = run(fake_az, "delete-review-environment.sh", REVIEW)
    assert result.returncode == 1
    assert len(list(fake_az.commands())) == 1


@pytest.mark.parametrize("number", ["0", "", "$(PR_NUMBER)", "12a", "-3", "007", "1 2"])
def test_only_a_real_pull_request_number_deletes_anything(fake_az: FakeAz, number: str) -> None:
    fake_az.answer(["resource", "list"], stdout=SITE + "\n")
    result = run(fake_az, "delete-review-environment.sh", {**REVIEW, "PR_NUMBER": number})
    assert result.returncode == 1
    assert list(fake_az.commands()) == []


@pytest.mark.parametrize("missing", ["REVIEW_APP_NAME_ROOT", "RESOURCE_GROUP"])
def test_delete_review_environment_needs_its_variables(fake_az: FakeAz, missing: str) -> None:
    env = dict(REVIEW)
    del env[missing]
    result = run(fake_az, "delete-review-environment.sh", env)
    assert result.returncode == 1
    assert f"{missing} is not set." in result.stdout
    assert list(fake_az.commands()) == []
