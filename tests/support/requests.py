"""Real ``azure.functions.HttpRequest`` objects as the Functions host would build them."""

from __future__ import annotations

from collections.abc import Mapping

import azure.functions as func

HOST_ORIGIN = "http://localhost:7071"


def http_request(
    path: str,
    body: bytes,
    headers: Mapping[str, str],
    method: str = "POST",
    params: Mapping[str, str] | None = None,
) -> func.HttpRequest:
    """A request for ``/api/<path>`` with ``body``, ``headers`` and query ``params``."""
    return func.HttpRequest(
        method=method,
        url=f"{HOST_ORIGIN}/api/{path.lstrip('/')}",
        headers=dict(headers),
        params=dict(params or {}),
        route_params={},
        body=body,
    )
