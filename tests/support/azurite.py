"""Real blob storage for tests: Azurite, a recording proxy in front of it, and helpers."""

from __future__ import annotations

import contextlib
import http.client

from azure.core.exceptions import ResourceNotFoundError
from azure.storage.blob import BlobServiceClient

from devhost.azurite import (
    ACCOUNT_KEY,
    Azurite,
    BlobService,
    connection_string,
    upload_allowed_users,
)
from devhost.standins.recording import RecordedRequest
from devhost.standins.stub_server import HOP_BY_HOP_HEADERS, Reply, ScriptedStubServer

__all__ = [
    "ACCOUNT_KEY",
    "Azurite",
    "BlobProxy",
    "connection_string",
    "delete_blob",
    "delete_container",
    "upload_allowed_users",
]

_NOT_FORWARDED = HOP_BY_HOP_HEADERS | {"expect"}


class BlobProxy(ScriptedStubServer, BlobService):
    """A recording reverse proxy in front of Azurite.

    Every request is forwarded unchanged (method, path, query, headers including ``Host``,
    body); the recording gets the upstream status in ``response_status``. Its
    ``connection_string`` leads the storage SDK through the proxy. Shared-key
    signatures still validate: they cover the path, query and signed headers, not the port.
    ``reply``/``always`` answer instead of Azurite (storage errors); ``delay`` holds every
    request before it is forwarded (slow storage).
    """

    def __init__(self, upstream_port: int) -> None:
        """Proxy to the Azurite listening on ``upstream_port``; ``start()`` binds the proxy."""
        super().__init__("blob")
        self.upstream_port = upstream_port
        self.delay = 0.0

    def clear(self) -> None:
        """Forget recordings, scripted replies and the delay."""
        self.delay = 0.0
        super().clear()

    def handle(self, request: RecordedRequest) -> Reply:
        """Play a scripted reply, or forward ``request`` to Azurite and relay the answer."""
        scripted = self.scripted()
        if scripted is not None:
            return scripted
        if self.delay > 0 and self.stopping.wait(self.delay):
            return Reply(drop=True)
        target = request.path + (f"?{request.raw_query}" if request.raw_query else "")
        headers = {k: v for k, v in request.headers.items() if k.lower() not in _NOT_FORWARDED}
        conn = http.client.HTTPConnection("127.0.0.1", self.upstream_port, timeout=30)
        try:
            conn.request(request.method, target, body=request.body or None, headers=headers)
            response = conn.getresponse()
            body = response.read()
            relayed = {
                k: v for k, v in response.getheaders() if k.lower() not in HOP_BY_HOP_HEADERS
            }
            return Reply(response.status, body=body, headers=relayed)
        finally:
            conn.close()


def _service(conn_str: str) -> BlobServiceClient:
    return BlobServiceClient.from_connection_string(conn_str)


def delete_blob(conn_str: str, container: str, blob: str) -> None:
    """Delete ``blob`` if it exists."""
    with _service(conn_str) as service, contextlib.suppress(ResourceNotFoundError):
        service.get_blob_client(container, blob).delete_blob()


def delete_container(conn_str: str, container: str) -> None:
    """Delete ``container`` and everything in it, if it exists."""
    with _service(conn_str) as service, contextlib.suppress(ResourceNotFoundError):
        service.delete_container(container)
