"""Activity: one HTTP call to cache-flush; raises for failures worth retrying."""

from __future__ import annotations

from typing import Any

from shared.cache_flush import request_flush
from shared.settings import load_settings


def main(request: dict[str, Any]) -> dict[str, Any]:
    """Flush `request["urls"]` in `request["environment"]`; return `{ok, status, body, error}`."""
    settings = load_settings()
    result = request_flush(
        settings.cache_flush_url,
        request["environment"],
        request["urls"],
        settings.cache_flush_timeout_seconds,
    )
    return result.to_dict()
