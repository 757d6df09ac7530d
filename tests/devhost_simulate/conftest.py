"""A real aiohttp server on 127.0.0.1 running the simulators next to a small signed-request app."""

from __future__ import annotations

import asyncio
import json
import socket
import threading
from collections.abc import Awaitable, Callable, Iterator
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import parse_qsl

import pytest
import requests
from aiohttp import web
from slack_sdk.signature import SignatureVerifier

from devhost.simulate import Simulators
from devhost.simulate.client import DevhostClient
from shared.views import form_view
from tests.support.clock import FakeClock

# The app's request form, prefilled, with metadata the simulator must hand back unchanged.
FORM_VIEW: dict[str, Any] = {
    **form_view("https://www.nhs.uk/initial", ("nhs.uk",), ()),
    "private_metadata": '{"channel": "C1"}',
}


def simple_view(title: str = "Checking", **extra: Any) -> dict[str, Any]:
    """Return a minimal valid modal."""
    return {
        "type": "modal",
        "title": {"type": "plain_text", "text": title},
        "close": {"type": "plain_text", "text": "Close"},
        "blocks": [{"type": "section", "text": {"type": "mrkdwn", "text": f"{title} …"}}],
        **extra,
    }


@dataclass
class Received:
    """One request the fake app got from the simulated Slack."""

    path: str
    headers: dict[str, str]
    body: str
    signature_ok: bool

    @property
    def form(self) -> dict[str, str]:
        return dict(parse_qsl(self.body, keep_blank_values=True))

    @property
    def form_pairs(self) -> list[tuple[str, str]]:
        return parse_qsl(self.body, keep_blank_values=True)

    @property
    def json(self) -> dict[str, Any]:
        return json.loads(self.body)

    @property
    def payload(self) -> dict[str, Any]:
        return json.loads(self.form["payload"])

    def interaction(self, kind: str, user_id: str, user_name: str) -> dict[str, Any]:
        """The payload of a signed interaction of type ``kind`` from the named user, checked."""
        assert self.path == "/api/orchestrator-client"
        assert self.signature_ok
        assert list(self.form) == ["payload"]
        payload = self.payload
        assert payload["type"] == kind
        assert payload["user"] == {
            "id": user_id,
            "username": user_name,
            "name": user_name,
            "team_id": payload["team"]["id"],
        }
        return payload


Answer = tuple[int, str]


@dataclass
class FakeApp:
    """Stands in for the Functions app: checks Slack signatures, records, answers as scripted."""

    environ: dict[str, str]
    received: list[Received] = field(default_factory=list)
    answers: dict[str, list[Answer]] = field(default_factory=dict)
    hook: Callable[[Received], Awaitable[None]] | None = None

    def reset(self) -> None:
        self.received.clear()
        self.answers.clear()
        self.hook = None

    def answer_next(self, path: str, status: int, body: Any = "") -> None:
        text = body if isinstance(body, str) else json.dumps(body)
        self.answers.setdefault(path, []).append((status, text))

    async def handle(self, request: web.Request) -> web.StreamResponse:
        body = await request.text()
        verifier = SignatureVerifier(self.environ["SLACK_SIGNING_SECRET"])
        ok = verifier.is_valid_request(body, dict(request.headers))
        received = Received(request.path, dict(request.headers), body, ok)
        self.received.append(received)
        if not ok:
            return web.Response(status=401, text="invalid signature")
        if self.hook is not None:
            await self.hook(received)
        queued = self.answers.get(request.path) or []
        status, text = queued.pop(0) if queued else (200, "")
        content_type = "application/json" if text.startswith("{") else "text/plain"
        return web.Response(status=status, text=text, content_type=content_type)


@dataclass
class SimServer:
    """The running server and handles on its parts; ``client`` drives it over HTTP."""

    base_url: str
    environ: dict[str, str]
    clock: FakeClock
    app: FakeApp
    sims: Simulators
    loop: asyncio.AbstractEventLoop
    client: DevhostClient

    @property
    def token(self) -> str:
        return self.environ["SLACK_BOT_USER_OAUTH_ACCESS_TOKEN"]

    @property
    def http(self) -> requests.Session:
        """The client's session, for requests to full URLs."""
        return self.client.session

    @property
    def flush_url(self) -> str:
        return self.environ["CACHE_FLUSH_FUNCTION_APP_FULL_URL_WITH_PATH_AND_CODE"]

    def post(self, path: str, body: Any = None, **kwargs: Any) -> requests.Response:
        return self.client.send("POST", path, json=body, **kwargs)

    def get(self, path: str, **kwargs: Any) -> requests.Response:
        return self.client.send("GET", path, **kwargs)

    def api(self, method: str, body: Any = None, token: str | None = "") -> Any:
        """Call a Web API method with a JSON body; `token=""` means the right token."""
        return self.client.web_api(method, body, token=self.token if token == "" else token)

    def command(self, user_id: str = "U0TESTUSR1", **extra: Any) -> dict[str, Any]:
        return self.client.command(user_id, **extra)

    def open_view(self, view: dict[str, Any], user_id: str = "U0TESTUSR1") -> dict[str, Any]:
        trigger_id = self.command(user_id)["trigger_id"]
        answer = self.api("views.open", {"trigger_id": trigger_id, "view": view})
        assert answer["ok"], answer
        return answer["view"]

    def views(self, user_id: str = "U0TESTUSR1") -> list[dict[str, Any]]:
        return self.client.views(user_id)


@pytest.fixture(scope="session")
def sim_server() -> Iterator[SimServer]:
    environ: dict[str, str] = {}
    clock = FakeClock()
    fake_app = FakeApp(environ)
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind(("127.0.0.1", 0))
    base_url = f"http://127.0.0.1:{sock.getsockname()[1]}"
    sims = Simulators(base_url, environ, clock=clock)
    app = web.Application()
    sims.register(app)
    app.router.add_post("/api/slash-start", fake_app.handle)
    app.router.add_post("/api/orchestrator-client", fake_app.handle)
    app.router.add_post("/api/slack-events", fake_app.handle)

    loop = asyncio.new_event_loop()
    runner = web.AppRunner(app, access_log=None)
    loop.run_until_complete(runner.setup())
    loop.run_until_complete(web.SockSite(runner, sock).start())
    thread = threading.Thread(target=loop.run_forever, daemon=True)
    thread.start()
    client = DevhostClient(base_url, timeout=10)
    yield SimServer(base_url, environ, clock, fake_app, sims, loop, client)
    client.close()
    asyncio.run_coroutine_threadsafe(runner.cleanup(), loop).result(timeout=10)
    loop.call_soon_threadsafe(loop.stop)
    thread.join(timeout=10)
    loop.close()


@pytest.fixture
def server(sim_server: SimServer) -> SimServer:
    """The shared server, with every simulator and the fake app reset before each test."""
    sim_server.client.reset()
    sim_server.app.reset()
    return sim_server
