"""Section 1, cold start: a fresh interpreter importing each function module.

Each sample is a new ``python -c "import <module>"`` process in the repository root, with
bytecode caches warm. The process's wall time is what a cold worker pays and is the figure the
target is checked on; the process's CPU time (user + system, immune to waiting for a core on a
busy machine) and the import alone (without interpreter start-up) are reported beside it.
Every module is paired with a baseline run importing ``azure.functions`` alone, in random
order within the pair, and each ratio is taken within its pair, so machine noise hits both
sides of a comparison alike.

The import audit lists what importing ``slash_start`` loads on top of ``azure.functions``: none
of it may be something ``views.open`` does not need (``SLASH_START_NEEDS_NONE_OF``), a target
``make bench`` enforces.
"""

from __future__ import annotations

import json
import random
import resource
import subprocess
import sys
import time
from collections.abc import Iterable
from typing import Any

from bench.appenv import REPO_ROOT, child_environment
from bench.stats import repeated

BASELINE = "azure.functions"
FUNCTION_MODULES = (
    "slash_start",
    "orchestrator_client",
    "flush_orchestrator",
    "call_cache_flush_activity",
    "notify_user_activity",
    "check_access_activity",
    "publish_home_activity",
    "slack_events",
    "purge_history",
)
# What the slash-start path must not load before views.open: slack-sdk (the first call is made
# with the standard library), the access check and the form's views, approvals, the
# orchestration and its hand-offs, the durable SDK, storage and other HTTP stacks, URL parsing,
# the allowed-users reader (csv), the worker threads, and the audit trail with its export to
# Application Insights (OpenTelemetry). A module counts with its submodules.
SLASH_START_NEEDS_NONE_OF = (
    "azure.durable_functions",
    "azure.storage",
    "azure.core",
    "azure.identity",
    "azure.monitor",
    "opentelemetry",
    "requests",
    "urllib3",
    "aiohttp",
    "urllib.request",
    "ada_url",
    "csv",
    "concurrent.futures.thread",
    "slack_sdk",
    "shared.access",
    "shared.allowed_users",
    "shared.approval",
    "shared.approval_clicks",
    "shared.approval_flow",
    "shared.approval_views",
    "shared.audit",
    "shared.audit_export",
    "shared.cache_flush",
    "shared.events",
    "shared.form_flow",
    "shared.handoffs",
    "shared.history",
    "shared.home",
    "shared.home_views",
    "shared.interaction",
    "shared.interaction_payloads",
    "shared.message_links",
    "shared.notify",
    "shared.orchestration",
    "shared.result_views",
    "shared.slack_api",
    "shared.stale_cache",
    "shared.submission",
    "shared.views",
)
_AUDIT_CHILD = (
    "import json, sys\n"
    "import azure.functions\n"
    "before = set(sys.modules)\n"
    "import {module}\n"
    "print(json.dumps(sorted(set(sys.modules) - before)))\n"
)
_CHILD = (
    "import time\n"
    "started = time.perf_counter()\n"
    "import {module}\n"
    "print(time.perf_counter() - started)\n"
)


def _python(code: str, env: dict[str, str] | None) -> str:
    """Run ``code`` in a fresh interpreter in the repository root; return what it printed."""
    completed = subprocess.run(  # noqa: S603 - this interpreter, fixed code
        [sys.executable, "-c", code],
        cwd=REPO_ROOT,
        env=env,
        check=True,
        capture_output=True,
        text=True,
    )
    return completed.stdout.strip().splitlines()[-1]


def time_import(module: str, env: dict[str, str]) -> tuple[float, float, float]:
    """Return (process wall time, process CPU time, import time) in seconds for one import."""
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    started = time.perf_counter()
    printed = _python(_CHILD.format(module=module), env)
    wall = time.perf_counter() - started
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    return wall, cpu, float(printed)


def modules_loaded_by(module: str, env: dict[str, str] | None = None) -> list[str]:
    """What importing ``module`` loads on top of ``azure.functions``, in a fresh interpreter."""
    loaded: list[str] = json.loads(_python(_AUDIT_CHILD.format(module=module), env))
    return loaded


def unneeded(
    loaded: Iterable[str], prefixes: Iterable[str] = SLASH_START_NEEDS_NONE_OF
) -> list[str]:
    """The modules of ``loaded`` that are, or are inside, one of ``prefixes``."""
    names = tuple(prefixes)
    return sorted(
        name for name in loaded if any(name == p or name.startswith(p + ".") for p in names)
    )


def audit_slash_start(env: dict[str, str]) -> dict[str, Any]:
    """The import audit: how many modules slash_start loads, the app's among them, the unneeded."""
    loaded = modules_loaded_by("slash_start", env)
    return {
        "modules_loaded": len(loaded),
        "app_modules": [name for name in loaded if name.split(".")[0] in {"shared", "slash_start"}],
        "unneeded": unneeded(loaded),
    }


def measure(rounds: int, settings: dict[str, str], rng: random.Random) -> dict[str, Any]:
    """Time ``rounds`` pairs (baseline, module) per function module; ratios within pairs."""
    env = child_environment(settings)
    for module in (BASELINE, *FUNCTION_MODULES):
        time_import(module, env)  # writes the bytecode caches; not counted
    kinds = ("process", "cpu", "import")
    baseline: dict[str, list[float]] = {kind: [] for kind in kinds}
    times: dict[str, dict[str, list[float]]] = {
        m: {kind: [] for kind in kinds} for m in FUNCTION_MODULES
    }
    ratios: dict[str, dict[str, list[float]]] = {
        m: {kind: [] for kind in kinds} for m in FUNCTION_MODULES
    }
    for _ in range(rounds):
        order = list(FUNCTION_MODULES)
        rng.shuffle(order)
        for module in order:
            pair = [BASELINE, module]
            rng.shuffle(pair)
            timed = {name: time_import(name, env) for name in pair}
            for position, kind in enumerate(kinds):
                base, subject = timed[BASELINE][position], timed[module][position]
                baseline[kind].append(base)
                times[module][kind].append(subject)
                ratios[module][kind].append(subject / base)
    return {
        "slash_start_audit": audit_slash_start(env),
        "baseline": {
            "module": BASELINE,
            **{f"{kind}_ms": repeated(baseline[kind], 1000) for kind in kinds},
        },
        "modules": {
            module: {
                **{f"{kind}_ms": repeated(times[module][kind], 1000) for kind in kinds},
                **{f"{kind}_ratio": repeated(ratios[module][kind]) for kind in kinds},
            }
            for module in FUNCTION_MODULES
        },
    }
