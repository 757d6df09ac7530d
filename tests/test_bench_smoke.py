"""The benchmark harness still runs: ``python -m bench --smoke`` produces every figure.

Speed itself is measured by ``make bench``, not by tests: nothing here looks at a timing's
value, only that each figure of doc/performance.md came out as a number.
"""

from __future__ import annotations

import json
import math
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from bench.imports import FUNCTION_MODULES, modules_loaded_by, unneeded

ROOT = Path(__file__).resolve().parents[1]
SECTIONS = (
    "**1. Cold start**",
    "**2. Time to `views.open`**",
    "**3. Acknowledgement**",
    "**4. End-to-end**",
    "**5. Allowed-users check**",
    "**6. Throughput**",
    "**7. Home tab and Flush again**",
    "**Targets**",
)


def _number(result: dict[str, Any], path: str) -> float:
    value: Any = result
    for key in path.split("."):
        value = value[int(key)] if isinstance(value, list) else value[key]
    assert isinstance(value, int | float), path
    assert not isinstance(value, bool), path
    assert math.isfinite(value), path
    assert value >= 0, path
    return value


def _latency_paths(prefix: str) -> list[str]:
    return [f"{prefix}.{q}.{s}" for q in ("p50", "p99") for s in ("median", "min", "max")]


@pytest.mark.timeout(300)
def test_smoke_run_produces_every_figure(tmp_path: Path) -> None:
    out = tmp_path / "bench.json"
    completed = subprocess.run(  # noqa: S603 - this interpreter, fixed arguments
        [sys.executable, "-m", "bench", "--smoke", "--out", str(out)],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=280,
        check=False,
    )
    assert completed.returncode == 0, completed.stderr[-3000:]
    for title in SECTIONS:
        assert title in completed.stdout
    result = json.loads(out.read_text(encoding="utf-8"))
    figures = result["figures"]
    assert result["mode"] == "smoke"
    assert set(result["machine"]) >= {"cpus", "cpu_model", "python"}

    paths = [
        "cold_import.baseline.process_ms.median",
        "cold_import.slash_start_audit.modules_loaded",
    ]
    for module in FUNCTION_MODULES:
        for kind in ("process", "cpu", "import"):
            paths += [
                f"cold_import.modules.{module}.{kind}_{unit}.median" for unit in ("ms", "ratio")
            ]
    for prefix in (
        "views_open.warm_ms",
        "views_open.cold_ms",
        "views_open.cold_import_ms",
        "views_open.cold_from_start_ms",
        "ack.slash_start_ms",
        "ack.orchestrator_client_ms",
        "end_to_end.end_to_end_ms",
        "allowed_users.cold_ms",
        "allowed_users.cached_us",
        "allowed_users.revalidation_ms",
        "home.publish_ms",
        "home.flush_again_ms",
    ):
        paths += _latency_paths(prefix)
    paths += [f"end_to_end.{share}_share.median" for share in ("functions", "host")]
    paths += ["views_open.cold_start_ratio.median"]
    paths += [
        f"views_open.order.{figure}"
        for figure in (
            "storage_connections_before",
            "storage_connections_after",
            "unneeded_imports_after",
        )
    ]
    levels = figures["throughput"]["levels"]
    assert [level["users"] for level in levels] == result["sizes"]["levels"]
    for index in range(len(levels)):
        paths += [
            f"throughput.levels.{index}.flows_per_second.median",
            f"throughput.levels.{index}.end_to_end_ms.p50",
            f"throughput.levels.{index}.end_to_end_ms.p99",
            f"throughput.levels.{index}.errors",
            f"throughput.levels.{index}.lost",
        ]
    for path in paths:
        _number(figures, path)

    assert isinstance(figures["views_open"]["order"]["holds"], bool)
    assert isinstance(figures["views_open"]["order"]["unneeded_imports_before"], list)
    assert "latency_climbs_at_users" in figures["throughput"]
    assert len(result["targets"]) == 9
    [audit] = [target for target in result["targets"] if target.get("enforced")]
    assert audit["met"] is True, audit["measured"]
    assert all(isinstance(target["met"], bool) for target in result["targets"])


def test_slash_start_loads_nothing_views_open_does_not_need() -> None:
    loaded = modules_loaded_by("slash_start")
    assert {"shared.slash_command", "shared.slack_http", "shared.settings"} <= set(loaded)
    assert unneeded(loaded) == []


def test_the_import_audit_sees_what_the_slash_command_must_not_load() -> None:
    found = set(unneeded(modules_loaded_by("flush_orchestrator")))
    assert {"azure.durable_functions", "shared.approval", "shared.orchestration"} <= found
    assert unneeded(["shared.approval_flow", "shared.approvals_elsewhere", "csvkit"]) == [
        "shared.approval_flow"
    ]
