"""AzureResourceGroup/AzureDeploy.json: checked against the Azure SDK's models of its resource
types, and for what the app needs on Flex Consumption with a managed identity."""

from __future__ import annotations

import copy
import json
import re
from collections.abc import Iterator
from datetime import date
from typing import Any

import pytest

from shared import settings
from tests.deploy.arm_models import RESOURCE_MODELS, is_expression, problems
from tests.deploy.support import PLATFORM_SETTINGS, ROOT

TEMPLATE_FILE = ROOT / "AzureResourceGroup" / "AzureDeploy.json"
TEMPLATE = json.loads(TEMPLATE_FILE.read_text())
TODAY = date(2026, 11, 30)
ROLES = {
    "Storage Blob Data Owner": "b7e6dc6d-f1e8-4753-8033-0f276bb0955b",
    "Storage Queue Data Contributor": "974c5e8b-45b9-4653-ba55-5f855dd0fb88",
    "Storage Table Data Contributor": "0a9a7e1f-b9d0-4cc4-a60d-0319b160aaa3",
    "Storage Blob Data Reader": "2a2b9908-6ea1-4ae2-8e65-a410df84e7d1",
    "Monitoring Metrics Publisher": "3913510d-42f4-4e42-8a64-420c390055eb",
}
TAGS = {"app-name": "[parameters('appName')]"}
IDENTITY_ID = (
    "resourceId('Microsoft.ManagedIdentity/userAssignedIdentities', variables('identityName'))"
)
IDENTITY = (
    "reference(resourceId('Microsoft.ManagedIdentity/userAssignedIdentities', "
    "variables('identityName')), '2024-11-30')"
)
# Site properties that Flex Consumption does not use (Microsoft's list for the plan): the
# runtime and scale live in functionAppConfig, and the app is Linux by its kind.
SITE_PROPERTIES_NOT_ON_FLEX = {"reserved", "containerSize", "dailyMemoryTimeQuota"}
SITE_CONFIG_NOT_ON_FLEX = {
    "ftpsState",
    "linuxFxVersion",
    "javaVersion",
    "netFrameworkVersion",
    "powerShellVersion",
    "use32BitWorkerProcess",
    "alwaysOn",
    "preWarmedInstanceCount",
    "functionAppScaleLimit",
    "minimumElasticInstanceCount",
}
# Settings the Flex Consumption plan rejects or ignores: the runtime is set in
# functionAppConfig, the package lives in the deployment container, nothing is built.
NOT_ON_FLEX = {
    "FUNCTIONS_EXTENSION_VERSION",
    "FUNCTIONS_WORKER_RUNTIME",
    "WEBSITE_RUN_FROM_PACKAGE",
    "WEBSITE_CONTENTAZUREFILECONNECTIONSTRING",
    "WEBSITE_CONTENTSHARE",
    "SCM_DO_BUILD_DURING_DEPLOYMENT",
    "ENABLE_ORYX_BUILD",
    "WEBSITE_NODE_DEFAULT_VERSION",
}


def all_resources(template: dict[str, Any] = TEMPLATE) -> Iterator[dict[str, Any]]:
    """Every resource, those of nested deployments' templates and child resources included
    (a child's type given in full)."""
    for item in template["resources"]:
        yield item
        for child in item.get("resources", []):
            yield {**child, "type": f"{item['type']}/{child['type']}"}
        inner = item.get("properties", {}).get("template")
        if item["type"] == "Microsoft.Resources/deployments" and inner:
            yield from all_resources(inner)


def resources(kind: str) -> list[dict[str, Any]]:
    return [r for r in all_resources() if r["type"].lower() == kind.lower()]


def resource(kind: str) -> dict[str, Any]:
    (found,) = resources(kind)
    return found


def strings(value: Any) -> Iterator[str]:
    if isinstance(value, str):
        yield value
    elif isinstance(value, dict):
        for key, item in value.items():
            yield from strings(key)
            yield from strings(item)
    elif isinstance(value, list):
        for item in value:
            yield from strings(item)


def site() -> dict[str, Any]:
    return resource("Microsoft.Web/sites")


def app_settings() -> dict[str, str]:
    return {s["name"]: s["value"] for s in site()["properties"]["siteConfig"]["appSettings"]}


# Offline validation: the SDK's models and the checks that need no Azure


def test_every_resource_matches_the_sdk_model_of_its_type_and_api_version() -> None:
    assert problems(TEMPLATE) == []


@pytest.mark.parametrize(
    ("path", "mistake", "found"),
    [
        (["properties", "httpsOnly"], "httpsonly", "has no such property"),
        (["properties", "functionAppConfig"], "siteConfig.functionAppConfig", "has no such"),
        (["properties", "defaultHostName"], "set", "read-only"),
        (["properties", "httpsOnly"], "a string", "is not a bool"),
        (["properties", "functionAppConfig", "runtime", "name"], "pyhton", "is none of"),
    ],
)
def test_the_validation_fails_a_misspelt_misplaced_or_mistyped_property(
    path: list[str], mistake: str, found: str
) -> None:
    broken = copy.deepcopy(TEMPLATE)
    (target,) = [r for r in broken["resources"] if r["type"] == "Microsoft.Web/sites"]
    parent = target
    for key in path[:-1]:
        parent = parent[key]
    if mistake == "httpsonly":
        parent["httpsonly"] = parent.pop(path[-1])
    elif mistake == "siteConfig.functionAppConfig":
        parent["siteConfig"]["functionAppConfig"] = parent.pop(path[-1])
    elif mistake == "set":
        parent[path[-1]] = "example.azurewebsites.net"
    elif mistake == "a string":
        parent[path[-1]] = "true"
    else:
        parent[path[-1]] = mistake
    (problem,) = problems(broken)
    assert found in problem


def test_the_validation_reaches_into_nested_deployments() -> None:
    broken = copy.deepcopy(TEMPLATE)
    (nested,) = [r for r in broken["resources"] if r["type"] == "Microsoft.Resources/deployments"]
    (assignment,) = nested["properties"]["template"]["resources"]
    assignment["properties"]["principalID"] = assignment["properties"].pop("principalId")
    (problem,) = problems(broken)
    assert "principalID" in problem


def test_every_resource_type_has_a_model() -> None:
    assert {r["type"].lower() for r in all_resources()} <= set(RESOURCE_MODELS)


def api_date(version: str) -> date:
    return date.fromisoformat(version[:10])


@pytest.mark.parametrize("item", list(all_resources()), ids=lambda r: r["type"])
def test_api_versions_are_recent(item: dict[str, Any]) -> None:
    """No older than two years, unless the SDK knows no newer stable version of the type."""
    version = item["apiVersion"]
    assert "preview" not in version
    if api_date(version) >= TODAY.replace(year=TODAY.year - 2):
        return
    known = RESOURCE_MODELS[item["type"].lower()].api_versions()
    stable = [v for v in known if "preview" not in v]
    assert version == max(stable, key=api_date), f"{item['type']}: use {max(stable)}"


def test_no_location_is_written_into_the_template() -> None:
    for item in all_resources():
        if "location" in item:
            assert item["location"] == "[parameters('location')]", item["type"]
    regions = re.compile(r"\b(uk ?south|uk ?west|west ?europe|north ?europe|east ?us)\b", re.I)
    assert not any(regions.search(text) for text in strings(TEMPLATE))
    assert TEMPLATE["parameters"]["location"]["defaultValue"] == "[resourceGroup().location]"


def test_secure_parameters_never_reach_the_outputs_or_a_default() -> None:
    secure = [n for n, p in TEMPLATE["parameters"].items() if p["type"].lower() == "securestring"]
    assert secure
    outputs = json.dumps(TEMPLATE.get("outputs", {}))
    for name in secure:
        assert f"parameters('{name}')" not in outputs
        assert TEMPLATE["parameters"][name].get("defaultValue", "") == ""
    assert "listKeys" not in outputs


def test_every_expression_uses_declared_parameters_and_variables() -> None:
    expressions = [s for s in strings(TEMPLATE["resources"]) if is_expression(s)]
    inner_names: set[str] = set()
    for nested in resources("Microsoft.Resources/deployments"):
        inner_names |= set(nested["properties"]["template"]["parameters"])
    for expression in expressions:
        assert expression.endswith("]"), expression
        assert expression.count("(") == expression.count(")"), expression
        for name in re.findall(r"parameters\('([^']+)'\)", expression):
            assert name in TEMPLATE["parameters"] or name in inner_names, expression
        for name in re.findall(r"variables\('([^']+)'\)", expression):
            assert name in TEMPLATE["variables"], expression


# Flex Consumption


def test_the_plan_is_the_apps_own_flex_consumption_plan() -> None:
    plan = resource("Microsoft.Web/serverfarms")
    assert plan["sku"] == {"name": "FC1", "tier": "FlexConsumption"}
    assert plan["properties"]["reserved"] is True, "a Linux plan"
    assert TEMPLATE["variables"]["hostingPlanName"] == "[concat(parameters('appName'), '-plan')]"
    assert plan["tags"] == TAGS, "deleted with its review app"


def test_the_function_app_runs_python_311_on_flex_consumption() -> None:
    app = site()
    assert app["kind"] == "functionapp,linux"
    properties = app["properties"]
    assert properties["serverFarmId"] == (
        "[resourceId('Microsoft.Web/serverfarms', variables('hostingPlanName'))]"
    )
    assert properties["httpsOnly"] is True
    assert properties["functionAppConfig"]["runtime"] == {"name": "python", "version": "3.11"}
    config = properties["siteConfig"]
    assert "linuxFxVersion" not in config, (
        "Flex Consumption takes the runtime from functionAppConfig"
    )
    assert config["minTlsVersion"] == "1.2"


def test_only_properties_flex_consumption_uses_are_set() -> None:
    properties = site()["properties"]
    assert SITE_PROPERTIES_NOT_ON_FLEX.isdisjoint(properties)
    assert SITE_CONFIG_NOT_ON_FLEX.isdisjoint(properties["siteConfig"])


def test_no_site_update_strategy_while_rolling_updates_are_in_preview() -> None:
    """Rolling updates on Flex Consumption are a preview feature; a deployment restarts the
    instances (the default, Recreate), as doc/deployment.md says."""
    assert "siteUpdateStrategy" not in site()["properties"]["functionAppConfig"]


def test_http_and_durable_groups_have_always_ready_instances_set_by_parameters() -> None:
    scale = site()["properties"]["functionAppConfig"]["scaleAndConcurrency"]
    assert scale["alwaysReady"] == [
        {"name": "http", "instanceCount": "[parameters('alwaysReadyHttpInstances')]"},
        {"name": "durable", "instanceCount": "[parameters('alwaysReadyDurableInstances')]"},
    ]
    for name in ("alwaysReadyHttpInstances", "alwaysReadyDurableInstances"):
        parameter = TEMPLATE["parameters"][name]
        assert parameter["type"] == "int"
        assert parameter["defaultValue"] == 0, "nothing billed while idle unless asked for"
        assert (parameter["minValue"], parameter["maxValue"]) == (0, 10)
    assert scale["maximumInstanceCount"] == "[parameters('maximumInstanceCount')]"
    assert scale["instanceMemoryMB"] == 2048


def test_the_package_is_deployed_to_a_blob_container_reached_with_the_identity() -> None:
    storage = site()["properties"]["functionAppConfig"]["deployment"]["storage"]
    assert storage["type"] == "blobContainer"
    assert storage["authentication"] == {
        "type": "UserAssignedIdentity",
        "userAssignedIdentityResourceId": f"[{IDENTITY_ID}]",
    }
    assert "primaryEndpoints.blob" in storage["value"]
    assert "variables('deploymentContainerName')" in storage["value"]
    container = resource("Microsoft.Storage/storageAccounts/blobServices/containers")
    assert container["name"] == "[variables('deploymentContainerResourceName')]"
    assert TEMPLATE["variables"]["deploymentContainerResourceName"].endswith(
        "'/default/', variables('deploymentContainerName'))]"
    )
    assert container["properties"] == {"publicAccess": "None"}


def test_settings_flex_consumption_rejects_are_absent() -> None:
    assert NOT_ON_FLEX.isdisjoint(app_settings())


# Managed identity instead of account keys


def test_the_app_has_only_its_user_assigned_identity() -> None:
    assert site()["identity"] == {
        "type": "UserAssigned",
        "userAssignedIdentities": {f"[{IDENTITY_ID}]": {}},
    }
    identity = resource("Microsoft.ManagedIdentity/userAssignedIdentities")
    assert identity["name"] == "[variables('identityName')]"
    assert TEMPLATE["variables"]["identityName"] == "[concat(parameters('appName'), '-identity')]"
    assert identity["tags"] == TAGS, "deleted with its review app"


def test_the_site_comes_after_its_identity_has_every_role() -> None:
    """The identity and its role assignments exist before the site, so the app's first start
    and the first zip deploy never meet an identity still waiting for its roles."""
    depends = site()["dependsOn"]
    for assignment in resources("Microsoft.Authorization/roleAssignments"):
        if "parameters('" in assignment["name"]:
            continue
        assert any(assignment["name"][1:-1] in d and "extensionResourceId(" in d for d in depends)
        assert f"[{IDENTITY_ID}]" in assignment["dependsOn"]
    (nested,) = resources("Microsoft.Resources/deployments")
    assert nested["dependsOn"] == [f"[{IDENTITY_ID}]"]
    assert (
        "[resourceId(parameters('allowedUsersStorageResourceGroup'), "
        "'Microsoft.Resources/deployments', concat(parameters('appName'), "
        "'-allowed-users-reader'))]"
    ) in depends
    assert not any(
        "Microsoft.Web/sites" in d
        for r in resources("Microsoft.Authorization/roleAssignments")
        for d in r.get("dependsOn", [])
    )


def test_no_account_key_is_read_or_stored_anywhere() -> None:
    text = TEMPLATE_FILE.read_text()
    assert "listKeys" not in text
    assert "AccountKey" not in text
    assert "AzureWebJobsStorage" not in app_settings()
    assert app_settings()["AzureWebJobsStorage__accountName"] == "[variables('storageAccountName')]"
    assert app_settings()["AzureWebJobsStorage__credential"] == "managedidentity"
    assert app_settings()["AzureWebJobsStorage__clientId"] == f"[{IDENTITY}.clientId]"
    assert app_settings()["AZURE_CLIENT_ID"] == f"[{IDENTITY}.clientId]", (
        "the app's DefaultAzureCredential reads the allowed-users blob with this identity"
    )
    storage = resource("Microsoft.Storage/storageAccounts")["properties"]
    assert storage["allowSharedKeyAccess"] is False


def role_assignments() -> dict[str, dict[str, Any]]:
    """Role assignments by role name (the nested deployment's gets its role as a parameter)."""
    by_id = {v: k for k, v in ROLES.items()}
    found = {}
    for assignment in resources("Microsoft.Authorization/roleAssignments"):
        definition = assignment["properties"]["roleDefinitionId"]
        if "parameters('roleId')" in definition:
            (nested,) = resources("Microsoft.Resources/deployments")
            definition = nested["properties"]["parameters"]["roleId"]["value"]
        key = re.search(r"variables\('roles'\)\.(\w+)", definition).group(1)
        found[by_id[TEMPLATE["variables"]["roles"][key]]] = assignment
    return found


def test_durable_functions_get_blob_queue_and_table_roles_on_the_apps_storage() -> None:
    assignments = role_assignments()
    assert set(assignments) == set(ROLES)
    for role in (
        "Storage Blob Data Owner",
        "Storage Queue Data Contributor",
        "Storage Table Data Contributor",
    ):
        assignment = assignments[role]
        assert assignment["scope"] == (
            "[concat('Microsoft.Storage/storageAccounts/', variables('storageAccountName'))]"
        )
        assert assignment["properties"]["principalId"] == f"[{IDENTITY}.principalId]"
        assert assignment["properties"]["principalType"] == "ServicePrincipal"
        assert IDENTITY_ID in assignment["name"], "one per app"


def test_the_allowed_users_container_is_readable_and_only_readable() -> None:
    assignment = role_assignments()["Storage Blob Data Reader"]
    assert assignment["scope"].endswith(
        "'/blobServices/default/containers/', parameters('container'))]"
    )
    (nested,) = resources("Microsoft.Resources/deployments")
    assert nested["condition"] == "[not(empty(parameters('allowedUsersStorageAccount')))]"
    assert nested["resourceGroup"] == "[parameters('allowedUsersStorageResourceGroup')]"
    passed = nested["properties"]["parameters"]
    assert passed["container"] == {"value": "[variables('allowedUsersContainer')]"}
    assert passed["principalId"] == {"value": f"[{IDENTITY}.principalId]"}
    assert nested["properties"]["expressionEvaluationOptions"] == {"scope": "Inner"}
    default = settings.OPTIONAL_DEFAULTS[settings.ALLOWED_USERS_CONTAINER]
    assert f"'{default}'" in TEMPLATE["variables"]["allowedUsersContainer"]
    endpoint = app_settings()[settings.ALLOWED_USERS_BLOB_ENDPOINT]
    assert "parameters('allowedUsersStorageAccount')" in endpoint
    assert "environment().suffixes.storage" in endpoint


def test_basic_auth_publishing_is_off_for_ftp_and_scm() -> None:
    """Children of the site, so their names are the literal "ftp" and "scm" that the published
    schema can check."""
    policies = site()["resources"]
    assert sorted(p["name"] for p in policies) == ["ftp", "scm"]
    for policy in policies:
        assert policy["type"] == "basicPublishingCredentialsPolicies"
        assert policy["properties"] == {"allow": False}
        assert policy["dependsOn"] == [
            "[resourceId('Microsoft.Web/sites', variables('functionAppName'))]"
        ]


# App settings: all of them, in the template


def test_the_template_carries_every_setting_the_app_reads() -> None:
    settings_in_template = app_settings()
    assert set(settings.ALL_VARIABLES) <= set(settings_in_template)
    platform = set(settings_in_template) - set(settings.ALL_VARIABLES)
    assert platform == PLATFORM_SETTINGS
    for name in settings.ALL_VARIABLES:
        if name != settings.ALLOWED_USERS_BLOB_ENDPOINT:
            assert settings_in_template[name] == f"[parameters('{name}')]"


def test_secrets_are_secure_parameters_and_only_the_required_ones_have_no_default() -> None:
    parameters = TEMPLATE["parameters"]
    secrets = {
        settings.AZURE_STORAGE_CONNECTION_STRING,
        settings.CACHE_FLUSH_URL,
        settings.SLACK_BOT_TOKEN,
        settings.SLACK_SIGNING_SECRET,
    }
    for name in settings.ALL_VARIABLES:
        if name == settings.ALLOWED_USERS_BLOB_ENDPOINT:
            continue
        expected = "securestring" if name in secrets else "string"
        assert parameters[name]["type"] == expected, name
    without_default = {n for n in settings.ALL_VARIABLES if n in parameters} - {
        n for n, p in parameters.items() if "defaultValue" in p
    }
    assert without_default == secrets - {settings.AZURE_STORAGE_CONNECTION_STRING}


def test_application_insights_is_workspace_based() -> None:
    insights = resource("Microsoft.Insights/components")
    assert insights["properties"]["Application_Type"] == "web"
    workspace_id = (
        "[resourceId('Microsoft.OperationalInsights/workspaces', variables('logAnalyticsName'))]"
    )
    assert insights["properties"]["WorkspaceResourceId"] == workspace_id
    assert workspace_id in insights["dependsOn"]
    assert app_settings()["APPLICATIONINSIGHTS_CONNECTION_STRING"].endswith(".ConnectionString]")


def test_telemetry_is_sent_with_the_identity_only() -> None:
    insights = resource("Microsoft.Insights/components")
    assert insights["properties"]["DisableLocalAuth"] is True, (
        "the connection string alone is refused"
    )
    assert app_settings()["APPLICATIONINSIGHTS_AUTHENTICATION_STRING"] == (
        f"[concat('Authorization=AAD;ClientId=', {IDENTITY}.clientId)]"
    )
    publisher = role_assignments()["Monitoring Metrics Publisher"]
    assert publisher["scope"] == (
        "[concat('Microsoft.Insights/components/', variables('applicationInsightsName'))]"
    )
    assert publisher["properties"]["principalId"] == f"[{IDENTITY}.principalId]"


def test_each_app_gets_its_own_storage_account() -> None:
    """Function apps sharing a storage account collide on their host ID (it is the first 32
    characters of the name, the same for every app here) and on Durable Functions state."""
    name = TEMPLATE["variables"]["storageAccountName"]
    assert "uniqueString(resourceGroup().id, parameters('appName'))" in name
    suffix = re.search(r"'([a-z0-9]+)'\)\]$", name).group(1)
    assert 13 + len(suffix) <= 24
    storage = resource("Microsoft.Storage/storageAccounts")["properties"]
    assert storage["supportsHttpsTrafficOnly"] is True
    assert storage["minimumTlsVersion"] == "TLS1_2"
    assert storage["allowBlobPublicAccess"] is False


@pytest.mark.parametrize(
    "kind",
    [
        "Microsoft.ManagedIdentity/userAssignedIdentities",
        "Microsoft.Storage/storageAccounts",
        "Microsoft.OperationalInsights/workspaces",
        "Microsoft.Insights/components",
        "Microsoft.Web/serverfarms",
        "Microsoft.Web/sites",
    ],
)
def test_the_apps_own_resources_carry_the_tag_that_review_clean_up_deletes_by(kind: str) -> None:
    tags = resource(kind)["tags"]
    assert tags["app-name"] == "[parameters('appName')]"
    assert set(tags) - {"app-name"} <= {
        "[concat('hidden-link:', resourceId('Microsoft.Web/sites', variables('functionAppName')))]"
    }


def test_the_host_name_is_the_only_output() -> None:
    assert list(TEMPLATE["outputs"]) == ["functionAppHostName"]
    assert TEMPLATE["outputs"]["functionAppHostName"]["value"].endswith(".defaultHostName]")
