"""The Home tab, Flush again, the message shortcut and the Simulate panel on the demo page.

The host runs as `make run` does (approvals on for production, the demo approver on the
list), with the real app in devhost, driven in headless Chromium.
"""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import Browser, Locator, Page, expect

from devhost.simulate.client import wait_until
from devhost.simulate.demo_users import (
    ALLOWED_DEMO_USER,
    APPROVER_DEMO_USER,
    OTHER_DEMO_USER,
)
from tests.browser.conftest import (
    VIEWPORT,
    DemoHost,
    modal,
    screenshot,
    send,
    submit_flush,
)
from tests.browser.test_demo_approvals import approvals, ask_for_production, be

pytestmark = pytest.mark.browser

URL = "https://www.nhs.uk/conditions/"
OTHER_URL = "https://www.nhs.uk/medicines/"
# 2026-01-02 03:34:00 UTC
EPOCH = 1767324840


@pytest.fixture
def page(approvals_page: Page) -> Page:
    """The demo page, on a host that runs as `make run` does."""
    return approvals_page


def home(page: Page) -> Locator:
    return page.locator("#home")


def open_home(page: Page) -> Locator:
    page.get_by_role("tab", name="Cache Flush · Home").click()
    return home(page)


def form_urls(page: Page) -> Locator:
    return modal(page).get_by_label("URLs", exact=True)


def close_form(page: Page) -> None:
    page.keyboard.press("Escape")
    expect(modal(page)).to_have_count(0)


def flush_staging(page: Page, urls: str, *, close: bool = True) -> None:
    """As the chosen user, /flush `urls` to staging and wait for the result (in the dialog)."""
    dialog = submit_flush(page, urls, "staging")
    expect(dialog.locator("strong", has_text="Cache flush accepted.")).to_be_visible()
    if close:
        close_form(page)


def test_the_home_tab_lists_my_flushes_and_flush_again_refills_the_form(
    page: Page, approvals_host: DemoHost
) -> None:
    be(page, ALLOWED_DEMO_USER)
    flush_staging(page, URL, close=False)
    modal(page).get_by_role("button", name="Flush again").click()
    expect(form_urls(page)).to_have_value(URL)
    page.keyboard.press("Escape")  # the new form, then the result under it
    expect(modal(page).locator("strong", has_text="Cache flush accepted.")).to_be_visible()
    close_form(page)

    shown = open_home(page)
    expect(shown).to_contain_text("Your recent flushes")
    expect(shown).to_contain_text(URL)
    expect(shown).to_contain_text("staging")

    def deliveries() -> list[dict] | None:
        events = approvals_host.client.events()["events"]
        return [event for event in events if event["kind"] == "event_delivery"] or None

    [opened] = wait_until(deliveries, "the app_home_opened delivery")
    assert opened["data"]["event_type"] == "app_home_opened"
    assert opened["data"]["status"] == 200
    screenshot(page, "home-tab")

    shown.get_by_role("button", name="Flush again").first.click()
    expect(form_urls(page)).to_have_value(URL)
    expect(modal(page).get_by_label("Environment")).to_have_value("staging")
    close_form(page)

    shown.get_by_role("button", name="New flush").click()
    expect(modal(page).get_by_label("Environment")).to_be_visible()
    expect(form_urls(page)).to_have_value("")
    close_form(page)

    page.get_by_role("tab", name="# general").click()
    page.locator("#dms").get_by_role("button", name="Flush again").last.click()
    expect(form_urls(page)).to_have_value(URL)
    close_form(page)

    be(page, OTHER_DEMO_USER)
    open_home(page)
    expect(home(page)).not_to_contain_text(URL)


def test_the_shortcut_on_a_posted_message_opens_the_form_with_its_links(page: Page) -> None:
    be(page, OTHER_DEMO_USER)
    send(page, f"Stale pages: {URL} and {OTHER_URL}, and {URL} again.")
    posted = page.locator("#feed .message.by-person").last
    expect(posted).to_contain_text("not_allowed_user")
    expect(posted.locator("a")).to_have_count(3)
    expect(posted.locator("a").first).to_have_attribute("href", URL)

    be(page, ALLOWED_DEMO_USER)
    posted = page.locator("#feed .message.by-person").last
    posted.get_by_role("button", name="More actions").click()
    page.get_by_role("menuitem", name="Flush links in this message").click()
    expect(form_urls(page)).to_have_value(f"{URL}\n{OTHER_URL}")
    screenshot(page, "shortcut-form")
    close_form(page)


def test_an_approver_approves_on_the_home_tab(page: Page, approvals_host: DemoHost) -> None:
    dialog = ask_for_production(page, OTHER_URL)
    dialog.get_by_role("button", name="Close").click()
    be(page, APPROVER_DEMO_USER)
    shown = open_home(page)
    expect(shown).to_contain_text("Waiting for your approval")
    expect(shown).to_contain_text(OTHER_URL)
    screenshot(page, "home-waiting-for-approval")
    shown.get_by_role("button", name="Approve").click()
    expect(approvals(page)).to_contain_text("Approved by @demo_approver")

    def flushed() -> list[dict] | None:
        calls = [c for c in approvals_host.flush_calls() if c.get("objects") == [OTHER_URL]]
        return calls or None

    [call] = wait_until(flushed, "the approved flush")
    assert call["environment"] == "production"
    expect(shown).not_to_contain_text(OTHER_URL)


def test_the_simulate_panel_and_times_in_one_zone(
    approvals_host: DemoHost, browser: Browser
) -> None:
    approvals_host.post_json("/sim/reset")
    # A browser far from UTC still shows every time in UTC.
    context = browser.new_context(viewport=VIEWPORT, timezone_id="Pacific/Auckland")
    try:
        tab = context.new_page()
        tab.goto(approvals_host.page_url)
        expect(tab.locator("#connection")).to_have_text("live")
        expect(tab.locator("#approval-note")).to_have_text("needed for production")
        timeout = tab.get_by_label("Approval timeout (minutes)")
        expect(timeout).to_have_value("60")
        timeout.fill("0.5")
        tab.get_by_role("button", name="Set").click()
        expect(tab.locator("#feed")).to_contain_text("expire after 0.5 minute(s)")
        assert approvals_host.get_json("/sim/settings")["approval_timeout_minutes"] == 0.5

        tab.get_by_label("Make the next flush slow").select_option(label="10 s longer")
        expect(tab.locator("#feed")).to_contain_text("10 s longer to answer the next flush")
        [fault] = approvals_host.get_json("/sim/cache-flush/faults")["faults"]
        assert fault["delay"] == 10

        user_id = ALLOWED_DEMO_USER[0]
        approvals_host.slack_api(
            "chat.postMessage",
            {
                "channel": user_id,
                "text": f"At <!date^{EPOCH}^{{date_short_pretty}} at {{time}}|fallback>",
            },
        )
        message = tab.locator("#dms .message").last
        expect(message.locator("time")).to_have_text("Jan 2, 2026 at 03:34 UTC")
        assert re.fullmatch(r"\d\d:\d\d:\d\d UTC", message.locator(".time").inner_text())
        expect(tab.locator("#zone")).to_have_text("times in UTC")
    finally:
        context.close()
        approvals_host.post_json("/sim/settings", {"approval_timeout_minutes": 60})
        approvals_host.client.send("DELETE", "/sim/cache-flush/faults")
