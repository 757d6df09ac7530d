"""Activity: one HTTP call to cache-flush; every answer comes back as a result."""

from __future__ import annotations

from shared.cache_flush import request_flush
from shared.handoffs import ActivityPayload, FlushCall
from shared.settings import load_settings


def main(request: ActivityPayload) -> ActivityPayload:
    """Flush the call's URLs in its environment; return the `FlushResult` as a dict."""
    settings = load_settings()
    result = request_flush(
        settings.cache_flush_url,
        FlushCall.from_dict(request),
        settings.cache_flush_timeout_seconds,
    )
    return result.to_dict()
