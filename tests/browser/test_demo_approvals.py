"""Approvals on the demo page, in headless Chromium against the real app in devhost.

The host runs as `make run` does: approvals on for production, the demo approver on the list,
the demo user group allowed to flush. Buttons are clicked as the user chosen in "You are".
"""

from __future__ import annotations

import pytest
from playwright.sync_api import Browser, Locator, Page, expect

from devhost.simulate.demo_users import (
    ALLOWED_DEMO_USER,
    APPROVER_DEMO_USER,
    DEMO_USERGROUP,
    OTHER_DEMO_USER,
    demo_allowed_users_csv,
)
from devhost.simulate.settings import APPROVALS_CHANNEL_NAME
from shared import settings
from tests.browser.conftest import (
    APPROVALS,
    DemoHost,
    modal,
    open_page,
    screenshot,
    serve_demo,
    submit_flush,
)
from tests.support.azurite import Azurite

pytestmark = pytest.mark.browser

URL = "https://www.nhs.uk/conditions/"
EXPIRY_MINUTES = "0.05"


def approvals(page: Page) -> Locator:
    return page.locator("#approvals")


def be(page: Page, user: tuple[str, str]) -> None:
    page.get_by_label("You are").select_option(user[0])


def ask_for_production(page: Page, urls: str = URL) -> Locator:
    """As demo_user, run /flush and submit production; the dialog, now waiting for approval."""
    be(page, ALLOWED_DEMO_USER)
    dialog = submit_flush(page, urls, "production")
    expect(dialog).to_contain_text("Your request is waiting for approval.")
    expect(dialog.get_by_role("button", name="Cancel request")).to_be_visible()
    expect(approvals(page)).to_contain_text("A cache flush needs approval")
    return dialog


def test_the_page_names_the_approvals_channel_and_the_roles(
    approvals_page: Page, approvals_host: DemoHost
) -> None:
    demo = approvals_host.get_json("/sim/slack/demo")
    assert demo["approvals_channel"] == APPROVALS_CHANNEL_NAME
    expect(approvals_page.locator("#approvals-name")).to_have_text(APPROVALS_CHANNEL_NAME)
    expect(approvals(approvals_page)).to_contain_text("No approval requests yet.")
    options = approvals_page.get_by_label("You are").locator("option")
    expect(options.nth(2)).to_contain_text("approver")
    expect(options.nth(3)).to_contain_text(f"in {DEMO_USERGROUP}")


def test_request_approve_and_the_result(approvals_page: Page, approvals_host: DemoHost) -> None:
    page = approvals_page
    dialog = ask_for_production(page)
    dialog.get_by_role("button", name="Close").click()  # the view says it may be closed
    expect(dialog).to_have_count(0)
    pending = page.locator("#dms .message").last
    expect(pending).to_contain_text("Your cache flush is waiting for approval.")
    expect(pending.get_by_role("button", name="Cancel request")).to_be_visible()
    request = approvals(page)
    request.get_by_role("button", name="Approve").click()
    refusal = "someone else must approve or reject it"
    expect(request.locator(".message.ephemeral")).to_contain_text(refusal)
    expect(request.locator(".message.ephemeral")).to_contain_text("Only visible to you")

    be(page, OTHER_DEMO_USER)
    expect(request.locator(".message.ephemeral")).to_have_count(0)
    request.get_by_role("button", name="Approve").click()
    expect(request.locator(".message.ephemeral")).to_contain_text("Only approvers")
    assert approvals_host.flush_calls() == []
    screenshot(page, "approval-refused")

    be(page, APPROVER_DEMO_USER)
    expect(request.locator(".message.ephemeral")).to_have_count(0)
    request.get_by_role("button", name="Approve").click()
    expect(request).to_contain_text("Approved by @demo_approver")
    expect(request.get_by_role("button", name="Approve")).to_have_count(0)
    expect(request).to_contain_text("(edited)")
    expect(request).to_contain_text("Flush succeeded (purge ID")

    be(page, ALLOWED_DEMO_USER)
    expect(page.locator("#dms")).to_contain_text("Your cache flush was approved")
    expect(page.locator("#dms")).to_contain_text("Cache flush accepted.")
    expect(page.locator("#dms .message").last).to_contain_text("demo_approver")
    expect(page.locator("#dms").get_by_role("button", name="Cancel request")).to_have_count(0)
    expect(modal(page)).to_have_count(0)
    [call] = approvals_host.flush_calls()
    assert (call["environment"], call["objects"]) == ("production", [URL])
    screenshot(page, "approval-approved")


def test_request_rejected(approvals_page: Page, approvals_host: DemoHost) -> None:
    page = approvals_page
    ask_for_production(page)
    be(page, APPROVER_DEMO_USER)
    approvals(page).get_by_role("button", name="Reject").click()
    expect(approvals(page)).to_contain_text("Rejected by @demo_approver")
    be(page, ALLOWED_DEMO_USER)
    expect(page.locator("#dms")).to_contain_text("Your cache flush was rejected")
    expect(modal(page)).to_contain_text("Nothing was flushed.")
    assert approvals_host.flush_calls() == []
    for shortcode in (":raised_hand:", ":no_entry:"):
        expect(page.locator("body")).not_to_contain_text(shortcode)
    screenshot(page, "approval-rejected")


def test_the_requester_cancels_in_the_modal(approvals_page: Page, approvals_host: DemoHost) -> None:
    page = approvals_page
    dialog = ask_for_production(page)
    dialog.get_by_role("button", name="Cancel request").click()
    expect(dialog).to_contain_text("You cancelled your cache flush request.")
    expect(approvals(page)).to_contain_text("Cancelled by the requester")
    expect(approvals(page).get_by_role("button", name="Approve")).to_have_count(0)
    expect(page.locator("#dms")).to_contain_text("You cancelled your cache flush request.")
    assert approvals_host.flush_calls() == []
    screenshot(page, "approval-cancelled")


def test_the_requester_cancels_from_the_dm(approvals_page: Page, approvals_host: DemoHost) -> None:
    page = approvals_page
    dialog = ask_for_production(page)
    dialog.get_by_role("button", name="Close").click()
    dms = page.locator("#dms")
    dms.get_by_role("button", name="Cancel request").click()
    expect(approvals(page)).to_contain_text("Cancelled by the requester")
    expect(dms.get_by_role("button", name="Cancel request")).to_have_count(0)
    expect(dms).to_contain_text("You cancelled your cache flush request.")
    expect(page.locator("body")).not_to_contain_text(":leftwards_arrow_with_hook:")
    assert approvals_host.flush_calls() == []
    screenshot(page, "approval-cancelled-from-dm")


def test_urls_that_do_not_fit_the_request_are_in_its_thread(
    approvals_page: Page, approvals_host: DemoHost
) -> None:
    page = approvals_page
    urls = [f"https://www.nhs.uk/conditions/page-{i}/" for i in range(25)]
    ask_for_production(page, " ".join(urls))
    request = approvals(page).locator(".message").filter(has_text="needs approval").last
    expect(request).to_contain_text(
        "the first 20 here, the rest in 1 reply in this message's thread"
    )
    thread = request.locator(".thread")
    expect(thread).to_contain_text("1 reply")
    expect(thread).to_contain_text("URLs 21 to 25 of 25")
    for url in urls[20:]:
        expect(thread).to_contain_text(url)
    expect(request.get_by_role("button", name="Approve")).to_be_visible()
    screenshot(page, "approval-thread")
    be(page, APPROVER_DEMO_USER)
    request.get_by_role("button", name="Approve").click()
    expect(request).to_contain_text("Flush succeeded")
    [call] = approvals_host.flush_calls()
    assert call["objects"] == urls


def test_an_undecided_request_expires(
    azurite: Azurite, tmp_path_factory: pytest.TempPathFactory, browser: Browser
) -> None:
    overrides = {**APPROVALS, settings.APPROVAL_TIMEOUT_MINUTES: EXPIRY_MINUTES}
    hosts = serve_demo(azurite, tmp_path_factory, demo_allowed_users_csv(), overrides)
    host = next(hosts)
    pages = open_page(host, browser)
    try:
        page = next(pages)
        dialog = ask_for_production(page)
        expect(approvals(page)).to_contain_text(
            "Expired: nobody approved within 0.05 minutes (3 seconds)"
        )
        expect(dialog).to_contain_text("Your cache flush request expired")
        expect(page.locator("#dms")).to_contain_text("nothing was flushed")
        assert host.flush_calls() == []
        screenshot(page, "approval-expired")
    finally:
        for generator in (pages, hosts):
            for _ in generator:
                pass
