"""The app's environment for one test, with the stand-ins it points at."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from devhost.standins.cache_flush import CacheFlushStub
from devhost.standins.durable_api import DurableApi
from devhost.standins.slack_stub import SlackStub
from tests.support.azurite import Azurite, BlobProxy, delete_blob, upload_allowed_users


@dataclass
class AppEnv:
    """What the ``app_env`` fixture set up.

    ``values`` holds every environment variable set for the app. The app reads storage through
    ``blob_proxy`` (recorded); the helpers below write straight to Azurite, so setting up the
    allowed-users list never shows up in the proxy's recordings.
    """

    values: Mapping[str, str]
    container: str
    blob: str
    slack: SlackStub
    cache_flush: CacheFlushStub
    durable_api: DurableApi
    blob_proxy: BlobProxy
    azurite: Azurite

    def allow(self, *user_ids: str) -> None:
        """Write the allowed-users CSV with exactly ``user_ids`` (one ``id,name`` record each)."""
        self.set_allowed_csv("".join(f"{uid},user_{uid.lower()}\n" for uid in user_ids))

    def set_allowed_csv(self, data: str | bytes) -> None:
        """Write ``data`` as the allowed-users blob, as it is (BOM, CRLF, quotes...)."""
        upload_allowed_users(self.azurite.connection_string, self.container, self.blob, data)

    def remove_allowed_users(self) -> None:
        """Delete the allowed-users blob (the container stays)."""
        delete_blob(self.azurite.connection_string, self.container, self.blob)

    @property
    def durable_client_binding(self) -> str:
        """The ``durableClient`` binding JSON to pass to ``orchestrator_client``."""
        return self.durable_api.client_binding_json()
