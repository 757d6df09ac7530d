"""Reading the allowed-users blob with a token credential (the app's managed identity on Azure).

Offline, the credential is a real azure-core `TokenCredential` that hands out a fixed token,
and storage is a small HTTPS stand-in on 127.0.0.1 with a certificate made for the test
(the storage SDK sends tokens over HTTPS only). Azure's identity endpoint is never called.
"""

from __future__ import annotations

import datetime
import ipaddress
import ssl
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest
from azure.core.credentials import AccessToken, TokenCredential
from azure.core.exceptions import ClientAuthenticationError
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

from shared.allowed_users import AllowedUsersCache, default_credential
from shared.deadline import Deadline
from shared.errors import AccessCheckUnavailable
from shared.settings import AZURE_STORAGE_CONNECTION_STRING, load_settings
from tests.support.app_env import AppEnv
from tests.support.logs import LogCapture

TOKEN = "fixed-test-token-for-storage"
STORAGE_SCOPE = "https://storage.azure.com/.default"
ACCOUNT = "devstoreaccount1"
CSV = b"U0ANN0001,ann,approver\nW0BOB0002,bob\n"
ETAG = '"0x8DCAFE0001"'
REPO_ROOT = Path(__file__).resolve().parent.parent


class FixedTokenCredential(TokenCredential):
    """A token credential that always answers with the same token, and records the scopes."""

    refusal: str | None = None

    def __init__(self) -> None:
        self.scopes: list[tuple[str, ...]] = []

    def get_token(
        self,
        *scopes: str,
        claims: str | None = None,
        tenant_id: str | None = None,
        enable_cae: bool = False,
        **kwargs: Any,
    ) -> AccessToken:
        """The fixed token, valid for an hour; or ``refusal``, as azure-identity raises it."""
        self.scopes.append(scopes)
        if self.refusal is not None:
            raise ClientAuthenticationError(self.refusal)
        return AccessToken(TOKEN, int(time.time()) + 3600)


class RefusingCredential(FixedTokenCredential):
    """A credential with no identity to offer, as on a machine without one."""

    refusal = "no managed identity here"


@dataclass
class SeenRequest:
    path: str
    authorization: str | None
    if_none_match: str | None


@dataclass
class HttpsBlob:
    """An HTTPS server answering blob downloads of CSV, recording what it was sent."""

    endpoint: str
    ca_file: Path
    seen: list[SeenRequest] = field(default_factory=list)


def _certificate(directory: Path) -> tuple[Path, Path]:
    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "127.0.0.1")])
    now = datetime.datetime.now(datetime.UTC)
    cert = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(minutes=5))
        .not_valid_after(now + datetime.timedelta(hours=1))
        .add_extension(
            x509.SubjectAlternativeName([x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]),
            critical=False,
        )
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .sign(key, hashes.SHA256())
    )
    cert_file = directory / "cert.pem"
    key_file = directory / "key.pem"
    cert_file.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    key_file.write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
    )
    return cert_file, key_file


@pytest.fixture
def https_blob(tmp_path: Path) -> Iterator[HttpsBlob]:
    cert_file, key_file = _certificate(tmp_path)
    seen: list[SeenRequest] = []

    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def log_message(self, format: str, *args: Any) -> None:
            """Quiet: requests are recorded instead."""

        def do_GET(self) -> None:
            match = self.headers.get("If-None-Match")
            seen.append(SeenRequest(self.path, self.headers.get("Authorization"), match))
            if match == ETAG:
                self.send_response(304)
                self.send_header("ETag", ETAG)
                self.send_header("x-ms-error-code", "ConditionNotMet")
                self.end_headers()
                return
            self.send_response(206)
            self.send_header("Content-Length", str(len(CSV)))
            self.send_header("Content-Range", f"bytes 0-{len(CSV) - 1}/{len(CSV)}")
            self.send_header("Content-Type", "text/csv")
            self.send_header("ETag", ETAG)
            self.send_header("x-ms-blob-type", "BlockBlob")
            self.end_headers()
            self.wfile.write(CSV)

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.load_cert_chain(cert_file, key_file)
    server.socket = context.wrap_socket(server.socket, server_side=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield HttpsBlob(f"https://127.0.0.1:{server.server_port}/{ACCOUNT}", cert_file, seen)
    finally:
        server.shutdown()
        server.server_close()
        thread.join(timeout=5)


@pytest.fixture
def identity_env(
    app_env: AppEnv, https_blob: HttpsBlob, monkeypatch: pytest.MonkeyPatch
) -> HttpsBlob:
    """The app configured with the blob endpoint and no storage connection string."""
    monkeypatch.setenv("ALLOWED_USERS_BLOB_ENDPOINT", https_blob.endpoint)
    monkeypatch.delenv(AZURE_STORAGE_CONNECTION_STRING)
    monkeypatch.setenv("REQUESTS_CA_BUNDLE", str(https_blob.ca_file))
    return https_blob


def test_the_list_is_read_with_a_bearer_token_from_the_credential(
    app_env: AppEnv, identity_env: HttpsBlob, captured_logs: LogCapture
) -> None:
    credential = FixedTokenCredential()
    cache = AllowedUsersCache(credential_factory=lambda: credential)
    listed = cache.read(load_settings(), Deadline.for_slack_request())
    assert listed.may_flush("W0BOB0002")
    assert listed.may_approve("U0ANN0001")
    [request] = identity_env.seen
    assert request.path == f"/{ACCOUNT}/{app_env.container}/{app_env.blob}"
    assert request.authorization == f"Bearer {TOKEN}"
    assert credential.scopes == [(STORAGE_SCOPE,)]
    assert app_env.blob_proxy.requests() == [], "the connection string's storage is not used"
    assert TOKEN not in captured_logs.text


def test_the_identity_path_revalidates_by_etag_too(
    app_env: AppEnv, identity_env: HttpsBlob, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("ALLOWED_USERS_CACHE_SECONDS", "0")
    cache = AllowedUsersCache(credential_factory=FixedTokenCredential)
    settings = load_settings()
    for _ in range(2):
        assert cache.read(settings, Deadline.for_slack_request()).may_flush("U0ANN0001")
    assert [r.if_none_match for r in identity_env.seen] == [None, ETAG]
    assert all(r.authorization == f"Bearer {TOKEN}" for r in identity_env.seen)


def test_a_credential_that_cannot_get_a_token_fails_closed(
    app_env: AppEnv, identity_env: HttpsBlob, captured_logs: LogCapture
) -> None:
    cache = AllowedUsersCache(credential_factory=RefusingCredential)
    with pytest.raises(AccessCheckUnavailable):
        cache.read(load_settings(), Deadline.for_slack_request())
    assert identity_env.seen == [], "no request without a token"
    assert any("ClientAuthenticationError" in line for line in captured_logs.lines)


def test_the_default_credential_is_azure_identitys() -> None:
    from azure.identity import DefaultAzureCredential

    assert isinstance(default_credential(), DefaultAzureCredential)


def test_the_slash_command_path_does_not_import_azure_identity_or_storage() -> None:
    probe = (
        "import sys, slash_start; "
        "print(sorted(m for m in sys.modules if m.startswith(('azure.identity', 'azure.storage'))))"
    )
    result = subprocess.run(  # noqa: S603 - the test's own interpreter
        [sys.executable, "-c", probe], cwd=REPO_ROOT, capture_output=True, text=True, check=True
    )
    assert result.stdout.strip() == "[]"
