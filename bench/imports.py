"""Section 1, cold start: a fresh interpreter importing each function module.

Each sample is a new ``python -c "import <module>"`` process in the repository root, with
bytecode caches warm. The process's wall time is what a cold worker pays and is the figure the
target is checked on; the process's CPU time (user + system, immune to waiting for a core on a
busy machine) and the import alone (without interpreter start-up) are reported beside it.
Every module is paired with a baseline run importing ``azure.functions`` alone, in random
order within the pair, and each ratio is taken within its pair, so machine noise hits both
sides of a comparison alike.
"""

from __future__ import annotations

import random
import resource
import subprocess
import sys
import time
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
_CHILD = (
    "import time\n"
    "started = time.perf_counter()\n"
    "import {module}\n"
    "print(time.perf_counter() - started)\n"
)


def time_import(module: str, env: dict[str, str]) -> tuple[float, float, float]:
    """Return (process wall time, process CPU time, import time) in seconds for one import."""
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    started = time.perf_counter()
    completed = subprocess.run(  # noqa: S603 - this interpreter, fixed code
        [sys.executable, "-c", _CHILD.format(module=module)],
        cwd=REPO_ROOT,
        env=env,
        check=True,
        capture_output=True,
        text=True,
    )
    wall = time.perf_counter() - started
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    return wall, cpu, float(completed.stdout.strip())


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
