"""The allowed-users list: a hand-maintained CSV blob, parsed robustly and cached.

Rules in doc/behaviour.md (Allowed users). azure-storage-blob and azure-identity are imported
only when the list is first fetched, so the slash-command path can open Slack's modal before
paying for those imports. Every read is held to the request's deadline: it runs in a worker
thread without retries, and is abandoned when the deadline passes.
"""

from __future__ import annotations

import csv
import io
import logging
import re
import threading
import time
from collections.abc import Callable
from concurrent.futures import Future
from dataclasses import dataclass
from http import HTTPStatus
from typing import TYPE_CHECKING, Any

from shared.deadline import Deadline, DeadlineExceeded, submit, wait_for
from shared.errors import AccessCheckUnavailable, AppError
from shared.settings import Settings
from shared.stale_cache import StaleCache

if TYPE_CHECKING:
    from azure.core.credentials import TokenCredential
    from azure.storage.blob import BlobClient

logger = logging.getLogger(__name__)

MEMBER_ID = re.compile(r"[UW][A-Z0-9]{2,}")
APPROVER_ROLE = "approver"
AZURE_HTTP_LOGGER = "azure.core.pipeline.policies.http_logging_policy"

CredentialFactory = Callable[[], "TokenCredential"]


class ListUnreadable(AppError):
    """Storage, the identity or the settings naming the list failed; the message is why."""


@dataclass(frozen=True)
class AllowedUsers:
    """The parsed list: who is on it, and who of them has the approver role."""

    members: frozenset[str]
    approvers: frozenset[str] = frozenset()

    def may_flush(self, user_id: str) -> bool:
        """Whether the member ID is on the list (exact match after trimming)."""
        return user_id.strip() in self.members

    def may_approve(self, user_id: str) -> bool:
        """Whether the member ID is on the list with the approver role."""
        return user_id.strip() in self.approvers


def parse_allowed_users(data: bytes) -> AllowedUsers:
    """Parse the CSV: member ID first, a name second, an optional role third.

    Tolerates a UTF-8 BOM, CRLF or LF, blank lines, spaces, quoted fields, a header row,
    a missing final newline and further columns. Rows whose first field is not a member ID
    are skipped (a first row without one is the header, not a skipped row); the role
    `approver` is matched in any case. A list that yields nobody, or more skipped lines
    than members (a UTF-16 file, an unterminated quote), is logged as an error; CSV the
    reader refuses (a field over its size limit) raises `ListUnreadable`.
    """
    text = data.decode("utf-8-sig", errors="replace")
    members: set[str] = set()
    approvers: set[str] = set()
    skipped = 0
    header_possible = True
    reader = csv.reader(io.StringIO(text, newline=""), skipinitialspace=True)
    last_line = 0
    try:
        for row in reader:
            # A quoted field can span lines: count the lines a skipped row swallowed.
            lines, last_line = reader.line_num - last_line, reader.line_num
            first = row[0].strip() if row else ""
            if MEMBER_ID.fullmatch(first):
                members.add(first)
                if len(row) > 2 and row[2].strip().lower() == APPROVER_ROLE:
                    approvers.add(first)
            elif first and not header_possible:
                skipped += lines
            if first:
                header_possible = False
    except csv.Error as error:  # a field past the csv module's limit (an unclosed quote)
        raise ListUnreadable(f"The list is not CSV the app can read: {error}") from error
    _log_parsed(len(members), skipped, "\x00" in text)
    return AllowedUsers(frozenset(members), frozenset(approvers))


def _log_parsed(members: int, skipped: int, has_nul: bool) -> None:
    """Say how the list parsed: an error when it grants nobody or is mostly unreadable."""
    hint = " (it looks like UTF-16: save it as UTF-8)" if has_nul else ""
    if members == 0:
        logger.error(
            "Allowed-users list has no member IDs, so nobody may flush; %d line(s) skipped%s",
            skipped,
            hint,
        )
    elif skipped > members:
        logger.error(
            "Allowed-users list: %d line(s) without a member ID, more than the %d member(s) "
            "read; check its encoding and quotes%s",
            skipped,
            members,
            hint,
        )
    elif skipped:
        logger.info("Allowed-users list: skipped %d row(s) without a member ID", skipped)


def default_credential() -> TokenCredential:
    """The app's managed identity (or a developer's login) through azure-identity."""
    from azure.identity import DefaultAzureCredential  # noqa: PLC0415 (deferred, see module doc)

    return DefaultAzureCredential()


@dataclass(frozen=True)
class _Source:
    """Where the list lives: an endpoint read with a token, or a connection string."""

    endpoint: str | None
    connection_string: str | None
    container: str
    blob: str

    @classmethod
    def of(cls, settings: Settings) -> _Source:
        endpoint = settings.allowed_users_blob_endpoint
        return cls(
            endpoint=endpoint,
            connection_string=None if endpoint else settings.storage_connection_string,
            container=settings.allowed_users_container,
            blob=settings.allowed_users_blob,
        )


@dataclass(frozen=True)
class _Copy:
    """The list as read, with the ETag that confirms it later."""

    users: AllowedUsers
    etag: str


class AllowedUsersCache:
    """Fetches the list, trusts it for the cache time, then revalidates it by ETag.

    A cache time of 0 revalidates on every read. A refresh that fails (or does not finish
    before the deadline) serves the cached copy for up to ten cache times and never more
    than ten minutes after it was last read or confirmed (`StaleCache`), else fails closed.
    """

    def __init__(
        self,
        clock: Callable[[], float] = time.monotonic,
        credential_factory: CredentialFactory = default_credential,
    ) -> None:
        self._credential_factory = credential_factory
        self._copies: StaleCache[_Source, _Copy] = StaleCache(clock)
        self._clients: dict[_Source, BlobClient] = {}
        self._inflight: dict[_Source, Future[AllowedUsers]] = {}
        self._lock = threading.Lock()

    def cached(self, settings: Settings) -> AllowedUsers | None:
        """The list as last read, if it may still be served; never reads storage."""
        source = _Source.of(settings)
        ttl = settings.allowed_users_cache_seconds
        copy = self._copies.servable(source, ttl, self._copies.clock())
        return copy.users if copy is not None else None

    def prefetch(self, settings: Settings, deadline: Deadline) -> None:
        """Start the refresh a `read` would make, without waiting for it.

        A later `read` joins the fetch under way, so time spent waiting on something else
        (a rate-limited Slack call) is not lost.
        """
        source = _Source.of(settings)
        ttl = settings.allowed_users_cache_seconds
        if self._copies.fresh(source, ttl, self._copies.clock()) is None:
            self._refresh(source, ttl, deadline)

    def read(self, settings: Settings, deadline: Deadline) -> AllowedUsers:
        """Return the list, or raise AccessCheckUnavailable."""
        source = _Source.of(settings)
        ttl = settings.allowed_users_cache_seconds
        now = self._copies.clock()
        fresh = self._copies.fresh(source, ttl, now)
        if fresh is not None:
            return fresh.users
        try:
            return wait_for(self._refresh(source, ttl, deadline), deadline)
        except (DeadlineExceeded, ListUnreadable) as error:
            reason = "no answer in time" if isinstance(error, DeadlineExceeded) else str(error)
            stale = self._copies.serve_stale(source, ttl, now)
            if stale is not None:
                logger.warning("Allowed-users refresh failed (%s); serving the cached list", reason)
                return stale.users
            logger.error(
                "Allowed-users list %s/%s is unreadable: %s", source.container, source.blob, reason
            )
            raise AccessCheckUnavailable(reason) from error

    def _refresh(self, source: _Source, ttl: float, deadline: Deadline) -> Future[AllowedUsers]:
        """The fetch under way for this source, or a new one bounded by the deadline."""
        with self._lock:
            running = self._inflight.get(source)
            if running is not None and not running.done():
                return running
            started = self._copies.clock()
            timeout = deadline.call_timeout()

            def fetch() -> AllowedUsers:
                copy = self._fetch(source, self._copies.last(source), timeout)
                self._copies.store(source, copy, started, ttl)
                return copy.users

            future = submit(fetch)
            self._inflight[source] = future
            return future

    def _client(self, source: _Source) -> BlobClient:
        with self._lock:
            client = self._clients.get(source)
        if client is not None:
            return client
        from azure.storage.blob import BlobClient  # noqa: PLC0415 (deferred, see module doc)

        # The SDK logs every request and response at INFO; keep its warnings only.
        logging.getLogger(AZURE_HTTP_LOGGER).setLevel(logging.WARNING)
        # No retry: a second attempt would not fit the request's deadline.
        options: dict[str, Any] = {"retry_total": 0}
        if source.endpoint:
            client = BlobClient(
                account_url=source.endpoint,
                container_name=source.container,
                blob_name=source.blob,
                credential=self._credential_factory(),
                **options,
            )
        else:
            client = BlobClient.from_connection_string(
                source.connection_string or "",
                container_name=source.container,
                blob_name=source.blob,
                **options,
            )
        with self._lock:
            return self._clients.setdefault(source, client)

    def _fetch(self, source: _Source, last: _Copy | None, timeout: float) -> _Copy:
        """`_download`, its failures as ListUnreadable.

        The Azure SDK's errors (storage, identity), the network, and a connection string or
        endpoint it cannot use (ValueError).
        """
        from azure.core.exceptions import AzureError  # noqa: PLC0415 (deferred, see module doc)

        try:
            return self._download(source, last, timeout)
        except (AzureError, OSError, ValueError) as error:
            raise ListUnreadable(type(error).__name__) from error

    def _download(self, source: _Source, last: _Copy | None, timeout: float) -> _Copy:
        """Download the list, or confirm by ETag that the cached copy is still current."""
        from azure.core import MatchConditions  # noqa: PLC0415 (deferred, see module doc)
        from azure.core.exceptions import HttpResponseError  # noqa: PLC0415

        client = self._client(source)
        options: dict[str, Any] = {"connection_timeout": timeout, "read_timeout": timeout}
        if last is None:
            downloader = client.download_blob(**options)
        else:
            try:
                downloader = client.download_blob(
                    etag=last.etag, match_condition=MatchConditions.IfModified, **options
                )
            except HttpResponseError as error:
                # Storage answers 304 with the error code ConditionNotMet, which the SDK
                # raises as ResourceModifiedError: check the status, not the class.
                if error.status_code != HTTPStatus.NOT_MODIFIED:
                    raise
                return last
        return _Copy(parse_allowed_users(downloader.readall()), downloader.properties.etag)
