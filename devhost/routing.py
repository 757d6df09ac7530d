"""HTTP-triggered functions: route templates, and the request handler that invokes them.

Routes follow the Functions host: ``/<routePrefix>/<route or folder name>``, matched without
regard to case, with ``{name}`` parameters (one path segment each; optional, catch-all and
constrained parameters are refused at start, see ``functions``). An unknown route answers 404,
a known route with another method 405.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from aiohttp import web
from multidict import CIMultiDict

from devhost.functions import DURABLE_CLIENT, RETURN_BINDING, ROUTE_PARAMETER, LoadedFunction
from devhost.invocation import (
    HTTP_REASON,
    HttpReply,
    Invoker,
    OutValue,
    build_http_request,
    durable_client_value,
    encode_http_response,
    user_traceback,
)

log = logging.getLogger("devhost")

_HOST_CONTROLLED_HEADERS = frozenset({"content-length", "transfer-encoding", "connection"})


def compile_route(template: str) -> re.Pattern[str]:
    """Compile a Functions route template into a case-insensitive full-match pattern."""
    pieces, position = [], 0
    path = "/".join(s for s in template.strip("/").split("/") if s)
    for match in ROUTE_PARAMETER.finditer(path):
        pieces.append(re.escape(path[position : match.start()]))
        pieces.append(f"(?P<{match.group(1)}>[^/]+)")
        position = match.end()
    pieces.append(re.escape(path[position:]))
    return re.compile("".join(pieces), re.IGNORECASE)


@dataclass(frozen=True)
class HttpRoute:
    """One HTTP-triggered function and its compiled route."""

    function: LoadedFunction
    template: str
    pattern: re.Pattern[str]
    methods: frozenset[str] | None

    def allows(self, method: str) -> bool:
        """Whether the function accepts ``method``."""
        return self.methods is None or method.upper() in self.methods


class HttpFunctions:
    """Dispatches requests under the route prefix to HTTP-triggered functions."""

    def __init__(
        self,
        functions: list[LoadedFunction],
        invoker: Invoker,
        client_binding: Callable[[], str],
        route_prefix: str,
    ) -> None:
        """Route to the HTTP-triggered ``functions``, literal routes before templated ones."""
        routes = [
            HttpRoute(
                function=f,
                template=f.spec.http_route,
                pattern=compile_route(f.spec.http_route),
                methods=f.spec.http_methods,
            )
            for f in functions
            if f.spec.kind == "httpTrigger"
        ]
        routes.sort(key=lambda r: "{" in r.template)
        self.routes = routes
        self._invoker = invoker
        self._client_binding = client_binding
        self._prefix = route_prefix.strip("/").lower()

    async def handle(self, request: web.Request) -> web.StreamResponse:
        """Answer one request: 404/405, or the function's response (500 if it fails)."""
        path = self._route_path(request.path)
        if path is None:
            return web.Response(status=404)
        candidates = []
        for route in self.routes:
            match = route.pattern.fullmatch(path)
            if match:
                params = {k: v for k, v in match.groupdict().items() if v is not None}
                candidates.append((route, params))
        if not candidates:
            return web.Response(status=404)
        allowed = [(r, p) for r, p in candidates if r.allows(request.method)]
        if not allowed:
            methods = sorted({m for r, _ in candidates for m in (r.methods or ())})
            return web.Response(status=405, headers={"Allow": ", ".join(methods)})
        route, route_params = allowed[0]
        return await self._invoke(route.function, request, route_params)

    def _route_path(self, request_path: str) -> str | None:
        """The path after the route prefix (compared without case), or ``None``."""
        path = request_path.strip("/")
        if not self._prefix:
            return path
        head, _, rest = path.partition("/")
        return rest.strip("/") if head.lower() == self._prefix else None

    async def _invoke(
        self, function: LoadedFunction, request: web.Request, route_params: dict[str, str]
    ) -> web.StreamResponse:
        body = await request.read()
        headers = {name: ", ".join(request.headers.getall(name)) for name in request.headers}
        params: dict[str, str] = {}
        for name, value in request.query.items():
            params.setdefault(name, value)
        http_request = build_http_request(
            method=request.method,
            url=str(request.url),
            headers=headers,
            params=params,
            route_params=route_params,
            body=body,
        )
        spec = function.spec
        arguments: dict[str, Any] = {spec.trigger.name: http_request}
        for name in spec.names_of(DURABLE_CLIENT):
            arguments[name] = durable_client_value(self._client_binding())
        output = spec.http_output
        out_value = OutValue() if output and output.name != RETURN_BINDING else None
        if output is not None and out_value is not None:
            arguments[output.name] = out_value

        def to_reply(result: Any) -> HttpReply:
            return encode_http_response(out_value.get() if out_value is not None else result)

        try:
            reply = await self._invoker.invoke(
                function, arguments, reason=HTTP_REASON, convert=to_reply
            )
        except Exception as exc:
            log.error(
                "Exception while executing function: Functions.%s\n%s",
                function.name,
                user_traceback(exc).rstrip(),
            )
            return web.Response(status=500)
        reply_headers = CIMultiDict(
            (name, value)
            for name, value in reply.headers
            if name.lower() not in _HOST_CONTROLLED_HEADERS
        )
        return web.Response(status=reply.status, body=reply.body or None, headers=reply_headers)
