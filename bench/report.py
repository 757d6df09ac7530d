"""The benchmark's table (Markdown) and the targets it checks."""

from __future__ import annotations

from typing import Any

COLD_START_RATIO_LIMIT = 1.10
WARM_VIEWS_OPEN_P99_MS = 10.0
ACK_P99_MS = 50.0
END_TO_END_P50_MS = 100.0
HOME_PUBLISH_P99_MS = 500.0
FLUSH_AGAIN_P99_MS = 100.0


def _ms(value: float | None) -> str:
    if value is None:
        return "—"
    if value < 10:
        return f"{value:.2f}"
    if value < 100:
        return f"{value:.1f}"
    return f"{value:.0f}"


def _ratio(value: float) -> str:
    return f"{value:.2f}x"


def _cores(value: float | None) -> str:
    return "-" if value is None else f"{value:.2f} cores"


def _pct(value: float) -> str:
    return f"{value * 100:.0f}%"


def _spread(summary: dict[str, Any], unit: str) -> str:
    return f"{_ms(summary['median'])} {unit} ({_ms(summary['min'])}-{_ms(summary['max'])})"


def _pct_spread(summary: dict[str, Any]) -> str:
    return f"{_pct(summary['median'])} ({_pct(summary['min'])}-{_pct(summary['max'])})"


def _runs_row(label: str, figure: dict[str, Any], unit: str = "ms") -> str:
    return (
        f"| {label} | {_spread(figure['p50'], unit)} | {_spread(figure['p99'], unit)} "
        f"| {figure['runs']} x {figure['n_per_run']} |"
    )


def _runs_table(
    title: str, *rows: tuple[str, dict[str, Any]] | tuple[str, dict[str, Any], str]
) -> list[str]:
    """A table of per-run latencies, one row per ``(label, figure[, unit])``."""
    return [
        title,
        "",
        "| case | p50 | p99 | runs x samples |",
        "|---|---|---|---|",
        *(_runs_row(*row) for row in rows),
        "",
    ]


def targets(figures: dict[str, Any]) -> list[dict[str, Any]]:
    """Each target with the measured value and whether it is met."""
    order = figures["views_open"]["order"]
    slash_import = figures["cold_import"]["modules"]["slash_start"]
    cold_ratio = figures["views_open"]["cold_start_ratio"]
    warm = figures["views_open"]["warm_ms"]["p99"]
    ack = figures["ack"]
    e2e = figures["end_to_end"]["end_to_end_ms"]
    top = figures["throughput"]["levels"][-1]
    unfinished = figures["throughput"]["orchestrations_not_completed"]
    clean = top["errors"] == 0 and top["lost"] == 0 and not any(unfinished.values())
    unneeded_before = ", ".join(order["unneeded_imports_before"]) or "none"
    audit = figures["cold_import"]["slash_start_audit"]
    home = figures["home"]
    return [
        {
            "target": "importing slash_start loads nothing views.open does not need "
            "(bench/imports.py SLASH_START_NEEDS_NONE_OF)",
            "measured": f"{audit['modules_loaded']} modules, {len(audit['app_modules'])} of the "
            f"app's; not needed: {', '.join(audit['unneeded']) or 'none'}",
            "met": not audit["unneeded"],
            "enforced": True,
        },
        {
            "target": "views.open before any storage access or import it does not need "
            "(slash-start, cold)",
            "measured": f"imports not needed before: {unneeded_before}; "
            f"storage connections before: {order['storage_connections_before']}",
            "met": order["holds"],
        },
        {
            "target": f"/flush, process start to views.open <= {COLD_START_RATIO_LIMIT:.2f}x a "
            "process that only imports azure.functions (cold, to one call out)",
            "measured": f"{_ratio(cold_ratio['median'])} (min-max {_ratio(cold_ratio['min'])}-"
            f"{_ratio(cold_ratio['max'])} over {cold_ratio['n']} pairs); importing slash_start "
            f"alone {_ratio(slash_import['process_ratio']['median'])}",
            "met": cold_ratio["median"] <= COLD_START_RATIO_LIMIT,
        },
        {
            "target": f"warm time to views.open p99 < {WARM_VIEWS_OPEN_P99_MS:g} ms",
            "measured": f"{_spread(warm, 'ms')}",
            "met": warm["median"] < WARM_VIEWS_OPEN_P99_MS,
        },
        {
            "target": f"warm acknowledgement p99 < {ACK_P99_MS:g} ms (both endpoints)",
            "measured": f"slash-start {_spread(ack['slash_start_ms']['p99'], 'ms')}, "
            f"orchestrator-client {_spread(ack['orchestrator_client_ms']['p99'], 'ms')}",
            "met": ack["slash_start_ms"]["p99"]["median"] < ACK_P99_MS
            and ack["orchestrator_client_ms"]["p99"]["median"] < ACK_P99_MS,
        },
        {
            "target": f"end-to-end p50 < {END_TO_END_P50_MS:g} ms (instant simulators)",
            "measured": f"{_spread(e2e['p50'], 'ms')}",
            "met": e2e["p50"]["median"] < END_TO_END_P50_MS,
        },
        {
            "target": f"Home tab published p99 < {HOME_PUBLISH_P99_MS:g} ms with "
            f"{home['instances']:,} past flushes",
            "measured": f"{_spread(home['publish_ms']['p99'], 'ms')}",
            "met": home["publish_ms"]["p99"]["median"] < HOME_PUBLISH_P99_MS,
        },
        {
            "target": f"Flush again click to views.open p99 < {FLUSH_AGAIN_P99_MS:g} ms (warm)",
            "measured": f"{_spread(home['flush_again_ms']['p99'], 'ms')}",
            "met": home["flush_again_ms"]["p99"]["median"] < FLUSH_AGAIN_P99_MS,
        },
        {
            "target": f"no error, no lost result at {top['users']} concurrent users",
            "measured": f"{top['flows']} flows: {top['errors']} errors, {top['lost']} lost; "
            f"orchestrations not completed: {sum(unfinished.values())}",
            "met": clean,
        },
    ]


def markdown(result: dict[str, Any]) -> str:
    """The whole table set, as Markdown."""
    figures = result["figures"]
    machine = result["machine"]
    lines = [
        f"Measured {result['finished_at']} on {machine['cpus']} CPUs ({machine['cpu_model']}), "
        f"Python {machine['python']}, {machine['system']}; `{result['mode']}` mode, "
        f"{result['duration_seconds']:.0f} s. Latencies: median over runs of each run's p50 "
        "and p99, with the min-max over runs in brackets.",
        "",
    ]
    cold = figures["cold_import"]
    base = cold["baseline"]
    lines += [
        "**1. Cold start**: a fresh interpreter importing the module, against importing "
        f"`{base['module']}` alone; ratios within paired runs, median and min-max over "
        f"{base['process_ms']['n'] // len(cold['modules'])} pairs per module.",
        "",
        "| module | wall time | ratio | ratio min-max | CPU-time ratio | import-alone ratio |",
        "|---|---|---|---|---|---|",
        f"| {base['module']} (baseline) | {_ms(base['process_ms']['median'])} ms | 1 | - | 1 | 1 |",
    ]
    for name, module in cold["modules"].items():
        ratio = module["process_ratio"]
        lines.append(
            f"| {name} | {_ms(module['process_ms']['median'])} ms | {_ratio(ratio['median'])} "
            f"| {_ratio(ratio['min'])}-{_ratio(ratio['max'])} "
            f"| {_ratio(module['cpu_ratio']['median'])} "
            f"| {_ratio(module['import_ratio']['median'])} |"
        )
    lines.append("")
    views_open = figures["views_open"]
    order = views_open["order"]
    lines += _runs_table(
        "**2. Time to `views.open`**: the request reaches `slash_start.main` -> the Slack "
        "stand-in has read `views.open`.",
        ("warm (same interpreter)", views_open["warm_ms"]),
        ("cold (fresh interpreter, importing slash_start)", views_open["cold_ms"]),
        ("cold: of which importing slash_start", views_open["cold_import_ms"]),
        ("cold, from process start", views_open["cold_from_start_ms"]),
        ("warm: whole handler, in-process", views_open["warm_handler_ms"]),
    )
    ratio = views_open["cold_start_ratio"]
    lines += [
        "Cold, from process start to Slack reading `views.open`, against the same cold child "
        "that only imports `azure.functions` and calls Slack once, in alternating pairs: "
        f"{_ratio(ratio['median'])} (min-max {_ratio(ratio['min'])}-"
        f"{_ratio(ratio['max'])}, {ratio['n']} pairs).",
        "",
        f"Audited cold runs ({order['runs']}): modules `views.open` does not need imported "
        f"before it: {', '.join(order['unneeded_imports_before']) or 'none'}; storage "
        "connections before: "
        f"{order['storage_connections_before']}, after: {order['storage_connections_after']}.",
        "",
    ]
    lines += _runs_table(
        "**3. Acknowledgement**: signed POST to devhost over HTTP -> answer read, warm.",
        ("/api/slash-start", figures["ack"]["slash_start_ms"]),
        ("/api/orchestrator-client", figures["ack"]["orchestrator_client_ms"]),
    )
    e2e = figures["end_to_end"]
    lines += _runs_table(
        "**4. End-to-end**: submission -> result DM, instant simulators, one flow at a time.",
        ("submission -> result DM", e2e["end_to_end_ms"]),
    )
    lines += [
        f"Share of that time with a function running: {_pct_spread(e2e['functions_share'])}; "
        "in devhost outside the functions (engine, HTTP, simulators): "
        f"{_pct_spread(e2e['host_share'])}.",
        "",
    ]
    allowed = figures["allowed_users"]
    lines += _runs_table(
        "**5. Allowed-users check**: one `AllowedUsersCache.read` call against Azurite.",
        ("cold fetch (new cache and client)", allowed["cold_ms"]),
        ("cached", allowed["cached_us"], "us"),
        ("ETag revalidation (304)", allowed["revalidation_ms"]),
    )
    throughput = figures["throughput"]
    lines += [
        "**6. Throughput**: N users each repeating whole flows (command, submission, result "
        "DM); flows/s median and min-max over three windows; devhost CPU is the CPU time devhost "
        "used per second of the level (1.00 = one core busy).",
        "",
        "| users | flows/s | min-max | e2e p50 | e2e p99 | devhost CPU | flows | errors | lost |",
        "|---|---|---|---|---|---|---|---|---|",
    ]
    for level in throughput["levels"]:
        rate = level["flows_per_second"]
        latency = level["end_to_end_ms"] or {"p50": None, "p99": None}
        lines.append(
            f"| {level['users']} | {rate['median']:.1f} | {rate['min']:.1f}-{rate['max']:.1f} "
            f"| {_ms(latency['p50'])} ms | {_ms(latency['p99'])} ms "
            f"| {_cores(level['devhost_cpu_cores'])} | {level['flows']} "
            f"| {level['errors']} | {level['lost']} |"
        )
    climbs = throughput["latency_climbs_at_users"]
    lines += [
        "",
        f"Latency starts to climb (p50 above {throughput['climb_factor']}x the one-user p50) at "
        f"{climbs if climbs is not None else 'none of these levels'} users.",
        "",
    ]
    home = figures["home"]
    lines += _runs_table(
        f"**7. Home tab and Flush again**: {home['instances']:,} finished flushes in devhost's "
        f"store ({home['own_instances']} of them the person's); signed `app_home_opened` -> "
        "answer (the tab is published before it); Flush again click -> `views.open` at Slack.",
        ("app_home_opened -> answered (views.publish done)", home["publish_ms"]),
        ("Flush again click -> views.open", home["flush_again_ms"]),
    )
    lines += [
        "**Targets**",
        "",
        "| target | measured | met |",
        "|---|---|---|",
    ]
    for target in result["targets"]:
        lines.append(
            f"| {target['target']} | {target['measured']} | {'yes' if target['met'] else 'NO'} |"
        )
    return "\n".join(lines) + "\n"
