"""The scripts that drive the Azure CLI, run against a stand-in ``az`` that records its calls:
deploy-infrastructure.sh, deploy-package.sh and delete-review-environment.sh."""

from __future__ import annotations

import json
import zipfile
from pathlib import Path
from shlex import quote, split

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
    "ALWAYS_READY_HTTP_INSTANCES": "0",
    "ALWAYS_READY_DURABLE_INSTANCES": "0",
    "REQUIRED_APP_SETTINGS": " ".join(REQUIRED),
    "OPTIONAL_APP_SETTINGS": " ".join(OPTIONAL),
    "SECRET_A": "xoxb-123",
    "SECRET_B": "https://cache-flush.example.org/api/flush?code=abc==",
    "ALLOWED_USERS_STORAGE_ACCOUNT": "allowedusers",
}


def deployment_call(fake_az: FakeAz) -> dict:
    (call,) = [c for c in fake_az.calls() if c["args"][:3] == ["deployment", "group", "create"]]
    return call


def parameters_sent(fake_az: FakeAz) -> dict[str, object]:
    call = deployment_call(fake_az)
    args = call["args"]
    argument = args[args.index("--parameters") + 1]
    assert argument.startswith("@")
    document = json.loads(call["files"][argument])
    assert document["$schema"].endswith("/deploymentParameters.json#")
    return {name: item["value"] for name, item in document["parameters"].items()}


def test_infrastructure_is_deployed_into_an_existing_group(fake_az: FakeAz) -> None:
    fake_az.answer(["group", "exists"], stdout="true\n")
    fake_az.answer(["deployment", "group", "create"], stdout="app.azurewebsites.net\n")
    result = run(fake_az, "deploy-infrastructure.sh", INFRA)
    assert result.returncode == 0, output_of(result)
    commands = list(fake_az.commands())
    assert commands[0] == ["group", "exists", "--name", "nhsuk-utils-rg-dev-uks"]
    assert not any(c[:2] == ["group", "create"] for c in commands)
    args = deployment_call(fake_az)["args"]
    template = args[args.index("--template-file") + 1]
    assert (ROOT / template).resolve() == ROOT / "AzureResourceGroup" / "AzureDeploy.json"
    assert args[args.index("--resource-group") + 1] == "nhsuk-utils-rg-dev-uks"
    assert args[args.index("--name") + 1] == INFRA["APP_NAME"]
    assert args[args.index("--mode") + 1] == "Incremental"
    assert args[args.index("--query") + 1] == "properties.outputs.functionAppHostName.value"
    assert "##vso[task.setvariable variable=APP_SERVICE_HOST]app.azurewebsites.net" in (
        result.stdout.splitlines()
    )


def test_every_setting_goes_into_the_one_deployment(fake_az: FakeAz) -> None:
    env = {**INFRA, "OPTION_D": "#cache-flush", "OPTION_E": "$(OPTION_E)"}
    result = run(fake_az, "deploy-infrastructure.sh", env)
    assert result.returncode == 0, output_of(result)
    assert parameters_sent(fake_az) == {
        "appName": INFRA["APP_NAME"],
        "location": "uksouth",
        "allowedUsersStorageAccount": "allowedusers",
        "SECRET_A": "xoxb-123",
        "SECRET_B": "https://cache-flush.example.org/api/flush?code=abc==",
        "OPTION_C": "",
        "OPTION_D": "#cache-flush",
        "OPTION_E": "",
        "alwaysReadyHttpInstances": 0,
        "alwaysReadyDurableInstances": 0,
    }
    assert not any(c[:3] == ["functionapp", "config", "appsettings"] for c in fake_az.commands())


def test_the_optional_deployment_variables_are_passed_when_set(fake_az: FakeAz) -> None:
    env = {
        **INFRA,
        "STORAGE_ACCOUNT_TYPE": "Standard_GRS",
        "MAXIMUM_INSTANCE_COUNT": "100",
        "ALWAYS_READY_HTTP_INSTANCES": "1",
        "ALWAYS_READY_DURABLE_INSTANCES": "2",
        "ALLOWED_USERS_STORAGE_RESOURCE_GROUP": "shared-rg",
    }
    result = run(fake_az, "deploy-infrastructure.sh", env)
    assert result.returncode == 0, output_of(result)
    sent = parameters_sent(fake_az)
    assert sent["storageAccountType"] == "Standard_GRS"
    assert sent["maximumInstanceCount"] == 100
    assert sent["alwaysReadyHttpInstances"] == 1
    assert sent["alwaysReadyDurableInstances"] == 2
    assert sent["allowedUsersStorageResourceGroup"] == "shared-rg"


def test_a_missing_group_is_created_first(fake_az: FakeAz) -> None:
    fake_az.answer(["group", "exists"], stdout="false\n")
    result = run(fake_az, "deploy-infrastructure.sh", INFRA)
    assert result.returncode == 0, output_of(result)
    commands = list(fake_az.commands())
    assert commands[1] == split(
        "group create --name nhsuk-utils-rg-dev-uks --location uksouth --output none"
    )
    assert commands[2][:3] == ["deployment", "group", "create"]


@pytest.mark.parametrize(
    "value",
    ['say "hello"', "it's", "a;b=c", "line one\nline two", "100% $(HOME) `x` \\n", "  padded  "],
)
def test_values_reach_az_exactly_and_never_on_its_command_line(fake_az: FakeAz, value: str) -> None:
    result = run(fake_az, "deploy-infrastructure.sh", {**INFRA, "SECRET_A": value})
    assert result.returncode == 0, output_of(result)
    assert parameters_sent(fake_az)["SECRET_A"] == value
    for args in fake_az.commands():
        assert not any(value in arg for arg in args)
    assert value not in output_of(result)


def test_the_parameters_file_is_gone_when_the_script_ends(fake_az: FakeAz) -> None:
    result = run(fake_az, "deploy-infrastructure.sh", INFRA)
    assert result.returncode == 0, output_of(result)
    args = deployment_call(fake_az)["args"]
    assert not Path(args[args.index("--parameters") + 1][1:]).exists()


@pytest.mark.parametrize("missing", ["RESOURCE_GROUP", "LOCATION", "APP_NAME"])
def test_infrastructure_needs_its_variables(fake_az: FakeAz, missing: str) -> None:
    result = run(fake_az, "deploy-infrastructure.sh", {**INFRA, missing: f"$({missing})"})
    assert result.returncode == 1
    assert f"Not set (add them to Vault): {missing}." in result.stdout
    assert list(fake_az.commands()) == []


@pytest.mark.parametrize("how", ["absent", "empty", "undefined pipeline variable"])
def test_a_missing_required_setting_stops_before_any_change(fake_az: FakeAz, how: str) -> None:
    env = dict(INFRA)
    if how == "absent":
        del env["SECRET_B"]
    else:
        env["SECRET_B"] = "" if how == "empty" else "$(SECRET_B)"
    result = run(fake_az, "deploy-infrastructure.sh", env)
    assert result.returncode == 1
    assert "Required app settings without a value (add them to Vault): SECRET_B." in result.stdout
    assert list(fake_az.commands()) == []


def test_the_allowed_users_list_must_be_readable_one_way_or_the_other(fake_az: FakeAz) -> None:
    env = {k: v for k, v in INFRA.items() if k != "ALLOWED_USERS_STORAGE_ACCOUNT"}
    result = run(fake_az, "deploy-infrastructure.sh", env)
    assert result.returncode == 1
    assert "ALLOWED_USERS_STORAGE_ACCOUNT" in result.stdout
    assert list(fake_az.commands()) == []
    with_key = {**env, "AZURE_STORAGE_CONNECTION_STRING": "DefaultEndpointsProtocol=https;x"}
    assert run(fake_az, "deploy-infrastructure.sh", with_key).returncode == 0


@pytest.mark.parametrize(
    ("name", "value"),
    [
        ("ALWAYS_READY_HTTP_INSTANCES", "11"),
        ("ALWAYS_READY_HTTP_INSTANCES", "$(ALWAYS_READY_HTTP_INSTANCES)"),
        ("ALWAYS_READY_DURABLE_INSTANCES", "-1"),
        ("ALWAYS_READY_DURABLE_INSTANCES", ""),
        ("MAXIMUM_INSTANCE_COUNT", "0"),
        ("MAXIMUM_INSTANCE_COUNT", "1001"),
        ("MAXIMUM_INSTANCE_COUNT", "many"),
    ],
)
def test_scale_settings_are_checked(fake_az: FakeAz, name: str, value: str) -> None:
    result = run(fake_az, "deploy-infrastructure.sh", {**INFRA, name: value})
    assert result.returncode == 1
    assert name in result.stdout
    assert list(fake_az.commands()) == []


def test_a_failed_deployment_fails_the_script(fake_az: FakeAz) -> None:
    fake_az.answer(["deployment", "group", "create"], exit_code=1)
    result = run(fake_az, "deploy-infrastructure.sh", INFRA)
    assert result.returncode == 1
    assert "APP_SERVICE_HOST" not in result.stdout


# deploy-package.sh

PACKAGE_FILES = [
    "host.json",
    "requirements.txt",
    "shared/__init__.py",
    ".python_packages/lib/site-packages/slack_sdk/__init__.py",
    *(
        f"{folder}/{name}"
        for folder in sorted(p.parent.name for p in ROOT.glob("*/function.json"))
        for name in ("function.json", "__init__.py")
    ),
]


def make_package(path: Path, extra: tuple[str, ...] = ()) -> Path:
    with zipfile.ZipFile(path, "w") as archive:
        for name in [*PACKAGE_FILES, *extra]:
            archive.writestr(name, "x")
    return path


def test_the_package_is_zip_deployed(fake_az: FakeAz, tmp_path: Path) -> None:
    package = make_package(tmp_path / "42.zip")
    env = {"APP_NAME": "app", "RESOURCE_GROUP": "rg", "PACKAGE": str(package)}
    result = run(fake_az, "deploy-package.sh", env)
    assert result.returncode == 0, output_of(result)
    assert list(fake_az.commands()) == [
        split(
            "functionapp deployment source config-zip --resource-group rg --name app "
            f"--src {quote(str(package))} --build-remote false --output none"
        )
    ]


@pytest.mark.parametrize("extra", [".env", "tests/test_x.py", "devhost/run.py", "bench/x.py"])
def test_a_package_holding_more_than_the_app_is_not_deployed(
    fake_az: FakeAz, tmp_path: Path, extra: str
) -> None:
    package = make_package(tmp_path / "42.zip", (extra,))
    env = {"APP_NAME": "app", "RESOURCE_GROUP": "rg", "PACKAGE": str(package)}
    result = run(fake_az, "deploy-package.sh", env)
    assert result.returncode == 1
    assert extra.split("/", maxsplit=1)[0] in result.stdout
    assert list(fake_az.commands()) == []


def test_a_missing_or_broken_package_is_not_deployed(fake_az: FakeAz, tmp_path: Path) -> None:
    env = {"APP_NAME": "app", "RESOURCE_GROUP": "rg", "PACKAGE": str(tmp_path / "none.zip")}
    assert "No package" in run(fake_az, "deploy-package.sh", env).stdout
    (tmp_path / "bad.zip").write_text("not a zip")
    result = run(fake_az, "deploy-package.sh", {**env, "PACKAGE": str(tmp_path / "bad.zip")})
    assert result.returncode == 1
    assert "is not a zip file" in result.stdout
    assert list(fake_az.commands()) == []


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
PLAN = f"{GROUP}/Microsoft.Web/serverfarms/{APP}-plan"
IDENTITY = f"{GROUP}/Microsoft.ManagedIdentity/userAssignedIdentities/{APP}-identity"
PRINCIPAL = "6c1f2f1e-0000-4000-8000-00000000abcd"
ASSIGNMENTS = [
    f"{GROUP}/Microsoft.Storage/storageAccounts/x/providers/Microsoft.Authorization/roleAssignments/1",
    "/subscriptions/0000/resourceGroups/shared/providers/Microsoft.Storage/storageAccounts/"
    "allowedusers/blobServices/default/containers/c/providers/Microsoft.Authorization/"
    "roleAssignments/2",
]


def test_the_review_app_goes_first_then_everything_tagged_with_its_name(fake_az: FakeAz) -> None:
    fake_az.answer(
        ["resource", "list"],
        stdout="\n".join([INSIGHTS, IDENTITY, STORAGE, PLAN, SITE, WORKSPACE]) + "\n",
    )
    fake_az.answer(["resource", "show", "--ids", SITE], stdout="\n")
    fake_az.answer(["resource", "show", "--ids", IDENTITY], stdout=PRINCIPAL + "\n")
    fake_az.answer(["role", "assignment", "list"], stdout="\n".join(ASSIGNMENTS) + "\n")
    result = run(fake_az, "delete-review-environment.sh", REVIEW)
    assert result.returncode == 0, output_of(result)
    commands = list(fake_az.commands())
    assert commands[0] == split(
        "resource list --resource-group nhsuk-utils-rg-dev-uks "
        "--tag app-name=nhsuk-cache-flush-slack-app-func-dev-uks-pr-42 --query [].id --output tsv"
    )
    assert commands[1:] == [
        split(f"resource show --ids {SITE} --query identity.principalId --output tsv"),
        split(f"resource show --ids {IDENTITY} --query properties.principalId --output tsv"),
        split(f"role assignment list --assignee {PRINCIPAL} --all --query [].id --output tsv"),
        ["role", "assignment", "delete", "--ids", *ASSIGNMENTS, "--output", "none"],
        split(f"resource delete --ids {SITE} --output none"),
        split(
            f"resource delete --ids {INSIGHTS} {IDENTITY} {STORAGE} {PLAN} {WORKSPACE} "
            "--output none"
        ),
    ]


def test_a_site_deployed_with_a_system_identity_loses_its_roles_too(fake_az: FakeAz) -> None:
    """Apps deployed before the user-assigned identity have a system-assigned one."""
    fake_az.answer(["resource", "list"], stdout=f"{SITE}\n{IDENTITY}\n")
    fake_az.answer(["resource", "show", "--ids", SITE], stdout=PRINCIPAL + "\n")
    fake_az.answer(["resource", "show", "--ids", IDENTITY], stdout="\n")
    fake_az.answer(["role", "assignment", "list"], stdout=ASSIGNMENTS[0] + "\n")
    result = run(fake_az, "delete-review-environment.sh", REVIEW)
    assert result.returncode == 0, output_of(result)
    assert [c[:3] for c in fake_az.commands()][1:] == [
        ["resource", "show", "--ids"],
        ["role", "assignment", "list"],
        ["role", "assignment", "delete"],
        ["resource", "show", "--ids"],
        ["resource", "delete", "--ids"],
        ["resource", "delete", "--ids"],
    ]


def test_an_app_without_identity_or_roles_is_deleted_all_the_same(fake_az: FakeAz) -> None:
    fake_az.answer(["resource", "list"], stdout=SITE + "\n")
    fake_az.answer(["resource", "show"], stdout="\n")
    result = run(fake_az, "delete-review-environment.sh", REVIEW)
    assert result.returncode == 0, output_of(result)
    assert [c[:2] for c in fake_az.commands()] == [
        ["resource", "list"],
        ["resource", "show"],
        ["resource", "delete"],
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
