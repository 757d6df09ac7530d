"""Summaries of timing samples: percentiles per run, and medians with min and max over runs."""

from __future__ import annotations

import statistics
from collections.abc import Sequence
from typing import Any


def percentile(samples: Sequence[float], fraction: float) -> float:
    """The ``fraction`` quantile (0..1) by linear interpolation between closest ranks."""
    ordered = sorted(samples)
    if not ordered:
        raise ValueError("no samples")
    position = fraction * (len(ordered) - 1)
    low = int(position)
    high = min(low + 1, len(ordered) - 1)
    return ordered[low] + (ordered[high] - ordered[low]) * (position - low)


def distribution(samples: Sequence[float], scale: float = 1.0) -> dict[str, Any]:
    """p50, p99, min, max and count of ``samples`` (each multiplied by ``scale``)."""
    scaled = [value * scale for value in samples]
    return {
        "n": len(scaled),
        "p50": percentile(scaled, 0.50),
        "p99": percentile(scaled, 0.99),
        "min": min(scaled),
        "max": max(scaled),
    }


def repeated(samples: Sequence[float], scale: float = 1.0) -> dict[str, Any]:
    """Median, min, max and count of repeated measurements of one figure."""
    scaled = [value * scale for value in samples]
    return {
        "n": len(scaled),
        "median": statistics.median(scaled),
        "min": min(scaled),
        "max": max(scaled),
    }


def across_runs(runs: Sequence[Sequence[float]], scale: float = 1.0) -> dict[str, Any]:
    """p50 and p99 of each run, summarised as median with min and max over the runs.

    ``pooled`` keeps the distribution of every sample together, for reference.
    """
    per_run = [distribution(samples, scale) for samples in runs]
    pooled = [value for samples in runs for value in samples]
    return {
        "runs": len(per_run),
        "n_per_run": min(d["n"] for d in per_run),
        "p50": repeated([d["p50"] for d in per_run]),
        "p99": repeated([d["p99"] for d in per_run]),
        "pooled": distribution(pooled, scale),
    }
