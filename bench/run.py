"""Run every benchmark, print the table, write the results as JSON.

``python -m bench`` (what ``make bench`` runs) takes about two minutes; ``--smoke`` runs each
benchmark a handful of times, in seconds, to prove the harness works (its figures mean
nothing).
"""

from __future__ import annotations

import argparse
import json
import os
import random
import secrets
import sys
import tempfile
import time
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from bench import ack, allowed, flows, home, imports, report, views_open
from bench.appenv import (
    BLOB,
    CONTAINER,
    LOOPBACK,
    REPO_ROOT,
    allowed_users_csv,
    app_settings,
    machine,
    new_secrets,
    user_id,
)
from bench.devhost_proc import Devhost
from devhost.azurite import Azurite, upload_allowed_users
from devhost.standins.slack_stub import SlackStub
from shared.settings import load_settings

RESULTS_DIR = REPO_ROOT / "bench" / "results"


@dataclass(frozen=True)
class Sizes:
    """How many runs each benchmark makes and samples per run; the defaults are a full run's."""

    runs: int = 3
    import_rounds: int = 12
    views_open_warm: int = 200
    views_open_cold: int = 10
    order_runs: int = 3
    ack: int = 200
    end_to_end: int = 150
    allowed_cold: int = 20
    allowed_cached: int = 1000
    allowed_revalidated: int = 50
    levels: tuple[int, ...] = (1, 2, 5, 10, 20, 50)
    home_instances: int = 10_000
    home: int = 100
    level_seconds: float = 6.0
    level_warmup: float = 1.0
    warmup: int = 10


FULL = Sizes()
SMOKE = Sizes(
    runs=2,
    import_rounds=1,
    views_open_warm=3,
    views_open_cold=1,
    order_runs=1,
    ack=3,
    end_to_end=3,
    allowed_cold=2,
    allowed_cached=10,
    allowed_revalidated=2,
    levels=(1, 3),
    home_instances=300,
    home=3,
    level_seconds=1.5,
    level_warmup=0.3,
    warmup=1,
)


def _say(text: str) -> None:
    print(f"[bench] {text}", file=sys.stderr, flush=True)


def measure(sizes: Sizes, workdir: Path, rng: random.Random) -> dict[str, Any]:
    """Run the six benchmarks; return their figures."""
    figures: dict[str, Any] = {}
    run_secrets = new_secrets()
    user = user_id(0)
    with Azurite() as azurite:
        upload_allowed_users(azurite.connection_string, CONTAINER, BLOB, allowed_users_csv())
        storage = azurite.connection_string
        _say("section 1: cold start: importing each function module in fresh interpreters")
        figures["cold_import"] = imports.measure(
            sizes.import_rounds, app_settings(run_secrets, storage), rng
        )
        with SlackStub(token=run_secrets.bot_token) as slack:
            flush_url = "http://127.0.0.1:9/cache-flush?code=" + run_secrets.function_key
            settings = app_settings(
                run_secrets, storage, slack_api_url=slack.base_url, cache_flush_url=flush_url
            )
            os.environ.update(settings)
            secret = run_secrets.signing_secret
            _say("section 2: time to views.open, warm in-process and cold interpreters")
            figures["views_open"] = views_open.measure(
                sizes.runs,
                warm=sizes.views_open_warm,
                cold=sizes.views_open_cold,
                secret=secret,
                stub=slack,
                user=user,
                settings=settings,
            )
            figures["views_open"]["order"] = views_open.check_order(
                sizes.order_runs,
                secret=secret,
                stub=slack,
                user=user,
                settings=settings,
                storage_port=azurite.port,
            )
            _say("section 5: allowed-users check: cold, cached, ETag revalidation")
            figures["allowed_users"] = allowed.measure_allowed_users(
                load_settings(),
                user,
                runs=sizes.runs,
                cold=sizes.allowed_cold,
                cached=sizes.allowed_cached,
                revalidated=sizes.allowed_revalidated,
            )
            _say("section 3: acknowledgement through devhost over HTTP")
            ack_settings = app_settings(run_secrets, storage, slack_api_url=slack.base_url)
            with Devhost(workdir / "ack", ack_settings) as host:
                figures["ack"] = ack.measure_ack(
                    host,
                    slack,
                    secret,
                    user,
                    runs=sizes.runs,
                    samples=sizes.ack,
                    warmup=sizes.warmup,
                )
        with Devhost(workdir / "flows", app_settings(run_secrets, storage)) as host:
            _say("section 4: end-to-end flows through devhost --simulate")
            figures["end_to_end"] = flows.measure_end_to_end(
                host, runs=sizes.runs, flows=sizes.end_to_end, warmup=sizes.warmup
            )
            _say(f"section 6: throughput with {', '.join(map(str, sizes.levels))} concurrent users")
            figures["throughput"] = flows.measure_throughput(
                host, sizes.levels, sizes.level_seconds, sizes.level_warmup
            )
        _say(f"section 7: the Home tab with {sizes.home_instances} past flushes, Flush again")
        figures["home"] = home.measure(
            workdir / "home",
            app_settings(run_secrets, storage),
            instances=sizes.home_instances,
            runs=sizes.runs,
            samples=sizes.home,
            warmup=sizes.warmup,
            rng=rng,
        )
    return figures


def main(argv: Sequence[str] | None = None) -> int:
    """Run the benchmarks, print the table, write the JSON.

    Exits 0 when every figure came out and every enforced target is met (the timing targets
    are flagged in the table: a shared machine's noise must not fail the run).
    """
    parser = argparse.ArgumentParser(prog="python -m bench", description=__doc__)
    parser.add_argument(
        "--smoke", action="store_true", help="a few iterations, to test the harness"
    )
    parser.add_argument("--out", type=Path, help="JSON file to write (default: bench/results/)")
    args = parser.parse_args(argv)
    os.environ["NO_PROXY"] = os.environ["no_proxy"] = LOOPBACK
    sizes = SMOKE if args.smoke else FULL
    started = time.monotonic()
    with tempfile.TemporaryDirectory(prefix="bench-") as workdir:
        figures = measure(sizes, Path(workdir), secrets.SystemRandom())
    finished = datetime.now(UTC)
    result: dict[str, Any] = {
        "mode": "smoke" if args.smoke else "full",
        "finished_at": finished.strftime("%Y-%m-%d %H:%M UTC"),
        "duration_seconds": time.monotonic() - started,
        "machine": machine(),
        "sizes": vars(sizes) | {"levels": list(sizes.levels)},
        "figures": figures,
    }
    result["targets"] = report.targets(figures)
    out = args.out or RESULTS_DIR / f"bench-{finished.strftime('%Y%m%dT%H%M%SZ')}.json"
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(result, indent=2) + "\n", encoding="utf-8")
    print(report.markdown(result), flush=True)
    _say(f"results written to {out}")
    missed = [t["target"] for t in result["targets"] if t.get("enforced") and not t["met"]]
    for target in missed:
        _say(f"enforced target missed: {target}")
    return 1 if missed else 0
