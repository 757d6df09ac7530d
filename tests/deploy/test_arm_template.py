"""AzureResourceGroup/AzureDeploy.json: parameters, resources and their settings."""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from typing import Any

import pytest

from tests.deploy.support import ROOT

TEMPLATE = json.loads((ROOT / "AzureResourceGroup" / "AzureDeploy.json").read_text())


def resource(kind: str) -> dict[str, Any]:
    (found,) = [r for r in TEMPLATE["resources"] if r["type"].lower() == kind.lower()]
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


def app_settings() -> dict[str, str]:
    site = resource("Microsoft.Web/sites")
    return {s["name"]: s["value"] for s in site["properties"]["siteConfig"]["appSettings"]}


def test_is_a_resource_group_template() -> None:
    assert TEMPLATE["$schema"].endswith("/deploymentTemplate.json#")
    assert TEMPLATE["contentVersion"] == "1.0.0.0"


def test_keeps_the_original_parameters() -> None:
    parameters = TEMPLATE["parameters"]
    assert list(parameters) == ["appName", "appPlan", "storageAccountType", "location"]
    assert all(p["type"] == "string" for p in parameters.values())
    assert "defaultValue" not in parameters["appName"]
    assert "defaultValue" not in parameters["appPlan"]
    assert parameters["storageAccountType"]["allowedValues"] == ["Standard_LRS", "Standard_GRS"]
    assert parameters["storageAccountType"]["defaultValue"] == "Standard_LRS"
    assert parameters["location"]["defaultValue"] == "[resourceGroup().location]"


def test_every_expression_uses_declared_parameters_and_variables() -> None:
    expressions = [s for s in strings(TEMPLATE) if s.startswith("[") and not s.startswith("[[")]
    assert expressions
    for expression in expressions:
        assert expression.endswith("]"), expression
        assert expression.count("(") == expression.count(")"), expression
        for name in re.findall(r"parameters\('([^']+)'\)", expression):
            assert name in TEMPLATE["parameters"], expression
        for name in re.findall(r"variables\('([^']+)'\)", expression):
            assert name in TEMPLATE["variables"], expression


def test_resource_types() -> None:
    assert sorted(r["type"] for r in TEMPLATE["resources"]) == sorted(
        [
            "Microsoft.Storage/storageAccounts",
            "Microsoft.OperationalInsights/workspaces",
            "Microsoft.Insights/components",
            "Microsoft.Web/serverfarms",
            "Microsoft.Web/sites",
            "Microsoft.Web/sites/basicPublishingCredentialsPolicies",
        ]
    )


def test_the_plan_is_a_linux_consumption_plan() -> None:
    plan = resource("Microsoft.Web/serverfarms")
    assert plan["name"] == "[variables('hostingPlanName')]"
    assert TEMPLATE["variables"]["hostingPlanName"] == "[parameters('appPlan')]"
    assert plan["sku"] == {"name": "Y1", "tier": "Dynamic"}
    assert plan["properties"]["reserved"] is True


def test_the_function_app_runs_python_311_on_linux_over_https_only() -> None:
    site = resource("Microsoft.Web/sites")
    assert TEMPLATE["variables"]["functionAppName"] == "[parameters('appName')]"
    assert site["kind"] == "functionapp,linux"
    properties = site["properties"]
    assert properties["reserved"] is True
    assert properties["httpsOnly"] is True
    config = properties["siteConfig"]
    assert config["linuxFxVersion"] == "Python|3.11"
    assert config["minTlsVersion"] == "1.2"
    assert config["ftpsState"] == "Disabled"


def test_ftp_publishing_is_switched_off() -> None:
    policy = resource("Microsoft.Web/sites/basicPublishingCredentialsPolicies")
    assert policy["name"] == "[concat(variables('functionAppName'), '/ftp')]"
    assert policy["properties"] == {"allow": False}


def test_the_platform_app_settings() -> None:
    settings = app_settings()
    assert settings["FUNCTIONS_EXTENSION_VERSION"] == "~4"
    assert settings["FUNCTIONS_WORKER_RUNTIME"] == "python"
    assert (
        "listKeys(resourceId('Microsoft.Storage/storageAccounts'" in settings["AzureWebJobsStorage"]
    )
    assert "DefaultEndpointsProtocol=https" in settings["AzureWebJobsStorage"]
    assert settings["APPLICATIONINSIGHTS_CONNECTION_STRING"].endswith(".ConnectionString]")
    assert "APPINSIGHTS_INSTRUMENTATIONKEY" not in settings
    assert "AzureWebJobsDashboard" not in settings


def test_the_storage_account_is_locked_down() -> None:
    storage = resource("Microsoft.Storage/storageAccounts")
    assert storage["kind"] == "StorageV2"
    assert storage["sku"] == {"name": "[parameters('storageAccountType')]"}
    properties = storage["properties"]
    assert properties["supportsHttpsTrafficOnly"] is True
    assert properties["minimumTlsVersion"] == "TLS1_2"
    assert properties["allowBlobPublicAccess"] is False


def test_each_app_gets_its_own_storage_account() -> None:
    """Function apps sharing a storage account collide on their host ID (it is the first 32
    characters of the name, the same for every app here) and on Durable Functions state."""
    name = TEMPLATE["variables"]["storageAccountName"]
    assert "uniqueString(resourceGroup().id, parameters('appName'))" in name
    # uniqueString gives 13 characters; a storage account name has at most 24.
    suffix = re.search(r"'([a-z0-9]+)'\)\]$", name).group(1)
    assert 13 + len(suffix) <= 24


def test_application_insights_is_workspace_based() -> None:
    insights = resource("Microsoft.Insights/components")
    assert insights["kind"] == "web"
    assert insights["properties"]["Application_Type"] == "web"
    workspace_id = (
        "[resourceId('Microsoft.OperationalInsights/workspaces', variables('logAnalyticsName'))]"
    )
    assert insights["properties"]["WorkspaceResourceId"] == workspace_id
    assert workspace_id in insights["dependsOn"]


def test_the_site_waits_for_everything_it_references() -> None:
    site = resource("Microsoft.Web/sites")
    assert sorted(site["dependsOn"]) == sorted(
        [
            "[resourceId('Microsoft.Web/serverfarms', variables('hostingPlanName'))]",
            "[resourceId('Microsoft.Storage/storageAccounts', variables('storageAccountName'))]",
            "[resourceId('Microsoft.Insights/components', variables('applicationInsightsName'))]",
        ]
    )


@pytest.mark.parametrize(
    "kind",
    [
        "Microsoft.Storage/storageAccounts",
        "Microsoft.OperationalInsights/workspaces",
        "Microsoft.Insights/components",
        "Microsoft.Web/sites",
    ],
)
def test_the_apps_own_resources_carry_the_tag_that_review_clean_up_deletes_by(kind: str) -> None:
    assert TEMPLATE["variables"]["appTags"] == {"app-name": "[parameters('appName')]"}
    assert "variables('appTags')" in resource(kind)["tags"]


def test_the_shared_plan_carries_no_app_tag() -> None:
    assert "tags" not in resource("Microsoft.Web/serverfarms")


def test_every_resource_is_placed_at_the_location_parameter() -> None:
    for item in TEMPLATE["resources"]:
        if "/" in item["type"].split("/", 1)[1]:
            continue  # child resources take their parent's location
        assert item["location"] == "[parameters('location')]", item["type"]
