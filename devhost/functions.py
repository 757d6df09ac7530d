"""Discover, validate and import the app's functions (Python v1 model: one folder each).

Mirrors the Python worker: each folder holding a ``function.json`` is a function named after
the folder; its ``scriptFile`` (default ``__init__.py``) is imported as a submodule of the
package ``__app__`` (the app root), with the app root also on ``sys.path``, so a function may
import shared code absolutely (``from shared.x import y``) or relatively
(``from ..shared.x import y``). Its ``entryPoint`` (default ``main``) receives one keyword
argument per binding name. The binding type ``orchestrationClient`` (the older name) is
accepted as ``durableClient``, as the extension does.
"""

from __future__ import annotations

import importlib
import importlib.machinery
import inspect
import json
import re
import sys
import types
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from devhost.config import HostConfig, StartupError
from devhost.worker_rules import (
    RETURN_BINDING,
    WorkerLoadError,
    binding_direction_error,
    check_entry_point,
)

HTTP_TRIGGER = "httpTrigger"
HTTP_OUTPUT = "http"
DURABLE_CLIENT = "durableClient"
ORCHESTRATION_TRIGGER = "orchestrationTrigger"
ACTIVITY_TRIGGER = "activityTrigger"
TIMER_TRIGGER = "timerTrigger"
APP_PACKAGE = "__app__"

_DIRECTIONS = {
    HTTP_TRIGGER: "in",
    HTTP_OUTPUT: "out",
    DURABLE_CLIENT: "in",
    ORCHESTRATION_TRIGGER: "in",
    ACTIVITY_TRIGGER: "in",
    TIMER_TRIGGER: "in",
}
_TRIGGERS = frozenset({HTTP_TRIGGER, ORCHESTRATION_TRIGGER, ACTIVITY_TRIGGER, TIMER_TRIGGER})
_CANONICAL_TYPES = {name.lower(): name for name in _DIRECTIONS} | {
    "orchestrationclient": DURABLE_CLIENT
}
_HTTP_METHODS = frozenset({"GET", "POST", "PUT", "PATCH", "DELETE", "HEAD", "OPTIONS", "TRACE"})
_FUNCTION_NAME = re.compile(r"^[A-Za-z][A-Za-z0-9_\-]{0,126}$")
_BINDING_NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")
# A route parameter devhost supports: ``{name}``, one path segment.
ROUTE_PARAMETER = re.compile(r"\{([A-Za-z_][A-Za-z0-9_]*)\}")


@dataclass(frozen=True)
class Binding:
    """One entry of ``function.json`` ``bindings``."""

    name: str
    type: str
    direction: str
    settings: dict[str, Any]


@dataclass(frozen=True)
class FunctionSpec:
    """A validated ``function.json`` (nothing imported yet)."""

    name: str
    directory: Path
    script_file: Path
    entry_point: str
    bindings: tuple[Binding, ...]

    @property
    def trigger(self) -> Binding:
        """The function's single trigger binding."""
        return next(b for b in self.bindings if b.type in _TRIGGERS)

    @property
    def kind(self) -> str:
        """The trigger type: httpTrigger, orchestrationTrigger, activityTrigger or timerTrigger."""
        return self.trigger.type

    @property
    def http_route(self) -> str:
        """Route template of an HTTP function (its folder name unless ``route`` is set)."""
        route = self.trigger.settings.get("route")
        return (route if isinstance(route, str) and route.strip("/") else self.name).strip("/")

    @property
    def http_methods(self) -> frozenset[str] | None:
        """Allowed methods of an HTTP function (``None`` = any)."""
        methods = self.trigger.settings.get("methods")
        if not methods:
            return None
        return frozenset(m.upper() for m in methods)

    @property
    def http_output(self) -> Binding | None:
        """The ``http`` output binding, if any."""
        return next((b for b in self.bindings if b.type == HTTP_OUTPUT), None)

    def names_of(self, binding_type: str) -> list[str]:
        """Names of the bindings of one type."""
        return [b.name for b in self.bindings if b.type == binding_type]


@dataclass(frozen=True)
class LoadedFunction:
    """A function whose module was imported and whose entry point was checked."""

    spec: FunctionSpec
    func: Callable[..., Any]
    is_async: bool
    wants_context: bool

    @property
    def name(self) -> str:
        """The function name (its folder name)."""
        return self.spec.name


def _fail(function: str, reason: str) -> StartupError:
    return StartupError(f"function '{function}': {reason}")


def _parse_binding(function: str, index: int, raw: Any) -> Binding:
    if not isinstance(raw, dict):
        raise _fail(function, f"invalid function.json: binding #{index + 1} is not an object")
    name, kind, direction = raw.get("name"), raw.get("type"), raw.get("direction")
    if not isinstance(kind, str) or not kind:
        raise _fail(function, f"invalid function.json: binding #{index + 1} has no 'type'")
    if not isinstance(name, str) or not (name == RETURN_BINDING or _BINDING_NAME.match(name)):
        raise _fail(function, f"invalid function.json: binding #{index + 1} has an invalid 'name'")
    if isinstance(direction, str) and (problem := binding_direction_error(name, direction.lower())):
        raise WorkerLoadError(function, problem)
    canonical = _CANONICAL_TYPES.get(kind.lower())
    if canonical is None:
        supported = ", ".join(_DIRECTIONS)
        raise _fail(
            function,
            f"binding '{name}' has type '{kind}', which devhost does not support "
            f"(supported: {supported})",
        )
    if not isinstance(direction, str) or direction.lower() != _DIRECTIONS[canonical]:
        raise _fail(
            function,
            f"invalid function.json: binding '{name}' of type '{canonical}' must have "
            f"direction '{_DIRECTIONS[canonical]}'",
        )
    if name == RETURN_BINDING and canonical != HTTP_OUTPUT:
        raise _fail(function, f"invalid function.json: a '{canonical}' binding cannot be $return")
    return Binding(name=name, type=canonical, direction=direction.lower(), settings=raw)


def _check_http_trigger(function: str, trigger: Binding) -> None:
    methods = trigger.settings.get("methods")
    if methods is not None and (
        not isinstance(methods, list)
        or not all(isinstance(m, str) and m.upper() in _HTTP_METHODS for m in methods)
    ):
        raise _fail(function, "invalid function.json: 'methods' must list HTTP methods")
    route = trigger.settings.get("route")
    if route is not None and not isinstance(route, str):
        raise _fail(function, "invalid function.json: 'route' must be a string")
    leftover = ROUTE_PARAMETER.sub("", route) if isinstance(route, str) else ""
    if "{" in leftover or "}" in leftover:
        raise _fail(
            function,
            f"route '{route}' has a parameter devhost does not support "
            "(only {name}: no constraints, optional or catch-all parameters)",
        )


def _check_timer_trigger(function: str, trigger: Binding) -> None:
    schedule = trigger.settings.get("schedule")
    if not isinstance(schedule, str) or not schedule.strip():
        raise _fail(function, "invalid function.json: a timerTrigger needs a 'schedule'")
    for flag in ("runOnStartup", "useMonitor"):
        if not isinstance(trigger.settings.get(flag, False), bool):
            raise _fail(function, f"invalid function.json: '{flag}' must be true or false")


def _check_shape(function: str, bindings: list[Binding]) -> None:
    names = [b.name for b in bindings]
    duplicates = sorted({n for n in names if names.count(n) > 1})
    if duplicates:
        raise _fail(function, f"invalid function.json: duplicate binding name '{duplicates[0]}'")
    triggers = [b for b in bindings if b.type in _TRIGGERS]
    if len(triggers) != 1:
        raise _fail(function, "invalid function.json: exactly one trigger binding is required")
    trigger = triggers[0]
    outputs = [b for b in bindings if b.type == HTTP_OUTPUT]
    if outputs and trigger.type != HTTP_TRIGGER:
        raise _fail(function, "invalid function.json: an 'http' output needs an httpTrigger")
    if len(outputs) > 1:
        raise _fail(function, "invalid function.json: at most one 'http' output is allowed")
    if trigger.type == ORCHESTRATION_TRIGGER and len(bindings) != 1:
        raise _fail(function, "invalid function.json: an orchestrator takes only its trigger")
    if trigger.type == HTTP_TRIGGER:
        _check_http_trigger(function, trigger)
    if trigger.type == TIMER_TRIGGER:
        _check_timer_trigger(function, trigger)


def read_function_spec(app_root: Path, directory: Path) -> FunctionSpec:
    """Validate one function folder's ``function.json``."""
    name = directory.name
    if not _FUNCTION_NAME.match(name):
        raise _fail(name, "invalid function name (letters, digits, '_' and '-' only)")
    try:
        document = json.loads((directory / "function.json").read_text(encoding="utf-8-sig"))
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise _fail(name, f"invalid function.json: {exc}") from None
    if not isinstance(document, dict):
        raise _fail(name, "invalid function.json: not a JSON object")
    raw_bindings = document.get("bindings")
    if not isinstance(raw_bindings, list) or not raw_bindings:
        raise _fail(name, "invalid function.json: 'bindings' must be a non-empty list")
    bindings = [_parse_binding(name, i, raw) for i, raw in enumerate(raw_bindings)]
    _check_shape(name, bindings)

    script = document.get("scriptFile", "__init__.py")
    entry_point = document.get("entryPoint", "main")
    if not isinstance(script, str) or not script.endswith(".py"):
        raise _fail(name, "invalid function.json: 'scriptFile' must name a .py file")
    if not isinstance(entry_point, str) or not entry_point.isidentifier():
        raise _fail(name, "invalid function.json: 'entryPoint' must be a Python identifier")
    script_file = (directory / script).resolve()
    if not script_file.is_relative_to(app_root.resolve()):
        raise _fail(name, "scriptFile must be inside the app root")
    if not script_file.is_file():
        raise _fail(name, f"scriptFile '{script}' not found")
    return FunctionSpec(
        name=name,
        directory=directory,
        script_file=script_file,
        entry_point=entry_point,
        bindings=tuple(bindings),
    )


def scan_functions(app_root: Path, config: HostConfig) -> list[FunctionSpec]:
    """Find and validate every function folder under ``app_root`` (sorted by name)."""
    if not app_root.is_dir():
        raise StartupError(f"app root {str(app_root)!r} is not a directory")
    specs = []
    for directory in sorted(app_root.iterdir()):
        if not directory.is_dir() or directory.name.startswith("."):
            continue
        if not (directory / "function.json").is_file():
            continue
        if config.functions is not None and directory.name not in config.functions:
            continue
        document = directory / "function.json"
        if _is_disabled(document):
            continue
        specs.append(read_function_spec(app_root, directory))
    return specs


def _is_disabled(document: Path) -> bool:
    try:
        parsed = json.loads(document.read_text(encoding="utf-8-sig"))
    except (OSError, UnicodeDecodeError, json.JSONDecodeError):
        return False
    return isinstance(parsed, dict) and parsed.get("disabled") is True


def _module_name(app_root: Path, script_file: Path) -> str:
    parts = list(script_file.relative_to(app_root.resolve()).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join([APP_PACKAGE, *parts])


def install_app_package(app_root: Path) -> None:
    """Make ``__app__`` the package of ``app_root`` and put the root on ``sys.path``.

    One process serves one app, as the worker does; when another app root was installed
    before (tests run several toy apps in one process), its ``__app__`` modules are forgotten.
    """
    root = str(app_root.resolve())
    if root not in sys.path:
        sys.path.insert(0, root)
    current = sys.modules.get(APP_PACKAGE)
    if current is not None and list(getattr(current, "__path__", [])) == [root]:
        return
    for name in [n for n in sys.modules if n == APP_PACKAGE or n.startswith(APP_PACKAGE + ".")]:
        del sys.modules[name]
    package = types.ModuleType(APP_PACKAGE, "The function app's root folder.")
    package.__path__ = [root]
    package.__spec__ = importlib.machinery.ModuleSpec(APP_PACKAGE, None, is_package=True)
    package.__spec__.submodule_search_locations = [root]
    sys.modules[APP_PACKAGE] = package


def import_function(app_root: Path, spec: FunctionSpec) -> LoadedFunction:
    """Import a function's script and check its entry point against its bindings."""
    install_app_package(app_root)
    module_name = _module_name(app_root, spec.script_file)
    try:
        module = importlib.import_module(module_name)
    except Exception as exc:  # the user's module failed to import: report it, do not start
        first_line = (str(exc).splitlines() or [""])[0]
        raise _fail(
            spec.name, f"cannot import '{module_name}': {type(exc).__name__}: {first_line}"
        ) from None
    module_file = getattr(module, "__file__", None)
    if module_file is None or Path(module_file).resolve() != spec.script_file:
        raise _fail(spec.name, f"module '{module_name}' is already imported from elsewhere")
    func = getattr(module, spec.entry_point, None)
    if not callable(func):
        raise _fail(spec.name, f"entry point '{spec.entry_point}' not found in {module_name}")
    wants_context = check_entry_point(spec.name, func, spec.bindings)
    is_async = inspect.iscoroutinefunction(func)
    if is_async and spec.kind == ORCHESTRATION_TRIGGER:
        raise _fail(spec.name, "an orchestrator entry point must not be a coroutine")
    return LoadedFunction(spec=spec, func=func, is_async=is_async, wants_context=wants_context)
