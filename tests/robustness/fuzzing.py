"""Hypothesis settings for the robustness tests, and a tally of what they tried.

``make test`` runs a bounded, deterministic number of examples; ``FUZZ_LONG=1`` multiplies
every budget by ``LONG_FACTOR`` for a long run (still derandomized, so a failure reproduces).
"""

from __future__ import annotations

import os
from collections import Counter

from hypothesis import HealthCheck, settings

PROFILE = "robustness"
LONG_PROFILE = "robustness-long"
LONG_FACTOR = 20
LONG_RUN_VARIABLE = "FUZZ_LONG"

# What each property test and fault scenario did, printed at the end of the run.
tally: Counter[str] = Counter()


def long_run() -> bool:
    """Whether ``FUZZ_LONG=1`` asks for the long run."""
    return os.environ.get(LONG_RUN_VARIABLE, "").strip() == "1"


def register_profiles() -> None:
    """Register the normal and long profiles (deterministic, no deadline, no database).

    The fuzzed functions run against function-scoped stand-ins that every example resets
    itself, hence the ``function_scoped_fixture`` health check is suppressed.
    """
    common = {
        "derandomize": True,
        "database": None,
        "deadline": None,
        "print_blob": False,
        "suppress_health_check": [HealthCheck.function_scoped_fixture],
    }
    settings.register_profile(PROFILE, max_examples=100, **common)
    settings.register_profile(LONG_PROFILE, max_examples=100 * LONG_FACTOR, **common)


def fuzz(examples: int) -> settings:
    """Settings for one property: ``examples`` in ``make test``, ``LONG_FACTOR`` times more long."""
    if long_run():
        return settings(settings.get_profile(LONG_PROFILE), max_examples=examples * LONG_FACTOR)
    return settings(settings.get_profile(PROFILE), max_examples=examples)
