"""Static checks of the function app: bindings, host.json, and side-effect-free imports."""

from __future__ import annotations

import ast
import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from azure.functions.meta import get_binding_registry

ROOT = Path(__file__).resolve().parents[1]
FUNCTIONS = {
    "slash_start": "httpTrigger",
    "orchestrator_client": "httpTrigger",
    "flush_orchestrator": "orchestrationTrigger",
    "call_cache_flush_activity": "activityTrigger",
    "notify_user_activity": "activityTrigger",
    "check_access_activity": "activityTrigger",
    "publish_home_activity": "activityTrigger",
    "slack_events": "httpTrigger",
    "purge_history": "timerTrigger",
}
ROUTES = {"slash_start": "slash-start", "orchestrator_client": "orchestrator-client"}


def function_json(folder: str) -> dict[str, Any]:
    return json.loads((ROOT / folder / "function.json").read_text())


def test_the_app_has_exactly_the_five_functions() -> None:
    found = {path.parent.name for path in ROOT.glob("*/function.json")}
    assert found == set(FUNCTIONS)


@pytest.mark.parametrize("folder", sorted(FUNCTIONS))
def test_bindings_are_known_to_azure_functions(folder: str) -> None:
    config = function_json(folder)
    registry = get_binding_registry()
    assert config["scriptFile"] == "__init__.py"
    assert (ROOT / folder / config["scriptFile"]).is_file()
    for binding in config["bindings"]:
        assert registry.get(binding["type"]) is not None, binding["type"]
        assert binding["direction"] in ("in", "out")
    triggers = [b for b in config["bindings"] if b["type"].endswith("Trigger")]
    assert [t["type"] for t in triggers] == [FUNCTIONS[folder]]


@pytest.mark.parametrize("folder", sorted(ROUTES))
def test_http_functions_route_method_and_auth_level(folder: str) -> None:
    bindings = function_json(folder)["bindings"]
    [trigger] = [b for b in bindings if b["type"] == "httpTrigger"]
    assert trigger["route"] == ROUTES[folder]
    assert trigger["methods"] == ["post"]
    assert trigger["authLevel"] == "function"
    assert trigger["name"] == "req"
    assert {"type": "http", "direction": "out", "name": "$return"} in bindings


def test_orchestrator_client_has_a_durable_client_binding() -> None:
    bindings = function_json("orchestrator_client")["bindings"]
    assert {"type": "durableClient", "direction": "in", "name": "starter"} in bindings


def test_host_json_bundle_and_durable_settings() -> None:
    host = json.loads((ROOT / "host.json").read_text())
    assert host["version"] == "2.0"
    assert host["extensionBundle"] == {
        "id": "Microsoft.Azure.Functions.ExtensionBundle",
        "version": "[4.*, 5.0.0)",
    }
    durable = host["extensions"]["durableTask"]
    assert durable["overridableExistingInstanceStates"] == "NonRunningStates"
    # An idle worker looks for a new orchestration or activity at most this often (Azure
    # Storage provider; its default is 30 s). doc/adr/0015 has the latency and cost figures.
    assert durable["storageProvider"] == {"maxQueuePollingInterval": "00:00:02"}


def test_requirements_are_pinned_runtime_packages() -> None:
    lines = [
        line.strip()
        for line in (ROOT / "requirements.txt").read_text().splitlines()
        if line.strip() and not line.startswith("#")
    ]
    names = {line.split("==")[0].lower() for line in lines}
    assert all("==" in line for line in lines)
    assert names == {
        "ada-url",
        "azure-functions",
        "azure-functions-durable",
        "azure-identity",
        "azure-monitor-opentelemetry-exporter",
        "azure-storage-blob",
        "requests",
        "slack-sdk",
    }


IMPORT_PROBE = """
import json, socket, sys
calls = []
def refuse(*args, **kwargs):
    calls.append(args)
    raise OSError("network use at import time")
socket.socket.connect = refuse
socket.create_connection = refuse
for name in sys.argv[1:]:
    __import__(name)
print(json.dumps(calls))
"""


def test_every_function_imports_without_side_effects(tmp_path: Path) -> None:
    """Importing needs no settings and touches neither the network nor the file system."""
    before = sorted(p.name for p in tmp_path.iterdir())
    completed = subprocess.run(  # noqa: S603 (a fixed interpreter and arguments)
        [sys.executable, "-c", IMPORT_PROBE, *sorted(FUNCTIONS)],
        cwd=ROOT,
        env={"PYTHONPATH": str(ROOT), "HOME": str(tmp_path), "PYTHONDONTWRITEBYTECODE": "1"},
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert completed.returncode == 0, completed.stderr
    assert json.loads(completed.stdout) == []
    assert completed.stderr == ""
    assert sorted(p.name for p in tmp_path.iterdir()) == before


def test_funcignore_keeps_development_files_out_of_the_package() -> None:
    ignored = set((ROOT / ".funcignore").read_text().split())
    for entry in ("tests/", ".venv/", "node_modules/", "local.settings.json", "devhost/"):
        assert entry in ignored


APP_PACKAGES = frozenset({"shared", *FUNCTIONS})
DEVHOST_OUTSIDE_ENGINE = ("devhost/simulate/", "devhost/demo.py")


def imported_packages(source: str, module: str, is_package: bool = False) -> set[str]:
    """Top-level packages ``source`` imports anywhere (relative imports resolved).

    ``module`` is the dotted name of the file's module; ``is_package`` says it is an
    ``__init__.py`` (relative imports then start from the module itself).
    """
    package = module.split(".") if is_package else module.split(".")[:-1]
    found: set[str] = set()
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.Import):
            found.update(alias.name.split(".")[0] for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            if node.level == 0 and node.module:
                found.add(node.module.split(".")[0])
            elif node.level:
                base = package[: len(package) - (node.level - 1)]
                found.add(base[0] if base else (node.module or "").split(".")[0])
    return found


def _python_files(*roots: str) -> list[Path]:
    return sorted(path for root in roots for path in (ROOT / root).rglob("*.py"))


def _imports_of(path: Path) -> set[str]:
    relative = path.relative_to(ROOT).with_suffix("")
    is_package = relative.name == "__init__"
    parts = relative.parts[:-1] if is_package else relative.parts
    return imported_packages(path.read_text(encoding="utf-8"), ".".join(parts), is_package)


def _violations(files: list[Path], forbidden: frozenset[str]) -> dict[str, list[str]]:
    found = {str(f.relative_to(ROOT)): sorted(_imports_of(f) & forbidden) for f in files}
    return {name: packages for name, packages in found.items() if packages}


def test_the_import_collector_sees_every_form_of_import() -> None:
    source = (
        "import os, bench.run\n"
        "from shared.settings import load_settings\n"
        "from . import sibling\n"
        "from ..shared import views\n"
        "def late():\n"
        "    import tests.support.constants\n"
    )
    found = imported_packages(source, "slash_start.helpers")
    assert found == {"os", "bench", "shared", "slash_start", "tests"}
    assert imported_packages("from . import x\n", "devhost", is_package=True) == {"devhost"}


def test_the_app_imports_none_of_devhost_tests_or_bench() -> None:
    files = _python_files("shared", *FUNCTIONS)
    assert len(files) > len(FUNCTIONS)
    assert _violations(files, frozenset({"devhost", "tests", "bench"})) == {}


def test_the_devhost_engine_imports_nothing_of_the_app() -> None:
    files = [
        path
        for path in _python_files("devhost")
        if not str(path.relative_to(ROOT)).startswith(DEVHOST_OUTSIDE_ENGINE)
    ]
    assert any(path.name == "engine.py" for path in files)
    assert _violations(files, APP_PACKAGES) == {}


def test_devhost_and_bench_import_no_tests() -> None:
    assert _violations(_python_files("devhost"), frozenset({"tests", "bench"})) == {}
    assert _violations(_python_files("bench"), frozenset({"tests"})) == {}


def test_the_example_local_settings_name_every_setting_the_app_reads() -> None:
    from shared.settings import ALL_VARIABLES

    values = json.loads((ROOT / "local.settings.example.json").read_text())["Values"]
    host_settings = {"AzureWebJobsStorage", "FUNCTIONS_WORKER_RUNTIME"}
    assert set(values) - host_settings == set(ALL_VARIABLES)
