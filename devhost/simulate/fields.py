"""Checked reads of a JSON object's fields; each raises ``ValueError`` with a one-line reason."""

from __future__ import annotations

import math
from typing import Any


def number(data: dict[str, Any], key: str, low: float, high: float) -> float | None:
    """Return ``data[key]`` as a float within [low, high], or None when absent."""
    value = data.get(key)
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int | float) or not math.isfinite(value):
        raise ValueError(f"'{key}' must be a number")
    if not low <= value <= high:
        raise ValueError(f"'{key}' must be between {low:g} and {high:g}")
    return float(value)


def flag(data: dict[str, Any], key: str) -> bool:
    """Return ``data[key]``, a boolean (False when absent)."""
    value = data.get(key, False)
    if not isinstance(value, bool):
        raise ValueError(f"'{key}' must be true or false")
    return value


def text(data: dict[str, Any], key: str) -> str | None:
    """Return ``data[key]``, a non-empty string, or None when absent."""
    value = data.get(key)
    if value is not None and (not isinstance(value, str) or not value):
        raise ValueError(f"'{key}' must be a non-empty string")
    return value
