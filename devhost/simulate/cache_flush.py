"""A stand-in for the cache-flush function app (Akamai Fast Purge behind an Azure Function).

It answers as the real service does (SPEC section 8): the function key is
checked first (401 with no body, as the Functions host answers), then the
request body, then every URL; accepted requests get a 201 with Akamai-like
purge and support IDs. Nothing is purged, obviously.
"""

from __future__ import annotations

import asyncio
import hmac
import json
import logging
import re
import secrets
import time
import uuid
from collections.abc import MutableMapping
from typing import Any
from urllib.parse import parse_qs, urlsplit

from aiohttp import web

from devhost.simulate.events import EventLog, utc_now_iso
from devhost.simulate.faults import Fault, FaultQueue, drop_connection
from devhost.simulate.httputil import events_handler, fault_handlers, json_answer

log = logging.getLogger("devhost.simulate.cache_flush")

URL_SETTING = "CACHE_FLUSH_FUNCTION_APP_FULL_URL_WITH_PATH_AND_CODE"
ENVIRONMENTS = ("staging", "production")
ALLOWED_DOMAIN = "nhs.uk"
EXTRA_HOSTS = ("campaignresources.dhsc.gov.uk",)
ESTIMATED_SECONDS = 5
FAULT_KEYS = frozenset({"times", "status", "body", "delay", "drop", "non_json"})

_SCHEME = re.compile(r"^[A-Za-z][A-Za-z0-9+.-]*:")
_SPECIAL_SCHEMES = {"http": 80, "https": 443, "ws": 80, "wss": 443, "ftp": 21}
_FORBIDDEN_HOST_CHARACTERS = frozenset(" \t\n#%/:<>?@[\\]^|")

Answer = tuple[int, dict[str, Any]]


def url_host(url: str) -> str | None:
    """Return a URL's host name, lower-cased and without its port (SPEC section 8).

    None means the text is not parseable as an absolute URL.
    """
    if not _SCHEME.match(url):
        return None
    try:
        parts = urlsplit(url)
        parts.port  # noqa: B018 (raises ValueError for a malformed port)
    except ValueError:
        return None
    hostname = parts.hostname or ""
    scheme = parts.scheme.lower()
    if scheme in _SPECIAL_SCHEMES and (
        not hostname or _FORBIDDEN_HOST_CHARACTERS.intersection(hostname)
    ):
        return None
    return hostname


def evaluate(payload: Any) -> Answer:
    """Return the (status, body) the cache-flush service answers to a request body."""
    environment = payload.get("environment") if isinstance(payload, dict) else None
    objects = payload.get("objects") if isinstance(payload, dict) else None
    if not environment or not isinstance(objects, list) or not objects:
        return 400, {
            "message": "The request must include the properties 'environment' and 'objects'."
        }
    if environment not in ENVIRONMENTS:
        return 400, {
            "message": f"'{environment}' is not a valid environment; use one of: "
            + ", ".join(ENVIRONMENTS)
            + "."
        }
    hosts: dict[str, str | None] = {}
    for item in objects:
        if item:
            text = item.strip() if isinstance(item, str) else json.dumps(item)
            hosts.setdefault(text, url_host(text) if isinstance(item, str) else None)
    if not hosts:
        return 400, {"message": "There are no URLs to flush.", "urls": []}
    unparseable = [url for url, host in hosts.items() if host is None]
    if unparseable:
        return 400, {"message": "Some URLs could not be parsed as URLs.", "urls": unparseable}
    outside = [
        url
        for url, host in hosts.items()
        if host is not None and not host.endswith(ALLOWED_DOMAIN) and host not in EXTRA_HOSTS
    ]
    if outside:
        return 403, {
            "message": f"Some URLs are not in the domain '{ALLOWED_DOMAIN}' and cannot be flushed.",
            "urls": outside,
        }
    return 201, {
        "detail": "Request accepted",
        "estimatedSeconds": ESTIMATED_SECONDS,
        "httpStatus": 201,
        "purgeId": str(uuid.uuid4()),
        "supportId": f"17SY{int(time.time() * 1000)}{secrets.randbelow(10**6):06d}"
        f"-{secrets.randbelow(10**9)}",
        "urls": list(hosts),
    }


def _fault_answer(fault: Fault) -> tuple[int, Any, bool]:
    """Return the (status, body, is_json) a fault answers with instead of the simulator."""
    status = fault.status or 500
    if fault.non_json:
        return status, f"<html><body><h1>{status}</h1><p>Simulated failure</p></body></html>", False
    if fault.body is not None:
        return status, fault.body, True
    if status == 500:
        return (
            status,
            {
                "message": "Simulated failure while calling Akamai.",
                "error": {"message": "simulated fault", "name": "SimulatedError"},
            },
            True,
        )
    return status, {"message": f"Simulated failure ({status})."}, True


class CacheFlushSimulator:
    """The cache-flush endpoint with its call records and injectable faults; loop-confined."""

    def __init__(self, environ: MutableMapping[str, str], events: EventLog) -> None:
        """Create the simulator; the function key is read from `environ`'s cache-flush URL."""
        self._environ = environ
        self._events = events
        self._faults = FaultQueue()
        self._calls: list[dict[str, Any]] = []

    def register(self, app: web.Application) -> None:
        """Add the `/sim/cache-flush…` routes to `app`."""
        add_fault, clear_faults, list_faults = fault_handlers(self._faults, FAULT_KEYS)
        app.router.add_post("/sim/cache-flush", self._flush)
        app.router.add_get("/sim/cache-flush/calls", self._list_calls)
        app.router.add_get("/sim/cache-flush/events", events_handler(self._events, "cache-flush"))
        app.router.add_post("/sim/cache-flush/reset", self._reset)
        app.router.add_get("/sim/cache-flush/faults", list_faults)
        app.router.add_post("/sim/cache-flush/faults", add_fault)
        app.router.add_delete("/sim/cache-flush/faults", clear_faults)

    def reset(self) -> None:
        """Forget calls, faults and the cache-flush events."""
        self._calls.clear()
        self._faults.clear()
        self._events.forget("cache-flush")

    def _key(self) -> str | None:
        query = urlsplit(self._environ.get(URL_SETTING, "")).query
        codes = parse_qs(query).get("code")
        return codes[0] if codes else None

    def _authorized(self, request: web.Request) -> bool:
        key = self._key()
        if key is None:
            return True
        given = request.query.get("code") or request.headers.get("x-functions-key") or ""
        return hmac.compare_digest(given.encode(), key.encode())

    async def _flush(self, request: web.Request) -> web.StreamResponse:
        record: dict[str, Any] = {"time": utc_now_iso()}
        if not self._authorized(request):
            self._record(record, {"status": 401})
            return web.Response(status=401)
        payload = _json_or_none(await request.text())
        if isinstance(payload, dict):
            record |= {"environment": payload.get("environment"), "objects": payload.get("objects")}
        else:
            record["body_error"] = "the body is not a JSON object"
        fault = self._faults.take()
        if fault is not None:
            record["fault"] = fault.describe()
            await asyncio.sleep(fault.delay)
        if fault is not None and fault.replaces_answer:
            if fault.drop:
                self._record(record, {"status": None, "dropped": True})
                return drop_connection(request)
            status, body, is_json = _fault_answer(fault)
            self._record(record, {"status": status, "body": body})
            if is_json:
                return json_answer(body, status=status)
            return web.Response(status=status, text=body, content_type="text/html")
        status, body = evaluate(payload)
        self._record(record, {"status": status, "body": body})
        return json_answer(body, status=status)

    def _record(self, record: dict[str, Any], answer: dict[str, Any]) -> None:
        record["answer"] = answer
        record["seq"] = self._events.add("cache-flush", "flush", record)
        self._calls.append(record)
        log.info(
            "cache-flush simulator: %s answered %s", record.get("environment"), answer["status"]
        )

    async def _list_calls(self, _request: web.Request) -> web.StreamResponse:
        return json_answer({"calls": self._calls})

    async def _reset(self, _request: web.Request) -> web.StreamResponse:
        self.reset()
        return json_answer({"reset": True})


def _json_or_none(text: str) -> Any:
    try:
        return json.loads(text)
    except ValueError:
        return None
