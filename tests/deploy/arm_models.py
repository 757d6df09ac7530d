"""Check an ARM template's resources against the Azure SDK's models of those resource types.

The ``azure-mgmt-*`` packages are generated from Azure's REST API specifications, so their
models name every property a resource type accepts at an API version, where it sits and its
type. ``problems`` walks each resource of a template (nested deployments' inner templates
too) and reports every property the model does not know, every read-only property set, every
value of the wrong JSON type and every enum value the service does not define. Strings that
are ARM expressions (``"[...]"``) stand for any value and are not checked further. Child
resources (a resource's own ``resources``) are checked with their full type.

Two generations of generated code are supported: the current one (``_attr_to_rest_field``,
one API version per package) and the older msrest one (``_attribute_map``, one module per
API version).
"""

from __future__ import annotations

import enum
import importlib
import re
import sys
import typing
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from functools import partial
from pathlib import Path
from types import ModuleType, NoneType, UnionType
from typing import Any

# Keys of a resource that belong to the template language, not to the resource's body.
ARM_KEYS = frozenset(
    {
        "type",
        "apiVersion",
        "name",
        "dependsOn",
        "condition",
        "scope",
        "comments",
        "copy",
        "metadata",
        "resourceGroup",
        "subscriptionId",
        "resources",
    }
)


@dataclass(frozen=True)
class ResourceModel:
    """Where the SDK describes one resource type: a package, its API versions, a model."""

    package: str
    model: str
    msrest: bool = False

    def module(self, api_version: str) -> ModuleType | None:
        """The models module describing ``api_version``, or None when the SDK has none."""
        if not self.msrest:
            if api_version != _single_api_version(self.package):
                return None
            return importlib.import_module(f"{self.package}.models")
        name = f"{self.package}.v{api_version.replace('-', '_')}.models"
        try:
            module = importlib.import_module(name)
        except ModuleNotFoundError:
            return None
        return module if hasattr(module, self.model) else None

    def api_versions(self) -> list[str]:
        """Every API version of this resource type that the installed SDK describes, oldest
        first."""
        if not self.msrest:
            return [_single_api_version(self.package)]
        package = importlib.import_module(self.package)
        candidates = sorted(
            entry.name[1:].replace("_", "-")
            for path in package.__path__
            for entry in Path(path).iterdir()
            if entry.is_dir() and re.fullmatch(r"v\d{4}_\d{2}_\d{2}.*", entry.name)
        )
        return [version for version in candidates if self.module(version) is not None]


def _single_api_version(package: str) -> str:
    """The one API version a current-generation package is generated for."""
    configuration = importlib.import_module(f"{package}._configuration")
    text = Path(configuration.__file__ or "").read_text()
    match = re.search(r'kwargs\.pop\("api_version", "([^"]+)"\)', text)
    assert match, f"no API version in {package}"
    return match.group(1)


RESOURCE_MODELS: dict[str, ResourceModel] = {
    "microsoft.web/sites": ResourceModel("azure.mgmt.web", "Site"),
    "microsoft.web/serverfarms": ResourceModel("azure.mgmt.web", "AppServicePlan"),
    "microsoft.web/sites/basicpublishingcredentialspolicies": ResourceModel(
        "azure.mgmt.web", "CsmPublishingCredentialsPoliciesEntity"
    ),
    "microsoft.storage/storageaccounts": ResourceModel(
        "azure.mgmt.storage", "StorageAccountCreateParameters"
    ),
    "microsoft.storage/storageaccounts/blobservices/containers": ResourceModel(
        "azure.mgmt.storage", "BlobContainer"
    ),
    "microsoft.operationalinsights/workspaces": ResourceModel(
        "azure.mgmt.loganalytics", "Workspace"
    ),
    "microsoft.insights/components": ResourceModel(
        "azure.mgmt.applicationinsights", "ApplicationInsightsComponent", msrest=True
    ),
    "microsoft.authorization/roleassignments": ResourceModel(
        "azure.mgmt.authorization", "RoleAssignmentCreateParameters", msrest=True
    ),
    "microsoft.resources/deployments": ResourceModel(
        "azure.mgmt.resource.deployments", "Deployment"
    ),
    "microsoft.managedidentity/userassignedidentities": ResourceModel(
        "azure.mgmt.msi", "Identity", msrest=True
    ),
}


def is_expression(value: Any) -> bool:
    """An ARM template expression: evaluated at deployment, so any type may come out."""
    return isinstance(value, str) and value.startswith("[") and not value.startswith("[[")


# Checks one value against what a model says of it (an annotation, a type string, a subtree).
SpecCheck = Callable[[Any, Any, str], list[str]]


def _json_type_problem(value: Any, expected: type, where: str) -> list[str]:
    if expected is bool:
        ok = isinstance(value, bool)
    elif expected in (int, float):
        ok = isinstance(value, (int, float)) and not isinstance(value, bool)
    elif expected is str:
        ok = isinstance(value, str)
    else:
        ok = True
    return [] if ok else [f"{where}: {value!r} is not a {expected.__name__}"]


def _check_items(
    value: Any, item: Any, where: str, *, mapping: bool, check: SpecCheck
) -> list[str]:
    """A JSON array (or object) whose every element (or value) passes ``check`` with ``item``."""
    if mapping != isinstance(value, dict) or not isinstance(value, (dict, list)):
        return [f"{where}: expected {'an object' if mapping else 'a list'}"]
    pairs = value.items() if isinstance(value, dict) else enumerate(value)
    return [p for key, v in pairs for p in check(v, item, f"{where}[{key}]")]


def _check_object(
    value: Any,
    properties: Mapping[str, tuple[Any, bool]],
    where: str,
    *,
    name: str,
    check: SpecCheck,
    skip: frozenset[str] = frozenset(),
) -> list[str]:
    """A JSON object setting only writable properties of model ``name``, each passing ``check``.

    ``properties`` maps each property the model knows to (what ``check`` is given, read-only).
    """
    if is_expression(value):
        return []
    if not isinstance(value, dict):
        return [f"{where}: expected an object ({name})"]
    problems = []
    for key, item in value.items():
        if key in skip:
            continue
        if key not in properties:
            problems.append(f"{where}.{key}: {name} has no such property")
            continue
        spec, read_only = properties[key]
        if read_only:
            problems.append(f"{where}.{key}: read-only in {name}")
        else:
            problems.extend(check(item, spec, f"{where}.{key}"))
    return problems


# The current generation: models with rest fields and type annotations.


def _hints(model: type) -> dict[str, Any]:
    module = sys.modules[model.__module__]
    package = sys.modules[module.__name__.rsplit(".", 1)[0]]
    return typing.get_type_hints(model, globalns={**vars(module), "_models": package})


def _fields(model: type) -> dict[str, tuple[str, Any, bool]]:
    """rest name -> (python attribute, annotation, read-only) of a current-generation model."""
    model()  # the rest-field table is built when the first instance is made
    hints = _hints(model)
    return {
        field._rest_name: (attribute, hints.get(attribute, Any), field._visibility == ["read"])
        for attribute, field in model._attr_to_rest_field.items()
    }


def _check_enum(value: Any, enums: list[type[enum.Enum]], where: str) -> list[str]:
    allowed = {str(member.value).lower() for kind in enums for member in kind}
    if isinstance(value, str) and value.lower() in allowed:
        return []
    return [f"{where}: {value!r} is none of {sorted(allowed)}"]


def _check_union(value: Any, arguments: tuple[Any, ...], where: str) -> list[str]:
    """Optional[X], or an extensible enum (str or Enum): its documented values only."""
    options = [a for a in arguments if a is not NoneType]
    enums = [a for a in options if isinstance(a, type) and issubclass(a, enum.Enum)]
    if enums:
        return _check_enum(value, enums, where)
    return _check_annotation(value, options[0], where) if len(options) == 1 else []


def _check_type(value: Any, annotation: type, where: str) -> list[str]:
    if getattr(annotation, "_is_model", False):
        return _check_model(value, annotation, where)
    if issubclass(annotation, enum.Enum):
        return _check_enum(value, [annotation], where)
    return _json_type_problem(value, annotation, where)


def _check_annotation(value: Any, annotation: Any, where: str) -> list[str]:
    origin = typing.get_origin(annotation)
    arguments = typing.get_args(annotation)
    if is_expression(value) or annotation is Any:
        problems: list[str] = []
    elif origin in (typing.Union, UnionType):
        problems = _check_union(value, arguments, where)
    elif origin in (list, dict):
        problems = _check_items(
            value, arguments[-1], where, mapping=origin is dict, check=_check_annotation
        )
    elif isinstance(annotation, type):
        problems = _check_type(value, annotation, where)
    else:
        problems = []
    return problems


def _check_model(
    value: Any, model: type, where: str, skip: frozenset[str] = frozenset()
) -> list[str]:
    properties = {key: (annotation, ro) for key, (_, annotation, ro) in _fields(model).items()}
    return _check_object(
        value, properties, where, name=model.__name__, check=_check_annotation, skip=skip
    )


# The msrest generation: an attribute map of dotted wire paths and type strings.


def _msrest_tree(model: type) -> dict[str, Any]:
    """The model's wire layout as nested dicts; leaves are (type string, read-only)."""
    tree: dict[str, Any] = {}
    validation = getattr(model, "_validation", {})
    for attribute, spec in model._attribute_map.items():
        parts = [p.replace("\\.", ".") for p in spec["key"].replace("\\.", "\0").split(".")]
        parts = [p.replace("\0", ".") for p in parts]
        node = tree
        for part in parts[:-1]:
            node = node.setdefault(part, {})
        read_only = validation.get(attribute, {}).get("readonly", False)
        node[parts[-1]] = (spec["type"], read_only)
    return tree


def _check_msrest_type(value: Any, kind: str, where: str, *, module: ModuleType) -> list[str]:
    if is_expression(value):
        return []
    if kind[:1] in ("[", "{"):
        check = partial(_check_msrest_type, module=module)
        return _check_items(value, kind[1:-1], where, mapping=kind[0] == "{", check=check)
    simple = {"str": str, "bool": bool, "int": int, "float": float, "long": int}
    if kind in simple:
        return _json_type_problem(value, simple[kind], where)
    model = getattr(module, kind, None)
    if isinstance(model, type) and hasattr(model, "_attribute_map"):
        return _check_msrest_tree(value, _msrest_tree(model), module, where, name=kind)
    return []


def _check_msrest_tree(
    value: Any,
    tree: dict[str, Any],
    module: ModuleType,
    where: str,
    *,
    name: str,
    skip: frozenset[str] = frozenset(),
) -> list[str]:
    # A subtree is an object nested in the wire layout, itself never read-only.
    properties = {
        key: (node, False) if isinstance(node, dict) else node for key, node in tree.items()
    }
    check = partial(_check_msrest_node, module=module, name=name)
    return _check_object(value, properties, where, name=name, check=check, skip=skip)


def _check_msrest_node(
    value: Any, node: str | dict[str, Any], where: str, *, module: ModuleType, name: str
) -> list[str]:
    """A value at one node of model ``name``'s wire layout: a type string or a subtree."""
    if isinstance(node, dict):
        return _check_msrest_tree(value, node, module, where, name=name)
    return _check_msrest_type(value, node, where, module=module)


def resource_problems(resource: dict[str, Any], where: str = "resources") -> list[str]:
    """Everything wrong with one template resource, by the SDK's model of its type."""
    kind = resource.get("type", "")
    label = f"{where}[{kind} {resource.get('name', '')}]"
    description = RESOURCE_MODELS.get(kind.lower())
    if description is None:
        return [f"{label}: no SDK model is known for this resource type"]
    module = description.module(resource.get("apiVersion", ""))
    if module is None:
        return [
            f"{label}: API version {resource.get('apiVersion')} is not described by the "
            f"installed SDK (it has {description.api_versions()})"
        ]
    model = getattr(module, description.model)
    if description.msrest:
        problems = _check_msrest_tree(
            resource, _msrest_tree(model), module, label, name=description.model, skip=ARM_KEYS
        )
    else:
        problems = _check_model(resource, model, label, ARM_KEYS)
    if kind.lower() == "microsoft.resources/deployments":
        inner = resource.get("properties", {}).get("template", {})
        for item in inner.get("resources", []):
            problems.extend(resource_problems(item, f"{label}.template.resources"))
    for child in resource.get("resources", []):
        # A child resource names its type and name relative to its parent's.
        full = {**child, "type": f"{kind}/{child.get('type', '')}"}
        problems.extend(resource_problems(full, f"{label}.resources"))
    return problems


def problems(template: dict[str, Any]) -> list[str]:
    """Everything wrong with every resource of ``template``."""
    return [p for resource in template.get("resources", []) for p in resource_problems(resource)]
