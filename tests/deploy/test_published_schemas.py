"""The deployment files against Microsoft's published schemas (copies in tests/deploy/schemas/).

What these checks cannot see: the schemas check the shape of each resource (property names,
where they sit, JSON types, enums, lengths of literal strings), not what an ARM expression
evaluates to, not whether a name is free or a role assignment allowed, and not anything the
resource provider decides at deployment time. That needs Azure (``az deployment group
what-if``); the SDK-model checks in test_arm_template.py and the tests of the template's
content cover part of it offline.
"""

from __future__ import annotations

import copy
import json
import re
from typing import Any

import pytest

from tests.deploy.published_schemas import (
    ARM_SCHEMAS,
    DEPLOYMENT_PARAMETER_VALUE,
    SCHEMAS,
    UNDEFINED_TASKS,
    ArmSchemas,
    deployment_parameter_value_schema,
    pipeline_problems,
    pipelines_schema,
    task_has_a_step_definition,
    task_is_named,
)
from tests.deploy.support import ROOT

TEMPLATE_FILE = ROOT / "AzureResourceGroup" / "AzureDeploy.json"
TEMPLATE = json.loads(TEMPLATE_FILE.read_text())
PIPELINE_FILES = [
    ROOT / "azure-pipelines.yml",
    ROOT / "azure-pipelines-templates" / "deployment-job.yml",
]
ARM = ArmSchemas.load()
PIPELINES_SCHEMA_DOCUMENT = pipelines_schema()


def all_resources(template: dict[str, Any], parent: str | None = None) -> list[dict[str, Any]]:
    """Every resource with its full type: child resources and nested templates' too."""
    found = []
    for resource in template.get("resources", []):
        kind = resource["type"] if parent is None else f"{parent}/{resource['type']}"
        found.append({**resource, "type": kind})
        found.extend(all_resources(resource, kind))
        inner = resource.get("properties", {}).get("template")
        if kind == "Microsoft.Resources/deployments" and inner:
            found.extend(all_resources(inner))
    return found


def site(template: dict[str, Any]) -> dict[str, Any]:
    (found,) = [r for r in template["resources"] if r["type"] == "Microsoft.Web/sites"]
    return found


# ARM template


def test_the_template_matches_the_published_arm_schemas() -> None:
    assert ARM.problems(TEMPLATE) == []


def secure_string_spelt_as_before(template: dict[str, Any]) -> str:
    template["parameters"]["SLACK_SIGNING_SECRET"]["type"] = "secureString"
    return "parameters.SLACK_SIGNING_SECRET.type"


def tags_as_one_expression(template: dict[str, Any]) -> str:
    site(template)["tags"] = "[variables('appTags')]"
    return "tags"


def scope_in_lower_case(template: dict[str, Any]) -> str:
    (nested,) = [r for r in template["resources"] if r["type"] == "Microsoft.Resources/deployments"]
    nested["properties"]["expressionEvaluationOptions"]["scope"] = "inner"
    return "properties.expressionEvaluationOptions.scope"


def container_named_by_a_long_expression(template: dict[str, Any]) -> str:
    (container,) = [
        r
        for r in template["resources"]
        if r["type"] == "Microsoft.Storage/storageAccounts/blobServices/containers"
    ]
    container["name"] = (
        "[concat(variables('storageAccountName'), '/default/', "
        "variables('deploymentContainerName'))]"
    )
    return "name"


def mistyped_site_property(template: dict[str, Any]) -> str:
    site(template)["properties"]["httpsOnly"] = "yes"
    return "properties.httpsOnly"


def always_ready_count_in_words(template: dict[str, Any]) -> str:
    scale = site(template)["properties"]["functionAppConfig"]["scaleAndConcurrency"]
    scale["alwaysReady"][1]["instanceCount"] = "one"
    return "alwaysReady.1.instanceCount"


def nested_template_parameter_type_misspelt(template: dict[str, Any]) -> str:
    (nested,) = [r for r in template["resources"] if r["type"] == "Microsoft.Resources/deployments"]
    nested["properties"]["template"]["parameters"]["principalId"]["type"] = "guid"
    return "template.parameters.principalId.type"


def child_policy_with_a_wrong_name(template: dict[str, Any]) -> str:
    site(template)["resources"][0]["name"] = "sftp"
    return "resources"


@pytest.mark.parametrize(
    "mistake",
    [
        secure_string_spelt_as_before,
        tags_as_one_expression,
        scope_in_lower_case,
        container_named_by_a_long_expression,
        mistyped_site_property,
        always_ready_count_in_words,
        child_policy_with_a_wrong_name,
        nested_template_parameter_type_misspelt,
    ],
)
def test_the_arm_validation_finds_each_kind_of_mistake(mistake: Any) -> None:
    broken = copy.deepcopy(TEMPLATE)
    where = mistake(broken)
    found = ARM.problems(broken)
    assert found, "the published schemas must find the mistake"
    assert any(where in problem for problem in found), found


def test_every_resource_type_has_a_published_schema() -> None:
    for resource in all_resources(TEMPLATE):
        assert ARM.newest_version(resource["type"]), resource["type"]


def test_resources_newer_than_the_published_schemas_are_validated_against_the_newest() -> None:
    """The template uses API versions the REST API specifications publish but no schema
    describes yet; each is validated against its provider's newest schema (listed here, so a
    newer schema or a newer apiVersion shows up)."""
    substituted = {
        (r["type"], r["apiVersion"], ARM.validated_as(r["type"], r["apiVersion"]))
        for r in all_resources(TEMPLATE)
        if ARM.validated_as(r["type"], r["apiVersion"]) != r["apiVersion"]
    }
    assert substituted == {
        ("Microsoft.Storage/storageAccounts", "2026-09-01", "2026-04-01"),
        ("Microsoft.Storage/storageAccounts/blobServices/containers", "2026-09-01", "2026-04-01"),
        ("Microsoft.Web/serverfarms", "2025-05-01", "2024-11-01"),
        ("Microsoft.Web/sites", "2025-05-01", "2024-11-01"),
        ("Microsoft.Web/sites/basicPublishingCredentialsPolicies", "2025-05-01", "2024-11-01"),
        ("Microsoft.Resources/deployments", "2026-06-01", "2025-04-01"),
    }


def test_an_api_version_the_schema_should_know_but_does_not_is_a_finding() -> None:
    broken = copy.deepcopy(TEMPLATE)
    (workspace,) = [
        r for r in broken["resources"] if r["type"] == "Microsoft.OperationalInsights/workspaces"
    ]
    workspace["apiVersion"] = "2025-02-30"
    assert ARM.problems(broken)


def test_the_patched_schema_defect_is_still_in_the_published_schema() -> None:
    """A nested deployment's parameter value is "anything" or "an expression" under oneOf, so
    every expression value matches both and fails; the validation drops the second branch.
    When Microsoft fixes the schema, this fails: remove the patch."""
    published = json.loads((ARM_SCHEMAS / DEPLOYMENT_PARAMETER_VALUE[0]).read_text())
    assert deployment_parameter_value_schema(published) == {
        "description": "Input value to the parameter .",
        "oneOf": [
            {},
            {
                "$ref": "https://schema.management.azure.com/schemas/common/definitions.json"
                "#/definitions/expression"
            },
        ],
    }


def test_the_container_names_the_schema_cannot_see_follow_its_rules() -> None:
    """The container's resource name is an expression, which the schema cannot check; the
    literal names it is made of can be checked against the schema's rules for a container."""
    published = json.loads((ARM_SCHEMAS / "2026-04-01" / "Microsoft.Storage.json").read_text())
    rules = published["resourceDefinitions"]["storageAccounts_blobServices_containers"]
    name_rules = rules["properties"]["name"]
    names = [
        TEMPLATE["variables"]["deploymentContainerName"],
        re.search(r"\), '([^']+)',", TEMPLATE["variables"]["allowedUsersContainer"]).group(1),
    ]
    for name in names:
        assert name_rules["minLength"] <= len(name) <= name_rules["maxLength"], name
        assert re.fullmatch(r"[a-z0-9](-?[a-z0-9])*", name), name


def test_the_copies_keep_their_licences() -> None:
    for folder in ("azure-resource-manager-schemas", "azure-pipelines-vscode"):
        licence = (SCHEMAS / folder / "LICENSE").read_text()
        assert "MIT License" in licence
        assert "Microsoft" in licence


# Azure Pipelines


@pytest.mark.parametrize("path", PIPELINE_FILES, ids=lambda p: p.name)
def test_the_pipeline_files_match_the_published_pipelines_schema(path: Any) -> None:
    assert pipeline_problems(path.read_text(), PIPELINES_SCHEMA_DOCUMENT) == []


@pytest.mark.parametrize(
    ("path", "before", "after", "where"),
    [
        (PIPELINE_FILES[0], "  batch: false", "  batch: sometimes", "trigger.batch"),
        (PIPELINE_FILES[0], "    displayName: Build and test", "    displayname: x", "stages.0"),
        (PIPELINE_FILES[0], "archiveType: zip", "archiveType: rar", "archiveType"),
        (PIPELINE_FILES[1], "    dependsOn: validateParameters", "    depends: x", "jobs.1"),
        (
            PIPELINE_FILES[1],
            "- bash: $(System.DefaultWorkingDirectory)/scripts/test-app-is-deployed.sh",
            "- bsh: $(System.DefaultWorkingDirectory)/scripts/test-app-is-deployed.sh",
            "steps",
        ),
    ],
    ids=["boolean", "misspelt key", "enum", "job key", "step inside a conditional insertion"],
)
def test_the_pipelines_validation_finds_each_kind_of_mistake(
    path: Any, before: str, after: str, where: str
) -> None:
    text = path.read_text()
    assert before in text
    found = pipeline_problems(text.replace(before, after, 1), PIPELINES_SCHEMA_DOCUMENT)
    assert any(where in problem for problem in found), found


def test_the_task_the_schema_cannot_check_is_still_undefined_there() -> None:
    """The schema names PublishCodeCoverageResults@2 but gives it no step definition; its steps
    are left out of the validation. When Microsoft adds the definition, this fails."""
    for task in UNDEFINED_TASKS:
        assert task_is_named(PIPELINES_SCHEMA_DOCUMENT, task)
        assert not task_has_a_step_definition(PIPELINES_SCHEMA_DOCUMENT, task)
    assert task_has_a_step_definition(PIPELINES_SCHEMA_DOCUMENT, "PublishTestResults@2")
