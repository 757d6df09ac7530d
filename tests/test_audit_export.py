"""Audit records reach Application Insights with their fields as custom dimensions.

Azure Monitor's exporter runs for real, in a child interpreter (its thread, providers and
exit hook are per process), against a stand-in for the ingestion endpoint on 127.0.0.1 that
reads what the exporter posts to `/v2.1/track`. Statsbeat, SDK stats and the settings
control plane, which would call Microsoft, are turned off by their own variables.
"""

from __future__ import annotations

import gzip
import json
import logging
import os
import subprocess
import sys
import threading
import uuid
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest

from shared import audit_export
from tests.support.waiting import wait_until

REPO_ROOT = Path(__file__).resolve().parent.parent
INSTRUMENTATION_KEY = str(uuid.uuid4())
SITE_NAME = "cache-flush-slack-app-func-test"
QUIET_EXPORTER = {
    "APPLICATIONINSIGHTS_STATSBEAT_DISABLED_ALL": "true",
    "APPLICATIONINSIGHTS_SDKSTATS_DISABLED": "true",
    "APPLICATIONINSIGHTS_CONTROLPLANE_DISABLED": "true",
}

# The child: every log record to stderr, the app's four audit events, then a wait (polling,
# with a deadline) until the stand-in has a record ("received") or the export has logged a
# warning ("warned"), and a last record left to the exit hook to send.
CHILD = """
import json, logging, sys, threading, time, urllib.request
logging.basicConfig(level=logging.DEBUG, stream=sys.stderr)
from shared import audit
from shared.handoffs import FlushAttempts, FlushRequest, FlushResult

def loaded():
    return sorted({m for m in sys.modules if m.startswith(("opentelemetry", "azure.monitor"))})

print(json.dumps({"after_import": loaded()}), flush=True)

exporter_warned = threading.Event()
class Warned(logging.Handler):
    def emit(self, record):
        exporter_warned.set()
for name in ("azure.monitor.opentelemetry.exporter", "shared.audit_export"):
    logging.getLogger(name).addHandler(Warned(logging.WARNING))

class Person:
    user_id = "U0ANN0001"
    user_name = "ann"

request = FlushRequest(
    user_id="U0001", user_name="jo_bloggs", team_id="T0001", view_id="V0001",
    environment="production", urls=("https://www.nhs.uk/a", "https://www.nhs.uk/b"),
    channel=None, retry_interval_ms=5000,
)
audit.flush_requested("inst-1", request)
audit.decision_raised("inst-1", Person(), "approve")
audit.approval_ended("inst-1", Person(), "approved", Person())
audit.flushed("inst-1", request, FlushAttempts(FlushResult(ok=True, status=201), 2))
print(json.dumps({"returned": True}), flush=True)

wait_for = sys.argv[1]
def stand_in_received():
    with urllib.request.urlopen(sys.argv[2] + "received", timeout=5) as answer:
        return json.load(answer) >= 1

deadline = time.monotonic() + 15
while not (stand_in_received() if wait_for == "received" else exporter_warned.is_set()):
    if time.monotonic() > deadline:
        sys.exit("timed out waiting for the exporter: " + wait_for)
    time.sleep(0.02)
timed_out = FlushResult(ok=False, status=None, error="timeout")
audit.flushed("inst-2", request, FlushAttempts(timed_out, 3))
print(json.dumps({"after_records": loaded()}), flush=True)
"""


class Ingestion:
    """A stand-in for Application Insights' ingestion endpoint: it keeps what is posted."""

    def __init__(self, status: int = 200) -> None:
        self.status = status
        self.envelopes: list[dict[str, Any]] = []
        self.paths: list[str] = []
        self.release = threading.Event()
        self.release.set()
        self.held_too_long = False
        self._lock = threading.Lock()
        ingestion = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, format: str, *args: Any) -> None:
                """Quiet: requests are recorded instead."""

            def do_GET(self) -> None:
                self._answer(200, len(ingestion.received()))

            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers["Content-Length"]))
                if self.headers.get("Content-Encoding") == "gzip":
                    body = gzip.decompress(body)
                with ingestion._lock:
                    ingestion.paths.append(self.path)
                    ingestion.envelopes.extend(json.loads(body))
                if not ingestion.release.wait(timeout=8):
                    ingestion.held_too_long = True
                count = len(json.loads(body))
                answer: dict[str, Any] = {"itemsReceived": count, "itemsAccepted": count}
                if ingestion.status != 200:
                    # 206: some items refused, each with its own status (here all of them).
                    refused = [
                        {"index": i, "statusCode": 400, "message": "Field 'x' is invalid"}
                        for i in range(count)
                    ]
                    answer |= {"itemsAccepted": 0, "errors": refused}
                self._answer(ingestion.status, answer)

            def _answer(self, status: int, document: object) -> None:
                out = json.dumps(document).encode()
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(out)))
                self.end_headers()
                self.wfile.write(out)

        self._server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)

    @property
    def endpoint(self) -> str:
        return f"http://127.0.0.1:{self._server.server_port}/"

    def received(self) -> list[dict[str, Any]]:
        with self._lock:
            return list(self.envelopes)

    def __enter__(self) -> Ingestion:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.release.set()
        self._server.shutdown()
        self._server.server_close()
        self._thread.join(timeout=5)


@pytest.fixture
def ingestion() -> Iterator[Ingestion]:
    with Ingestion() as stand_in:
        yield stand_in


def child_environment(
    endpoint: str, tmp_path: Path, connection_string: str | None = None
) -> dict[str, str]:
    """The child's settings: the connection string, the site's name, a private temp folder.

    Coverage's own variables go through, so that the child is measured too.
    """
    return {
        **{key: value for key, value in os.environ.items() if key.startswith("COVERAGE_")},
        "PATH": "/usr/bin:/bin",
        "PYTHONPATH": str(REPO_ROOT),
        "NO_PROXY": "127.0.0.1,localhost",
        "TMPDIR": str(tmp_path),
        "WEBSITE_SITE_NAME": SITE_NAME,
        "APPLICATIONINSIGHTS_CONNECTION_STRING": connection_string
        or f"InstrumentationKey={INSTRUMENTATION_KEY};IngestionEndpoint={endpoint}",
        **QUIET_EXPORTER,
    }


def start_child(
    wait_for: str, endpoint: str, tmp_path: Path, connection_string: str | None = None
) -> subprocess.Popen[str]:
    return subprocess.Popen(  # noqa: S603 - the test's own interpreter and fixed code
        [sys.executable, "-c", CHILD, wait_for, endpoint],
        cwd=REPO_ROOT,
        env=child_environment(endpoint, tmp_path, connection_string),
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


def printed(stdout: str) -> dict[str, Any]:
    """What the child printed, one JSON object a line, merged."""
    merged: dict[str, Any] = {}
    for line in stdout.splitlines():
        merged |= json.loads(line)
    return merged


def traces(envelopes: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """The message telemetry's base data, in the order it was posted."""
    return [
        e["data"]["baseData"]
        for e in envelopes
        if e["name"] == "Microsoft.ApplicationInsights.Message"
        and e["data"]["baseType"] == "MessageData"
    ]


def test_each_audit_record_arrives_as_a_trace_with_its_fields_as_properties(
    ingestion: Ingestion, tmp_path: Path
) -> None:
    ingestion.release.clear()
    child = start_child("received", ingestion.endpoint, tmp_path)
    assert child.stdout is not None
    first = json.loads(child.stdout.readline())
    returned = json.loads(child.stdout.readline())
    # The first post is held until now: the app's calls returned before any send finished.
    assert returned == {"returned": True}
    wait_until(lambda: len(ingestion.received()) >= 1, "the first record reaches the stand-in")
    ingestion.release.set()
    stdout, stderr = child.communicate(timeout=30)
    assert child.returncode == 0, stderr
    assert not ingestion.held_too_long
    assert first == {"after_import": []}, "importing shared.audit loads no OpenTelemetry"
    assert printed(stdout)["after_records"], "the exporter was loaded for the first record"

    assert all(path.endswith("/v2.1/track") for path in ingestion.paths)
    received = ingestion.received()
    assert {e["iKey"] for e in received} == {INSTRUMENTATION_KEY}
    assert {e["tags"]["ai.cloud.role"] for e in received} == {SITE_NAME}
    sent = traces(received)
    assert [t["message"] for t in sent] == [
        "jo_bloggs (U0001) asked to flush 2 URL(s) in production: "
        "https://www.nhs.uk/a https://www.nhs.uk/b",
        "ann (U0ANN0001) clicked approve on inst-1",
        "The flush request of ann (U0ANN0001) ended as approved by ann (U0ANN0001)",
        "Flush of 2 URL(s) in production for U0001: HTTP 201 after 2 attempt(s)",
        "Flush of 2 URL(s) in production for U0001: no answer (timeout) after 3 attempt(s)",
    ]
    assert {t["severityLevel"] for t in sent} == {1}, "Information"
    what = {
        "requester_id": "U0001",
        "requester_name": "jo_bloggs",
        "environment": "production",
        "urls": "https://www.nhs.uk/a https://www.nhs.uk/b",
        "url_count": "2",
        "logger_name": "audit",
    }
    assert [t["properties"] for t in sent] == [
        {"audit_event": "flush_requested", "instance_id": "inst-1", **what,
         "needs_approval": "False"},
        {"audit_event": "decision_raised", "instance_id": "inst-1", "decider_id": "U0ANN0001",
         "decider_name": "ann", "action": "approve", "logger_name": "audit"},
        {"audit_event": "approval_ended", "instance_id": "inst-1", "requester_id": "U0ANN0001",
         "requester_name": "ann", "outcome": "approved", "decider_id": "U0ANN0001",
         "decider_name": "ann", "logger_name": "audit"},
        {"audit_event": "flushed", "instance_id": "inst-1", **what, "ok": "True",
         "attempts": "2", "status": "201"},
        {"audit_event": "flushed", "instance_id": "inst-2", **what, "ok": "False",
         "attempts": "3", "error": "timeout"},
    ]  # fmt: skip
    assert INSTRUMENTATION_KEY not in stdout + stderr
    assert "ann (U0ANN0001) clicked approve on inst-1" in stderr, "the host's copy still goes"


@pytest.mark.parametrize(
    ("status", "wait_for"),
    [(500, "received"), (206, "warned"), (None, "warned")],
    ids=["answers-500", "refuses-every-item", "closed"],
)
def test_an_ingestion_endpoint_that_fails_never_reaches_the_app_nor_logs_the_key(
    status: int | None, wait_for: str, tmp_path: Path
) -> None:
    with Ingestion(status or 200) as ingestion:
        endpoint = ingestion.endpoint
        if status is None:
            ingestion.__exit__()
        child = start_child(wait_for, endpoint, tmp_path)
        stdout, stderr = child.communicate(timeout=60)
    assert child.returncode == 0, stderr
    assert printed(stdout)["returned"] is True
    assert "Traceback" not in stderr
    # One post a record, none retried in line (a failed send waits on disk for a later one).
    assert len(ingestion.received()) == (0 if status is None else 5)
    assert INSTRUMENTATION_KEY not in stdout + stderr
    if status == 206:
        # The exporter logs each refused envelope whole: the key is taken out first.
        assert "Data drop 400" in stderr
        assert "'iKey': '<instrumentation key>'" in stderr
    if status is None:
        assert "Connection refused" in stderr


def test_a_connection_string_the_exporter_refuses_is_reported_once_and_never_quoted(
    ingestion: Ingestion, tmp_path: Path
) -> None:
    refused = f"IngestionEndpoint={ingestion.endpoint};Marker={uuid.uuid4()}"
    child = start_child("warned", ingestion.endpoint, tmp_path, connection_string=refused)
    stdout, stderr = child.communicate(timeout=60)
    assert child.returncode == 0, stderr
    assert printed(stdout)["returned"] is True
    reports = [line for line in stderr.splitlines() if line.startswith("ERROR:shared.audit_export")]
    assert reports == [
        "ERROR:shared.audit_export:Audit records will not be sent to Application Insights: "
        "ValueError"
    ]
    assert refused.split(";")[1] not in stdout + stderr
    assert ingestion.received() == []


def test_without_a_connection_string_nothing_is_installed() -> None:
    threads = threading.active_count()
    name = f"audit-{uuid.uuid4()}"
    assert audit_export.install(name, environ={"WEBSITE_SITE_NAME": SITE_NAME}) is None
    assert audit_export.install(name, environ={audit_export.CONNECTION_STRING: " "}) is None
    assert logging.getLogger(name).handlers == []
    assert threading.active_count() == threads


def test_installing_twice_puts_one_handler_on_the_logger(tmp_path: Path) -> None:
    probe = (
        "import json, logging, threading\n"
        "before = threading.active_count()\n"
        "from shared import audit, audit_export\n"
        "again = audit_export.install(audit.AUDIT_LOGGER)\n"
        "handlers = logging.getLogger(audit.AUDIT_LOGGER).handlers\n"
        "print(json.dumps({'handlers': len(handlers), 'same': handlers == [again],\n"
        "                  'threads': threading.active_count() - before}))\n"
    )
    result = subprocess.run(  # noqa: S603 - the test's own interpreter and fixed code
        [sys.executable, "-c", probe],
        cwd=REPO_ROOT,
        env=child_environment("http://127.0.0.1:9/", tmp_path),
        capture_output=True,
        text=True,
        check=True,
    )
    assert json.loads(result.stdout) == {"handlers": 1, "same": True, "threads": 1}


def test_the_redaction_takes_out_the_key_wherever_a_message_has_it() -> None:
    key = str(uuid.uuid4())
    connection_string = f"InstrumentationKey={key};IngestionEndpoint=https://x.example/"
    redact = audit_export.WithoutKey(connection_string)
    record = logging.makeLogRecord({"msg": "dropped %s (%s)", "args": ({"iKey": key}, "x")})
    assert redact.filter(record)
    assert record.getMessage() == "dropped {'iKey': '<instrumentation key>'} (x)"
    record = logging.makeLogRecord({"msg": "bad setting %s", "args": (connection_string,)})
    redact.filter(record)
    assert record.getMessage() == "bad setting <connection string>"
    record = logging.makeLogRecord({"msg": "sent %d", "args": (3,)})
    redact.filter(record)
    assert (record.msg, record.args) == ("sent %d", (3,))
    keyless = "IngestionEndpoint=https://x.example/"
    record = logging.makeLogRecord({"msg": f"bad setting {keyless}"})
    audit_export.WithoutKey(keyless).filter(record)
    assert record.getMessage() == "bad setting <connection string>"


def test_the_exporters_http_chatter_is_held_back_on_its_thread_only() -> None:
    """azure-core's HTTP log serves the app's other clients too: they keep their lines."""
    made: list[logging.Filter] = []
    maker = threading.Thread(target=lambda: made.append(audit_export._QuietOnThisThread()))
    maker.start()
    maker.join()
    [quiet] = made

    def record(level: int, thread: int | None) -> logging.LogRecord:
        line = logging.makeLogRecord({"levelno": level, "msg": "Request URL: ..."})
        line.thread = thread
        return line

    assert not quiet.filter(record(logging.INFO, maker.ident))
    assert quiet.filter(record(logging.WARNING, maker.ident))
    assert quiet.filter(record(logging.INFO, threading.get_ident()))
