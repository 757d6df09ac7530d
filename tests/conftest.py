"""Root fixtures: real stand-in servers, real Azurite, log capture and the app's environment."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from typing import TypeVar

import pytest

from devhost.standins.cache_flush import CacheFlushStub
from devhost.standins.durable_api import DurableApi
from devhost.standins.slack_stub import SlackStub
from devhost.standins.stub_server import StubServer
from tests.support import constants
from tests.support.app_env import AppEnv
from tests.support.azurite import Azurite, BlobProxy, delete_container
from tests.support.logs import LogCapture

# Configuration variables (doc/behaviour.md) the fixture leaves unset, so the app's defaults apply.
_DEFAULTED_VARIABLES = ("FLUSH_ALLOWED_DOMAINS", "FLUSH_ALLOWED_HOSTS", "ACCESS_REQUEST_HINT")
StubT = TypeVar("StubT", bound=StubServer | DurableApi)


def _serve(stub: StubT) -> Iterator[StubT]:
    with stub:
        yield stub
    assert not stub.errors, f"{stub.name} stand-in failed:\n" + "\n".join(stub.errors)


@pytest.fixture(scope="session", autouse=True)
def _loopback_bypasses_proxies() -> Iterator[None]:
    """Keep HTTP clients from sending loopback traffic through a proxy set in the environment."""
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("NO_PROXY", "127.0.0.1,localhost")
        mp.setenv("no_proxy", "127.0.0.1,localhost")
        yield


@pytest.fixture(scope="session")
def azurite() -> Iterator[Azurite]:
    """One Azurite for the whole run (in-memory; each test uses its own container)."""
    with Azurite() as instance:
        yield instance


@pytest.fixture
def blob_proxy(azurite: Azurite) -> Iterator[BlobProxy]:
    """A fresh recording proxy in front of the session's Azurite."""
    yield from _serve(BlobProxy(azurite.port))


@pytest.fixture
def slack() -> Iterator[SlackStub]:
    """The Slack Web API stand-in, expecting the test bot token."""
    yield from _serve(SlackStub(token=constants.SLACK_BOT_TOKEN))


@pytest.fixture
def cache_flush() -> Iterator[CacheFlushStub]:
    """The cache-flush function stand-in, expecting the test function key."""
    yield from _serve(CacheFlushStub(constants.CACHE_FLUSH_KEY))


@pytest.fixture
def durable_api() -> Iterator[DurableApi]:
    """devhost's durable HTTP API, orchestrations held still, the system key in its URLs."""
    yield from _serve(
        DurableApi([constants.ORCHESTRATOR_NAME], system_key=constants.DURABLE_SYSTEM_KEY)
    )


@pytest.fixture
def captured_logs() -> Iterator[LogCapture]:
    """Every log record of the test, from all loggers at DEBUG, formatted."""
    with LogCapture() as capture:
        yield capture


@pytest.fixture
def app_env(  # noqa: PLR0917 - pytest passes fixtures positionally
    monkeypatch: pytest.MonkeyPatch,
    azurite: Azurite,
    blob_proxy: BlobProxy,
    slack: SlackStub,
    cache_flush: CacheFlushStub,
    durable_api: DurableApi,
) -> Iterator[AppEnv]:
    """Set every configuration variable for the app, pointing at this test's stand-ins."""
    container = f"allowed-{uuid.uuid4().hex[:16]}"
    values = {
        "AZURE_STORAGE_CONNECTION_STRING": blob_proxy.connection_string,
        "CACHE_FLUSH_FUNCTION_APP_FULL_URL_WITH_PATH_AND_CODE": cache_flush.url,
        "SLACK_BOT_USER_OAUTH_ACCESS_TOKEN": constants.SLACK_BOT_TOKEN,
        "SLACK_SIGNING_SECRET": constants.SLACK_SIGNING_SECRET,
        "SLACK_CHANNEL_NAME": constants.SLACK_CHANNEL_NAME,
        "SLACK_API_URL": slack.base_url,
        "ALLOWED_USERS_CONTAINER": container,
        "ALLOWED_USERS_BLOB": constants.ALLOWED_USERS_BLOB,
        "ALLOWED_USERS_CACHE_SECONDS": constants.ALLOWED_USERS_CACHE_SECONDS,
        "CACHE_FLUSH_TIMEOUT_SECONDS": constants.CACHE_FLUSH_TIMEOUT_SECONDS,
    }
    for name, value in values.items():
        monkeypatch.setenv(name, value)
    for name in _DEFAULTED_VARIABLES:
        monkeypatch.delenv(name, raising=False)
    yield AppEnv(
        values=values,
        container=container,
        blob=constants.ALLOWED_USERS_BLOB,
        slack=slack,
        cache_flush=cache_flush,
        durable_api=durable_api,
        blob_proxy=blob_proxy,
        azurite=azurite,
    )
    delete_container(azurite.connection_string, container)


@pytest.fixture
def approvals_on(app_env: AppEnv, monkeypatch: pytest.MonkeyPatch) -> AppEnv:
    """`app_env` with approvals required for production, requested in one channel."""
    monkeypatch.setenv("APPROVAL_REQUIRED_ENVIRONMENTS", "production")
    monkeypatch.setenv("APPROVAL_CHANNEL", constants.APPROVAL_CHANNEL_ID)
    return app_env
