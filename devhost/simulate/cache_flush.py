"""A stand-in for the cache-flush function app (Akamai Fast Purge behind an Azure Function).

It answers as the real service does (doc/behaviour.md and README.md in this folder): the
function key is checked first (401 with no body, as the Functions host answers), then the
request body, then every URL, parsed with the WHATWG URL parser Node.js uses (ada) and
checked as the service checks it: the parser's `host`, which keeps a non-default port and a
trailing dot, must end with `nhs.uk` or be an extra host. Accepted requests get a 201 with
Akamai-like purge and support IDs, after a configurable delay; an Akamai error can be
queued, and is passed through with its status as the service does. Nothing is purged.
"""

from __future__ import annotations

import asyncio
import hmac
import json
import logging
import math
import re
import secrets
import time
import uuid
from collections.abc import Mapping, MutableMapping
from http import HTTPStatus
from typing import Any
from urllib.parse import parse_qs, urlsplit

from ada_url import URL
from aiohttp import web

from devhost.simulate.events import EventLog, utc_now_iso
from devhost.simulate.faults import MAX_DELAY_SECONDS, Fault, FaultQueue, drop_connection
from devhost.simulate.httputil import events_handler, fault_handlers, json_answer

log = logging.getLogger("devhost.simulate.cache_flush")

URL_SETTING = "CACHE_FLUSH_FUNCTION_APP_FULL_URL_WITH_PATH_AND_CODE"
# Seconds the simulated Akamai call takes before a request that passed validation is answered.
DELAY_SETTING = "CACHE_FLUSH_SIMULATOR_DELAY_SECONDS"
ENVIRONMENTS = ("staging", "production")
VALID_DOMAIN = "nhs.uk"
VALID_HOSTS = ("campaignresources.dhsc.gov.uk",)
ESTIMATED_SECONDS = 5
FAULT_KEYS = frozenset({"times", "status", "body", "delay", "drop", "non_json", "retry_after"})
AKAMAI_KEYS = frozenset({"times", "status", "body"})

MISSING_PROPERTIES = (
    "Request must contain a body with required properties: 'environment', 'objects'."
)
UNPARSEABLE = "Some URLs are invalid as they are not parseable into a valid URL."
OUTSIDE_DOMAIN = (
    f"Some URLs can not be flushed from cache as they are not for the domain '{VALID_DOMAIN}'."
)
CACHE_FLUSH_FAILED = "An error has occurred during cache flush."

# What JavaScript's String.prototype.trim removes: white space and line terminators.
JS_WHITESPACE = "\t\n\v\f\r \xa0\u1680\u2028\u2029\u202f\u205f\u3000\ufeff" + "".join(
    chr(code) for code in range(0x2000, 0x200B)
)
_LONE_SURROGATE = re.compile("[\ud800-\udfff]")

# An answer: (status, JSON body), where None is an empty body.
Answer = tuple[int, Any]


def url_host(url: str) -> str | None:
    """Return the WHATWG URL `host` of a URL as Node.js gives it, or None if it does not parse.

    The host is lower-cased and IDNA-encoded, and keeps a non-default port and a trailing dot.
    """
    # JavaScript strings cannot hold lone surrogates once converted for the parser: each
    # becomes U+FFFD, as in Node.js.
    try:
        return URL(_LONE_SURROGATE.sub("\ufffd", url)).host
    except ValueError:
        return None


def _js_truthy(value: Any) -> bool:
    if isinstance(value, bool | int | float):
        return bool(value) and not (isinstance(value, float) and math.isnan(value))
    return value is not None and value != ""


def _js_string(value: Any) -> str:
    """Return `String(value)` as JavaScript writes it, for the JSON values a body can hold."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, float) and value.is_integer() and abs(value) < 1e21:
        return str(int(value))
    if isinstance(value, list):
        return ",".join("" if item is None else _js_string(item) for item in value)
    if isinstance(value, dict):
        return "[object Object]"
    return str(value)


def check_request(payload: Any) -> tuple[Answer | None, list[str]]:
    """Validate a request body as cache-flush does.

    Return (the refusal, []) or (None, the trimmed, de-duplicated URLs to purge). A URL that
    is not a string makes the real service throw, which its host answers with a bare 500.
    """
    body = payload if isinstance(payload, dict) else {}
    environment = body.get("environment")
    objects = body.get("objects")
    if not _js_truthy(environment) or not isinstance(objects, list) or not objects:
        return (400, {"message": MISSING_PROPERTIES}), []
    if environment not in ENVIRONMENTS:
        return (
            400,
            {
                "message": f"'{_js_string(environment)}' is not a valid option for environment. "
                f"It must be one of: {', '.join(ENVIRONMENTS)}."
            },
        ), []
    if not all(isinstance(item, str) for item in objects):
        return (500, None), []
    urls = list(dict.fromkeys(item.strip(JS_WHITESPACE) for item in objects))
    hosts = {url: url_host(url) for url in urls}
    unparseable = [url for url, host in hosts.items() if host is None]
    if unparseable:
        return (400, {"message": UNPARSEABLE, "urls": unparseable}), []
    outside = [
        url
        for url, host in hosts.items()
        if host is not None and not host.endswith(VALID_DOMAIN) and host not in VALID_HOSTS
    ]
    if outside:
        return (403, {"message": OUTSIDE_DOMAIN, "urls": outside}), []
    return None, urls


def key_accepted(key: str | None, code: str | None, header: str | None) -> bool:
    """Whether a request with this `code` parameter and `x-functions-key` header may pass.

    `key` is the function key (`None`: no key needed); the `code` is looked at first.
    """
    if key is None:
        return True
    given = code or header or ""
    return hmac.compare_digest(given.encode(), key.encode())


def _support_id() -> str:
    return f"17SY{int(time.time() * 1000)}{secrets.randbelow(10**6):06d}-{secrets.randbelow(10**9)}"


def accepted(urls: list[str]) -> Answer:
    """Akamai's 201 for a purge request, with the URLs added as cache-flush adds them."""
    return 201, {
        "detail": "Request accepted",
        "estimatedSeconds": ESTIMATED_SECONDS,
        "httpStatus": 201,
        "purgeId": str(uuid.uuid4()),
        "supportId": _support_id(),
        "urls": urls,
    }


RATE_LIMIT_DESCRIBED_BY = (
    "https://developer.akamai.com/api/core_features/fast_purge/v3.html#httpcodes"
)
# Akamai problem documents (title, detail) by status, as the Fast Purge API answers.
_AKAMAI_PROBLEMS = {
    400: ("Bad request", "The purge request could not be read."),
    401: ("Not authorized", "The credentials are not valid for this API."),
    403: ("unauthorized arl", "{url} is not authorized"),
    413: ("Request entity too large", "The request body is too large."),
    500: ("Internal server error", "An internal error occurred."),
    503: ("Service unavailable", "The purge service is unavailable."),
}


def akamai_error(status: int, urls: list[str], body: Any = None) -> Answer:
    """An Akamai error answer, passed through by cache-flush with its status and the URLs.

    `body` (a JSON object) replaces Akamai's usual problem document for the status.
    """
    if isinstance(body, Mapping):
        return status, {**body, "urls": urls}
    if status == HTTPStatus.TOO_MANY_REQUESTS:
        # Akamai's rate-limit answer has no detail, only the bucket's state; its
        # X-Ratelimit-* headers are not passed on by cache-flush.
        problem: dict[str, Any] = {
            "supportId": _support_id(),
            "title": "Rate Limit exceeded",
            "httpStatus": status,
            "describedBy": RATE_LIMIT_DESCRIBED_BY,
            "rateLimit": 100,
            "rateLimitCurrentRequestSize": 1,
            "rateLimitRemaining": 0,
        }
        return status, {**problem, "urls": urls}
    title, detail = _AKAMAI_PROBLEMS.get(status, ("Error", "The purge request failed."))
    problem = {
        "supportId": _support_id(),
        "title": title,
        "httpStatus": status,
        "detail": detail.format(url=urls[0] if urls else ""),
        "describedBy": "https://api.ccu.akamai.com/ccu/v2/errors/"
        + title.lower().replace(" ", "-"),
    }
    return status, {**problem, "urls": urls}


def evaluate(payload: Any) -> Answer:
    """Return the (status, body) the cache-flush service answers to a request body.

    This is the answer when Akamai accepts the purge; the simulator can also answer with
    an Akamai error (see `akamai_error`).
    """
    refusal, urls = check_request(payload)
    return refusal or accepted(urls)


def response_delay(environ: Mapping[str, str]) -> float:
    """The configured delay before a valid request is answered, in seconds (default 0)."""
    text = environ.get(DELAY_SETTING, "").strip()
    try:
        seconds = float(text) if text else 0.0
    except ValueError:
        seconds = math.nan
    if not 0 <= seconds <= MAX_DELAY_SECONDS:
        raise ValueError(
            f"{DELAY_SETTING} must be a number of seconds from 0 to {MAX_DELAY_SECONDS:g}"
        )
    return seconds


def _fault_answer(fault: Fault) -> tuple[int, Any, bool]:
    """Return the (status, body, is_json) a fault answers with instead of the simulator.

    A fault with only `retry_after` is a 429, as a throttling front end answers.
    """
    status = fault.status or (429 if fault.retry_after is not None else 500)
    if fault.non_json:
        return status, f"<html><body><h1>{status}</h1><p>Simulated failure</p></body></html>", False
    if fault.body is not None:
        return status, fault.body, True
    if status == 500:
        return (
            status,
            {
                "message": CACHE_FLUSH_FAILED,
                "error": {"message": "simulated fault", "name": "SimulatedError"},
            },
            True,
        )
    return status, {"message": f"Simulated failure ({status})."}, True


class CacheFlushSimulator:
    """The cache-flush endpoint with its call records and injectable faults; loop-confined."""

    def __init__(self, environ: MutableMapping[str, str], events: EventLog) -> None:
        """Create the simulator; the function key is read from `environ`'s cache-flush URL.

        The delay before a valid request is answered comes from `environ` too (DELAY_SETTING);
        raise ValueError if it is not a number of seconds in range.
        """
        self._environ = environ
        self._events = events
        self._delay = response_delay(environ)
        self._faults = FaultQueue()
        self._akamai = FaultQueue()
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
        add_error, clear_errors, list_errors = fault_handlers(self._akamai, AKAMAI_KEYS)
        app.router.add_get("/sim/cache-flush/akamai-errors", list_errors)
        app.router.add_post("/sim/cache-flush/akamai-errors", add_error)
        app.router.add_delete("/sim/cache-flush/akamai-errors", clear_errors)

    def reset(self) -> None:
        """Forget calls, faults, queued Akamai errors and the cache-flush events."""
        self._calls.clear()
        self._faults.clear()
        self._akamai.clear()
        self._events.forget("cache-flush")

    def _key(self) -> str | None:
        query = urlsplit(self._environ.get(URL_SETTING, "")).query
        codes = parse_qs(query).get("code")
        return codes[0] if codes else None

    def _authorized(self, request: web.Request) -> bool:
        return key_accepted(
            self._key(), request.query.get("code"), request.headers.get("x-functions-key")
        )

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
            answer = (
                json_answer(body, status=status)
                if is_json
                else web.Response(status=status, text=body, content_type="text/html")
            )
            if fault.retry_after is not None:
                answer.headers["Retry-After"] = f"{fault.retry_after:.0f}"
            return answer
        status, body = await self._answer(payload, record)
        self._record(record, {"status": status, "body": body})
        if body is None:
            return web.Response(status=status)
        return json_answer(body, status=status)

    async def _answer(self, payload: Any, record: dict[str, Any]) -> Answer:
        """Validate as cache-flush does; for a valid request, "call Akamai" and pass its answer."""
        refusal, urls = check_request(payload)
        if refusal is not None:
            return refusal
        await asyncio.sleep(self._delay)
        error = self._akamai.take()
        if error is None:
            return accepted(urls)
        record["akamai_error"] = error.describe()
        status = error.status or _status_in(error.body) or 403
        return akamai_error(status, urls, error.body)

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


def _status_in(body: Any) -> int | None:
    status = body.get("httpStatus") if isinstance(body, Mapping) else None
    return status if isinstance(status, int) and 100 <= status <= 599 else None


def _json_or_none(text: str) -> Any:
    try:
        return json.loads(text)
    except ValueError:
        return None
