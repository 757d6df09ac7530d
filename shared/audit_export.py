"""Audit records to Application Insights, each field a custom dimension.

The Functions Python worker forwards log records to the host as text and drops `extra`, so
the host's copy of an audit record is a sentence. When `APPLICATIONINSIGHTS_CONNECTION_STRING`
is set (Azure sets it), `install` gives the `audit` logger a second, structured path: a
`QueueHandler` puts each record on a queue, and a `QueueListener` thread sends it with Azure
Monitor's OpenTelemetry log exporter, its fields as the trace's custom dimensions.

The caller only pays for putting the record on the queue. OpenTelemetry and the exporter are
imported on the listener thread when the first record arrives, so a process that writes no
audit record (the slash command's) never loads them. The exporter reads
`APPLICATIONINSIGHTS_AUTHENTICATION_STRING` itself and then sends with the managed identity.
Without a connection string nothing is installed and no thread is started.
"""

from __future__ import annotations

import atexit
import logging
import os
import queue
import threading
from collections.abc import Mapping
from logging.handlers import QueueHandler, QueueListener
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from opentelemetry.sdk._logs import LoggerProvider

CONNECTION_STRING = "APPLICATIONINSIGHTS_CONNECTION_STRING"
SITE_NAME = "WEBSITE_SITE_NAME"
_EXPORTER_LOGGER = "azure.monitor.opentelemetry.exporter"
_AZURE_HTTP_LOGGER = "azure.core.pipeline.policies.http_logging_policy"
_SECRET_NAMES = ("<connection string>", "<instrumentation key>")

# What every log record has: anything else on a record came from `extra`.
_STANDARD_ATTRIBUTES = frozenset(
    {*vars(logging.makeLogRecord({})), "message", "asctime", "taskName"}
)

# Python's levels as OpenTelemetry's severities (Application Insights' severity levels).
_SEVERITIES = (
    (logging.CRITICAL, "FATAL"),
    (logging.ERROR, "ERROR"),
    (logging.WARNING, "WARN"),
    (logging.INFO, "INFO"),
)

_logger = logging.getLogger(__name__)
_lock = threading.Lock()
_installed: dict[str, QueueHandler] = {}


def fields(record: logging.LogRecord) -> dict[str, str | int | float | bool]:
    """The structured fields of a record (what `extra` added), those OpenTelemetry can carry."""
    return {
        key: value
        for key, value in vars(record).items()
        if key not in _STANDARD_ATTRIBUTES and isinstance(value, str | int | float | bool)
    }


def _build_provider(connection_string: str, site_name: str | None) -> LoggerProvider:
    """The OpenTelemetry pipeline: one provider, exporting each record as it comes.

    Imported here, on the listener's thread at the first record (see the module doc).
    """
    from azure.monitor.opentelemetry.exporter import AzureMonitorLogExporter  # noqa: PLC0415
    from opentelemetry.sdk._logs import LoggerProvider  # noqa: PLC0415
    from opentelemetry.sdk._logs.export import SimpleLogRecordProcessor  # noqa: PLC0415
    from opentelemetry.sdk.resources import SERVICE_NAME, Resource  # noqa: PLC0415

    # The exporter and azure-core's HTTP policy log every send at INFO, which would put one
    # or two host traces beside each record; their warnings (a send that failed) still go
    # through. azure-core's logger serves the app's other clients too, so only what it logs
    # on this thread, the exporter's, is held back.
    logging.getLogger(_EXPORTER_LOGGER).setLevel(logging.WARNING)
    logging.getLogger(_AZURE_HTTP_LOGGER).addFilter(_QuietOnThisThread())
    # Before the exporter is built: building it may log its storage path, which holds the key.
    redact = WithoutKey(connection_string)
    for name, logger in logging.root.manager.loggerDict.items():
        if name.startswith(_EXPORTER_LOGGER) and isinstance(logger, logging.Logger):
            logger.addFilter(redact)
    resource = Resource({SERVICE_NAME: site_name} if site_name else {})
    provider = LoggerProvider(resource=resource, shutdown_on_exit=False)
    # A send that fails goes to the exporter's own store on disk, to be sent again after a
    # later send succeeds; retrying in line as well would only hold up the queue.
    exporter = AzureMonitorLogExporter(connection_string=connection_string, retry_total=0)
    provider.add_log_record_processor(SimpleLogRecordProcessor(exporter))
    return provider


class _QuietOnThisThread(logging.Filter):
    """Drops what is below a warning when logged on the thread that made the filter."""

    def __init__(self) -> None:
        super().__init__()
        self._thread = threading.get_ident()

    def filter(self, record: logging.LogRecord) -> bool:
        """Keep warnings and worse, and anything logged on another thread."""
        return record.levelno >= logging.WARNING or record.thread != self._thread


def _instrumentation_key(connection_string: str) -> str | None:
    for part in connection_string.split(";"):
        name, _, value = part.partition("=")
        if name.strip().lower() == "instrumentationkey" and value.strip():
            return value.strip()
    return None


class WithoutKey(logging.Filter):
    """Takes the connection string and its instrumentation key out of a record's message.

    The exporter logs a refused envelope whole, instrumentation key included.
    """

    def __init__(self, connection_string: str) -> None:
        super().__init__()
        key = _instrumentation_key(connection_string)
        self._secrets = [connection_string, *([key] if key else [])]

    def filter(self, record: logging.LogRecord) -> bool:
        """Rewrite the message when it holds either; always let the record through."""
        message = record.getMessage()
        if any(secret in message for secret in self._secrets):
            for secret, name in zip(self._secrets, _SECRET_NAMES, strict=False):
                message = message.replace(secret, name)
            record.msg, record.args = message, None
        return True


class ApplicationInsightsHandler(logging.Handler):
    """Sends records to Application Insights; builds the exporter on the first one.

    It runs on the listener's thread. A failure to build the exporter is logged once, by
    exception type only (its text may quote the connection string), and the records after it
    are dropped; failures to send are the exporter's to log and retry.
    """

    def __init__(self, connection_string: str, site_name: str | None) -> None:
        super().__init__()
        self._connection_string = connection_string
        self._site_name = site_name
        self._provider: LoggerProvider | None = None
        self._broken = False

    def emit(self, record: logging.LogRecord) -> None:
        """Send one record: its message as the trace's message, its fields as properties."""
        if self._broken:
            return
        if self._provider is None:
            try:
                self._provider = _build_provider(self._connection_string, self._site_name)
            except Exception as error:  # the audit must never fail the app
                self._broken = True
                _logger.error(
                    "Audit records will not be sent to Application Insights: %s",
                    type(error).__name__,
                )
                return
        from opentelemetry._logs import SeverityNumber  # noqa: PLC0415 - loaded by now

        severity = next((name for level, name in _SEVERITIES if record.levelno >= level), "DEBUG")
        try:
            self._provider.get_logger(record.name).emit(
                timestamp=int(record.created * 1e9),
                severity_number=SeverityNumber[severity],
                severity_text=severity,
                body=record.getMessage(),
                attributes=fields(record),
            )
        except Exception:  # logging's own rule: report and carry on
            self.handleError(record)

    def close(self) -> None:
        """Send what the exporter still holds and release it."""
        provider, self._provider = self._provider, None
        if provider is not None:
            provider.shutdown()
        super().close()


def _stop(listener: QueueListener, handler: ApplicationInsightsHandler) -> None:
    """At exit: send the records still queued, then shut the exporter down."""
    listener.stop()
    handler.close()


def install(logger_name: str, environ: Mapping[str, str] = os.environ) -> QueueHandler | None:
    """Send `logger_name`'s records to Application Insights too, once per process.

    Returns the queue handler on the logger, or None when there is no connection string.
    """
    connection_string = environ.get(CONNECTION_STRING, "").strip()
    if not connection_string:
        return None
    with _lock:
        if logger_name not in _installed:
            records: queue.SimpleQueue[logging.LogRecord] = queue.SimpleQueue()
            handler = ApplicationInsightsHandler(connection_string, environ.get(SITE_NAME))
            listener = QueueListener(records, handler)
            listener.start()
            atexit.register(_stop, listener, handler)
            _installed[logger_name] = QueueHandler(records)
            logging.getLogger(logger_name).addHandler(_installed[logger_name])
        return _installed[logger_name]
