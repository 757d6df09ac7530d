"""Fixtures for the demo page's browser tests: Azurite, `devhost --simulate`, headless Chromium.

The browser is Debian's Chromium at /usr/bin/chromium (no browser download). Without it the
browser tests are skipped with a loud reason; `make test` installs it when it can.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
from playwright.sync_api import (
    Browser,
    ConsoleMessage,
    Dialog,
    Locator,
    Page,
    expect,
    sync_playwright,
)

from devhost.process import free_port
from devhost.simulate.client import DEADLINE_SECONDS, DevhostClient
from devhost.simulate.demo_users import ALLOWED_DEMO_USER, DEMO_USERGROUP, demo_allowed_users_csv
from devhost.simulate.settings import (
    ALLOWED_USERS_BLOB,
    APPROVALS_CHANNEL_NAME,
    LocalSecrets,
    local_app_settings,
)
from shared import settings
from tests.devhost.toolkit import REPO_ROOT, start_devhost, wait_client
from tests.support.azurite import Azurite, delete_container, upload_allowed_users

CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-proxy-server",
]
SKIP_REASON = (
    "BROWSER TESTS SKIPPED: /usr/bin/chromium is missing. Install Debian's chromium "
    "(`apt-get install chromium`, which `make test` does when run as root) to run them."
)
ARTIFACTS = REPO_ROOT / "test-artifacts" / "browser"
KNOWN_SECRETS = LocalSecrets.recognisable("browser-tests")
VIEWPORT = {"width": 1400, "height": 860}
TIMEOUT_MS = 10_000
# The settings `make run` adds: approvals on for production, the demo user group may flush.
APPROVALS = {
    settings.APPROVAL_REQUIRED_ENVIRONMENTS: "production",
    settings.APPROVAL_CHANNEL: APPROVALS_CHANNEL_NAME,
    settings.ALLOWED_USERGROUPS: DEMO_USERGROUP,
}

expect.set_options(timeout=TIMEOUT_MS)


@dataclass
class DemoHost:
    """A running `devhost --simulate` serving the app and the demo page."""

    base_url: str
    client: DevhostClient

    @property
    def page_url(self) -> str:
        return f"{self.base_url}/sim/slack/"

    def get_json(self, path: str) -> Any:
        return self.client.get(path)

    def post_json(self, path: str, body: Any = None) -> Any:
        return self.client.post(path, body)

    def flush_calls(self) -> list[dict[str, Any]]:
        return self.client.flush_calls()

    def slack_api(self, method: str, body: dict[str, Any]) -> dict[str, Any]:
        """Call the Slack Web API simulator as the app's bot would."""
        answer = self.client.web_api(method, body, token=KNOWN_SECRETS.bot_token)
        assert answer["ok"], answer
        return answer


@pytest.fixture(scope="module")
def demo_host(azurite: Azurite, tmp_path_factory: pytest.TempPathFactory) -> Iterator[DemoHost]:
    """devhost with the simulators, the real app, and an allowed-users list naming demo_user."""
    user_id, user_name = ALLOWED_DEMO_USER
    csv = f"member_id,name\n{user_id},{user_name}\n"
    yield from serve_demo(azurite, tmp_path_factory, csv)


@pytest.fixture(scope="module")
def approvals_host(
    azurite: Azurite, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[DemoHost]:
    """devhost as `make run` starts it: approvals on for production, the demo approver listed."""
    yield from serve_demo(azurite, tmp_path_factory, demo_allowed_users_csv(), APPROVALS)


def serve_demo(
    azurite: Azurite,
    tmp_path_factory: pytest.TempPathFactory,
    csv: str,
    overrides: Mapping[str, str] | None = None,
) -> Iterator[DemoHost]:
    """Run devhost with the simulators and the real app, with `csv` as the allowed-users list.

    Every setting is given explicitly (the port is chosen first so that the Slack and
    cache-flush URLs can point at it), so a developer's local.settings.json cannot redirect
    the app anywhere else; `overrides` are extra app settings.
    """
    container = f"demo-{uuid.uuid4().hex[:16]}"
    upload_allowed_users(azurite.connection_string, container, ALLOWED_USERS_BLOB, csv)
    port = free_port()
    base_url = f"http://127.0.0.1:{port}"
    settings = local_app_settings(
        azurite.connection_string,
        container=container,
        base_url=base_url,
        local_secrets=KNOWN_SECRETS,
        overrides={
            "CACHE_FLUSH_TIMEOUT_SECONDS": "10",
            "ACCESS_REQUEST_HINT": "Ask for access in the web team's support channel.",
            **(overrides or {}),
        },
    )
    process = start_devhost(
        REPO_ROOT,
        tmp_path_factory.mktemp("demo-state") / "state",
        settings,
        args=("--simulate", "--port", str(port)),
    )
    try:
        client = wait_client(process)
        assert process.base_url == base_url, process.output
        yield DemoHost(base_url, client)
    finally:
        code = process.stop(timeout=DEADLINE_SECONDS)
        delete_container(azurite.connection_string, container)
    assert code == 0, f"devhost exited with {code}:\n{process.output}"


@pytest.fixture(scope="module")
def browser() -> Iterator[Browser]:
    """Debian's headless Chromium, one per module; skips (loudly) when it is not installed."""
    if not CHROMIUM.exists():
        pytest.skip(SKIP_REASON)
    with sync_playwright() as playwright:
        instance = playwright.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        yield instance
        instance.close()


@dataclass
class PageProblems:
    """What went wrong inside the page: uncaught errors, console errors, JS dialogs."""

    errors: list[str] = field(default_factory=list)

    def console(self, message: ConsoleMessage) -> None:
        # HTTP error answers the page expects (a 422 for an empty required field) are logged
        # by the browser as "Failed to load resource"; anything else is the page's own error.
        if message.type == "error" and not message.text.startswith("Failed to load resource"):
            self.errors.append(f"console: {message.text}")

    def dialog(self, dialog: Dialog) -> None:
        self.errors.append(f"dialog: {dialog.message}")
        dialog.dismiss()


@pytest.fixture
def page(demo_host: DemoHost, browser: Browser) -> Iterator[Page]:
    """A fresh browser context on the demo page, with the simulators reset."""
    yield from open_page(demo_host, browser)


@pytest.fixture
def approvals_page(approvals_host: DemoHost, browser: Browser) -> Iterator[Page]:
    """A fresh browser context on the demo page of `approvals_host`."""
    yield from open_page(approvals_host, browser)


def open_page(demo_host: DemoHost, browser: Browser) -> Iterator[Page]:
    """Reset the simulators, open the demo page in a fresh context, check it for errors."""
    demo_host.post_json("/sim/reset")
    context = browser.new_context(viewport=VIEWPORT)
    context.set_default_timeout(TIMEOUT_MS)
    problems = PageProblems()
    tab = context.new_page()
    tab.on("console", problems.console)
    tab.on("pageerror", lambda error: problems.errors.append(f"uncaught: {error}"))
    tab.on("dialog", problems.dialog)
    tab.goto(demo_host.page_url)
    expect(tab.locator("#connection")).to_have_text("live")
    yield tab
    context.close()
    assert not problems.errors, problems.errors


def send(page: Page, text: str) -> None:
    """Type a message in #general and press Enter, as a Slack user would."""
    box = page.get_by_label("Message #general")
    box.fill(text)
    box.press("Enter")


def modal(page: Page) -> Locator:
    return page.get_by_role("dialog", name="Cache Flush")


def submit_flush(page: Page, urls: str, environment: str) -> Locator:
    """As the chosen user, /flush `urls` and submit them for `environment`; the dialog."""
    send(page, f"/flush {urls}")
    dialog = modal(page)
    dialog.get_by_label("Environment").select_option(environment)
    dialog.get_by_role("button", name="Submit").click()
    return dialog


def screenshot(page: Page, name: str) -> Path:
    """Save a screenshot of the page under test-artifacts/browser/."""
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    path = ARTIFACTS / f"{name}.png"
    page.screenshot(path=str(path))
    return path
