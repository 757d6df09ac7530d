"""The allowed-users list: a hand-maintained CSV blob, parsed robustly and cached (SPEC 6).

azure-storage-blob is imported only when the list is fetched, so the slash-command path
can open Slack's modal before paying for that import.
"""

from __future__ import annotations

import csv
import io
import logging
import re
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from http import HTTPStatus
from typing import TYPE_CHECKING

from shared.settings import Settings

if TYPE_CHECKING:
    from azure.storage.blob import BlobClient

logger = logging.getLogger(__name__)

MEMBER_ID = re.compile(r"[UW][A-Z0-9]{2,}")
STALE_FACTOR = 10
CONNECT_TIMEOUT_SECONDS = 2
READ_TIMEOUT_SECONDS = 3
AZURE_HTTP_LOGGER = "azure.core.pipeline.policies.http_logging_policy"


class AccessCheckUnavailable(Exception):
    """The list could not be read and no usable cached copy exists: fail closed."""


def parse_allowed_users(data: bytes) -> frozenset[str]:
    """Return the member IDs in the first column of the CSV.

    Tolerates a UTF-8 BOM, CRLF or LF, blank lines, spaces, quoted fields, a header row
    and a missing final newline. Rows whose first field is not a member ID are skipped.
    """
    text = data.decode("utf-8-sig", errors="replace")
    users: set[str] = set()
    skipped = 0
    for row in csv.reader(io.StringIO(text, newline=""), skipinitialspace=True):
        first = row[0].strip() if row else ""
        if MEMBER_ID.fullmatch(first):
            users.add(first)
        elif first:
            skipped += 1
    if skipped:
        logger.info("Allowed-users list: skipped %d row(s) without a member ID", skipped)
    return frozenset(users)


@dataclass
class _Entry:
    users: frozenset[str]
    etag: str
    checked_at: float
    due_at: float


class AllowedUsersCache:
    """Fetches the list, trusts it for the cache time, then revalidates it by ETag."""

    def __init__(self, clock: Callable[[], float] = time.monotonic) -> None:
        self._clock = clock
        self._entries: dict[tuple[str, str, str], _Entry] = {}
        self._clients: dict[tuple[str, str, str], BlobClient] = {}
        self._lock = threading.Lock()

    def users(self, settings: Settings) -> frozenset[str]:
        """Return the allowed member IDs, or raise AccessCheckUnavailable."""
        key = (
            settings.storage_connection_string,
            settings.allowed_users_container,
            settings.allowed_users_blob,
        )
        ttl = settings.allowed_users_cache_seconds
        entry = self._entries.get(key)
        now = self._clock()
        servable = entry if entry and now - entry.checked_at < ttl * STALE_FACTOR else None
        if servable is not None and now < servable.due_at:
            return servable.users
        try:
            users, etag = self._fetch(key, entry)
        except Exception as error:
            reason = type(error).__name__
            if servable is not None:
                logger.warning("Allowed-users refresh failed (%s); serving the cached list", reason)
                servable.due_at = now + ttl
                return servable.users
            logger.error("Allowed-users list %s/%s is unreadable: %s", key[1], key[2], reason)
            raise AccessCheckUnavailable(reason) from error
        self._entries[key] = _Entry(users, etag, checked_at=now, due_at=now + ttl)
        return users

    def is_allowed(self, settings: Settings, user_id: str) -> bool:
        """Whether the member ID is on the list (exact match after trimming)."""
        return user_id.strip() in self.users(settings)

    def _client(self, key: tuple[str, str, str]) -> BlobClient:
        with self._lock:
            client = self._clients.get(key)
            if client is None:
                from azure.storage.blob import BlobClient  # noqa: PLC0415 (deferred, see module doc)

                # The SDK logs every request and response at INFO; keep its warnings only.
                logging.getLogger(AZURE_HTTP_LOGGER).setLevel(logging.WARNING)

                client = BlobClient.from_connection_string(
                    key[0],
                    container_name=key[1],
                    blob_name=key[2],
                    connection_timeout=CONNECT_TIMEOUT_SECONDS,
                    read_timeout=READ_TIMEOUT_SECONDS,
                    retry_total=1,
                    initial_backoff=1,
                    increment_base=0,
                    random_jitter_range=0,
                )
                self._clients[key] = client
            return client

    def _fetch(self, key: tuple[str, str, str], entry: _Entry | None) -> tuple[frozenset[str], str]:
        """Download the list, or confirm by ETag that the cached copy is still current."""
        from azure.core import MatchConditions  # noqa: PLC0415 (deferred, see module doc)
        from azure.core.exceptions import HttpResponseError  # noqa: PLC0415

        client = self._client(key)
        if entry is None:
            downloader = client.download_blob()
        else:
            try:
                downloader = client.download_blob(
                    etag=entry.etag, match_condition=MatchConditions.IfModified
                )
            except HttpResponseError as error:
                # Storage answers 304 with the error code ConditionNotMet, which the SDK
                # raises as ResourceModifiedError: check the status, not the class.
                if error.status_code != HTTPStatus.NOT_MODIFIED:
                    raise
                return entry.users, entry.etag
        return parse_allowed_users(downloader.readall()), downloader.properties.etag


_default_cache = AllowedUsersCache()


def is_allowed(settings: Settings, user_id: str) -> bool:
    """Check a member ID against the process-wide cached list."""
    return _default_cache.is_allowed(settings, user_id)
