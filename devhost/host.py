"""The host: binds the port, loads the functions, serves HTTP and runs the durable engine.

Use it in-process (one long-lived event loop)::

    host = create_host(app_root, state_dir, port=0)
    await host.start()      # raises StartupError with a one-line reason
    ...                     # host.base_url, e.g. http://127.0.0.1:54321
    await host.stop()

or as a process: ``python -m devhost`` (see ``devhost.cli``).
"""

from __future__ import annotations

import contextlib
import fcntl
import ipaddress
import logging
import os
import socket
from collections.abc import MutableMapping
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import IO

from aiohttp import web
from azure.durable_functions.models.utils import http_utils

from devhost.config import (
    HostConfig,
    StartupError,
    TimerLimits,
    load_host_config,
    load_local_settings,
    resolve_timer_limits,
)
from devhost.engine import DurableEngine
from devhost.functions import LoadedFunction, import_function, scan_functions
from devhost.invocation import Invoker
from devhost.management import DurableUrls, ManagementApi
from devhost.routing import HttpFunctions
from devhost.store import Store
from devhost.timers import TimerFunctions

DEFAULT_HOST = "127.0.0.1"
DEFAULT_PORT = 7071
DEFAULT_STATE_DIR = ".devhost"
_MAX_REQUEST_BYTES = 16 * 1024 * 1024
_SHUTDOWN_TIMEOUT_SECONDS = 2.0
_THREADS = 32
# The lock file in the state directory, held while a devhost uses that directory.
LOCK_FILE = "devhost.lock"

log = logging.getLogger("devhost")


def _url_host(host: str) -> str:
    """The host part of a URL that reaches ``host`` (loopback for a wildcard address)."""
    ipv6 = ":" in host
    try:
        wildcard = not host or ipaddress.ip_address(host).is_unspecified
    except ValueError:
        wildcard = False
    if wildcard:
        return "[::1]" if ipv6 else "127.0.0.1"
    return f"[{host}]" if ipv6 else host


class DevHost:
    """A local Functions host for one app. Not a production server."""

    def __init__(
        self,
        app_root: Path | str,
        state_dir: Path | str = DEFAULT_STATE_DIR,
        *,
        host: str = DEFAULT_HOST,
        port: int = DEFAULT_PORT,
        simulate: bool = False,
        environ: MutableMapping[str, str] | None = None,
        timer_limits: TimerLimits | None = None,
    ) -> None:
        """Prepare a host; nothing happens until :meth:`start`.

        ``timer_limits`` default to the ``DEVHOST_MAX_SHORT_TIMER`` and
        ``DEVHOST_LONG_TIMER_INTERVAL`` settings, else to Azure Storage's 6 and 3 days.
        """
        self.app_root = Path(app_root).resolve()
        self.state_dir = Path(state_dir)
        self.host = host
        self.port = port
        self.simulate = simulate
        self.environ: MutableMapping[str, str] = os.environ if environ is None else environ
        self.config = HostConfig()
        self.functions: list[LoadedFunction] = []
        self.settings_applied: list[str] = []
        self._timer_limits = timer_limits
        self.timer_limits = timer_limits or TimerLimits()
        self._executor: ThreadPoolExecutor | None = None
        self._invoker: Invoker | None = None
        self._store: Store | None = None
        self._engine: DurableEngine | None = None
        self._runner: web.AppRunner | None = None
        self._lock: IO[str] | None = None
        self._socket: socket.socket | None = None
        self._http: HttpFunctions | None = None
        self._timers: TimerFunctions | None = None

    @property
    def base_url(self) -> str:
        """The URL the host serves on (with the real port once started)."""
        return f"http://{_url_host(self.host)}:{self.port}"

    @property
    def busy_threads(self) -> int:
        """Function calls still running on the thread pool (e.g. a slow activity)."""
        return self._invoker.busy if self._invoker is not None else 0

    async def start(self) -> None:
        """Load settings and functions, bind, serve, and resume unfinished orchestrations."""
        try:
            await self._start()
        except BaseException:
            await self.stop()
            raise

    async def _start(self) -> None:
        self.config = load_host_config(self.app_root)
        self.settings_applied = load_local_settings(self.app_root, self.environ)
        self.timer_limits = self._timer_limits or resolve_timer_limits(self.environ)
        specs = scan_functions(self.app_root, self.config)
        self._lock_state_dir()
        self._store = Store(self.state_dir)
        sock = self._bind()

        app = web.Application(client_max_size=_MAX_REQUEST_BYTES)
        if self.simulate:
            from devhost.simulate import Simulators  # noqa: PLC0415 - only with --simulate

            Simulators(self.base_url, self.environ).register(app)
        self.functions = [import_function(self.app_root, spec) for spec in specs]

        urls = DurableUrls(self.base_url, self.config.hub_name)
        self._executor = ThreadPoolExecutor(max_workers=_THREADS, thread_name_prefix="devhost")
        self._invoker = Invoker(self._executor)
        self._engine = DurableEngine(
            self._store,
            self._invoker,
            self.functions,
            urls.client_binding,
            self.config.overridable_existing_instance_states,
            timer_limits=self.timer_limits,
        )
        ManagementApi(self._engine, self._store, urls).register(app)
        self._timers = TimerFunctions(
            self.functions, self._invoker, self._store, urls.client_binding, self.environ
        )
        app.router.add_post("/admin/functions/{name}", self._admin_run)
        self._http = HttpFunctions(
            self.functions, self._invoker, urls.client_binding, self.config.route_prefix
        )
        app.router.add_route("*", "/{path:.*}", self._http.handle)

        self._runner = web.AppRunner(
            app, access_log=None, shutdown_timeout=_SHUTDOWN_TIMEOUT_SECONDS
        )
        await self._runner.setup()
        await web.SockSite(self._runner, sock).start()
        resumed = self._engine.resume()
        if resumed:
            log.info("Resumed %d orchestration instance(s) from %s", resumed, self.state_dir)
        self._timers.start()

    async def _admin_run(self, request: web.Request) -> web.Response:
        """``POST /admin/functions/{name}``: run a timer function now (202).

        As the host's admin API (body ``{"input": ""}``, ignored for a timer); 404 for an
        unknown function, 400 for one devhost does not run this way.
        """
        name = request.match_info["name"]
        known = {f.name.lower(): f.name for f in self.functions}
        function_name = known.get(name.lower())
        if function_name is None:
            return web.Response(status=404)
        if self._timers is None or function_name not in self._timers:
            return web.json_response(
                {"Message": f"devhost runs only timer functions this way, not '{function_name}'"},
                status=400,
            )
        self._timers.run_now(function_name)
        return web.Response(status=202)

    def _lock_state_dir(self) -> None:
        try:
            self.state_dir.mkdir(parents=True, exist_ok=True)
            lock = (self.state_dir / LOCK_FILE).open("a", encoding="utf-8")
        except OSError as exc:
            raise StartupError(
                f"cannot use state directory {str(self.state_dir)!r}: {exc}"
            ) from None
        try:
            fcntl.flock(lock, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError:
            lock.close()
            raise StartupError(
                f"state directory {str(self.state_dir)!r} is in use by another devhost"
            ) from None
        self._lock = lock

    def _bind(self) -> socket.socket:
        family = socket.AF_INET6 if ":" in self.host else socket.AF_INET
        try:
            sock = socket.create_server((self.host, self.port), family=family, backlog=128)
        except OSError as exc:
            raise StartupError(f"cannot listen on {self.host}:{self.port}: {exc}") from None
        self._socket = sock
        self.port = sock.getsockname()[1]
        return sock

    def describe(self) -> list[str]:
        """Lines listing the functions and their triggers, for the startup banner."""
        lines = []
        routes = {r.function.name: r for r in self._http.routes} if self._http else {}
        for function in self.functions:
            route = routes.get(function.name)
            if self._timers is not None and function.name in self._timers:
                lines.append(
                    f"{function.name}: timerTrigger {self._timers.describe(function.name)}"
                )
                continue
            if route is None:
                lines.append(f"{function.name}: {function.spec.kind}")
                continue
            methods = ",".join(sorted(route.methods)) if route.methods else "ANY"
            prefix = f"/{self.config.route_prefix}" if self.config.route_prefix else ""
            lines.append(f"{function.name}: [{methods}] {self.base_url}{prefix}/{route.template}")
        return lines

    async def stop(self) -> None:
        """Stop serving and running work; safe to call more than once."""
        if self._runner is not None:
            await self._runner.cleanup()
            self._runner = None
        elif self._socket is not None:
            self._socket.close()
        self._socket = None
        if self._timers is not None:
            await self._timers.close()
            self._timers = None
        if self._engine is not None:
            await self._engine.close()
            self._engine = None
            await _close_durable_client_session()
        if self._executor is not None:
            self._executor.shutdown(wait=False, cancel_futures=True)
            self._executor = None
        if self._store is not None:
            self._store.close()
            self._store = None
        if self._lock is not None:
            with contextlib.suppress(OSError):
                fcntl.flock(self._lock, fcntl.LOCK_UN)
            self._lock.close()
            self._lock = None


async def _close_durable_client_session() -> None:
    """Close the HTTP session the durable client SDK keeps, so nothing leaks at exit."""
    close = getattr(http_utils, "_close_session", None)
    if close is not None:
        await close()


# The name the module's docstring and the CLI make a host by.
create_host = DevHost
