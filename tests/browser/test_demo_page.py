"""The demo page at /sim/slack/, driven in headless Chromium against the real app in devhost."""

from __future__ import annotations

from typing import Any

import pytest
from playwright.sync_api import Locator, Page, expect

from devhost.simulate.client import wait_until
from devhost.simulate.demo_users import ALLOWED_DEMO_USER, DEMO_USERS, OTHER_DEMO_USER
from tests.browser.conftest import DemoHost, modal, screenshot, send

pytestmark = pytest.mark.browser

SUCCESS = "Cache flush accepted."


def dms(page: Page) -> Locator:
    return page.locator("#dms")


def notices(page: Page) -> Locator:
    return page.locator("#notices")


def open_form(page: Page, command: str) -> Locator:
    send(page, command)
    dialog = modal(page)
    expect(dialog.get_by_label("Environment")).to_be_visible()
    return dialog


def open_form_showing(page: Page, command: str, urls: str) -> tuple[Locator, Locator]:
    """Open the form with `command`; return it and its URLs field, checked to show `urls`."""
    dialog = open_form(page, command)
    field = dialog.get_by_label("URLs", exact=True)
    expect(field).to_have_value(urls)
    return dialog, field


def views_of(demo_host: DemoHost, user_id: str) -> list[dict[str, Any]]:
    return demo_host.get_json(f"/sim/slack/views?user_id={user_id}")["views"]


# --- the page itself, over plain HTTP -------------------------------------------------------


def test_the_page_is_served_with_a_strict_content_security_policy(demo_host: DemoHost) -> None:
    redirect = demo_host.client.send("GET", "/sim/slack", allow_redirects=False)
    assert redirect.status_code == 302
    assert redirect.headers["Location"] == "/sim/slack/"
    index = demo_host.client.send("GET", "/sim/slack/")
    assert index.status_code == 200
    assert index.headers["Content-Type"] == "text/html; charset=utf-8"
    policy = index.headers["Content-Security-Policy"]
    assert "default-src 'none'" in policy
    assert "script-src 'self'" in policy
    assert "unsafe-inline" not in policy
    for name, kind in (("app.js", "text/javascript"), ("app.css", "text/css")):
        asset = demo_host.client.send("GET", f"/sim/slack/web/{name}")
        assert asset.status_code == 200
        assert asset.headers["Content-Type"] == f"{kind}; charset=utf-8"
        assert asset.headers["X-Content-Type-Options"] == "nosniff"
    for missing in ("index.html", "..%2fpage.py", "nope.js"):
        assert demo_host.client.send("GET", f"/sim/slack/web/{missing}").status_code == 404


def test_the_demo_description_names_the_demo_users_and_channels(demo_host: DemoHost) -> None:
    demo = demo_host.get_json("/sim/slack/demo")
    assert [(user["id"], user["name"]) for user in demo["users"]] == list(DEMO_USERS)
    assert [user["allowed"] for user in demo["users"]] == [True, False, True, False]
    assert [user["approver"] for user in demo["users"]] == [False, False, True, False]
    assert [user["usergroups"] for user in demo["users"]] == [[], [], [], ["S0DEMOGROUP"]]
    assert demo["command_channel"] == {"id": "C0SIMGENRL", "name": "general"}
    assert demo["notices_channel"] == "cache-flush-notices"


# --- in the browser --------------------------------------------------------------------------


def test_a_flush_from_the_slash_command_to_the_success_message(
    page: Page, demo_host: DemoHost
) -> None:
    dialog, _ = open_form_showing(
        page,
        "/flush https://www.nhs.uk/conditions/ https://www.nhs.uk/medicines/",
        "https://www.nhs.uk/conditions/\nhttps://www.nhs.uk/medicines/",
    )
    expect(dialog).to_contain_text("For example https://www.nhs.uk/path/to/flush")
    dialog.get_by_label("Environment").select_option("staging")
    dialog.get_by_role("button", name="Submit").click()

    expect(dialog.locator("strong", has_text=SUCCESS)).to_be_visible()
    expect(dms(page)).to_contain_text(SUCCESS)
    expect(dms(page)).to_contain_text("Environment: staging")
    expect(dms(page)).to_contain_text("https://www.nhs.uk/medicines/")
    expect(dms(page).locator(".mention")).to_have_text("@demo_user")
    expect(notices(page)).to_contain_text(SUCCESS)

    [call] = demo_host.flush_calls()
    assert call["environment"] == "staging"
    assert call["objects"] == ["https://www.nhs.uk/conditions/", "https://www.nhs.uk/medicines/"]
    purge_id = call["answer"]["body"]["purgeId"]
    expect(dialog.locator("code", has_text=purge_id)).to_be_visible()
    expect(dms(page).locator("code", has_text=purge_id)).to_be_visible()
    screenshot(page, "flush-succeeded")


def test_an_invalid_url_shows_an_inline_error_and_the_corrected_request_succeeds(
    page: Page, demo_host: DemoHost
) -> None:
    dialog, urls = open_form_showing(page, "/flush", "")
    urls.fill("https://www.nhs.uk/conditions/")
    dialog.get_by_role("button", name="Submit").click()
    environment_error = dialog.locator('[data-block-id="environment"] .field-error')
    expect(environment_error).to_have_text("Please fill out this field.")

    hostile = "https://example.com/<img/src/onerror=window.__injected=1>"
    dialog.get_by_label("Environment").select_option("production")
    urls.fill(hostile)
    dialog.get_by_role("button", name="Submit").click()
    urls_error = dialog.locator('[data-block-id="urls"] .field-error')
    expect(urls_error).to_contain_text(f"Not allowed: {hostile}")
    expect(environment_error).to_be_hidden()
    expect(urls).to_have_attribute("aria-invalid", "true")
    expect(dialog.locator("img")).to_have_count(0)
    assert page.evaluate("window.__injected") is None
    screenshot(page, "invalid-url")
    assert demo_host.flush_calls() == []

    urls.fill("https://www.nhs.uk/conditions/")
    dialog.get_by_role("button", name="Submit").click()
    expect(dialog).to_contain_text(SUCCESS)
    expect(dms(page)).to_contain_text("Environment: production")
    [call] = demo_host.flush_calls()
    assert call["objects"] == ["https://www.nhs.uk/conditions/"]
    screenshot(page, "invalid-url-corrected")


def test_a_user_not_on_the_list_sees_the_not_allowed_view(page: Page, demo_host: DemoHost) -> None:
    user_id, user_name = OTHER_DEMO_USER
    page.get_by_label("You are").select_option(user_id)
    send(page, "/flush https://www.nhs.uk/conditions/")
    dialog = modal(page)
    expect(dialog).to_contain_text("You do not have access to flush the cache.")
    expect(dialog).to_contain_text("Ask for access in the web team's support channel.")
    request = f"Please add {user_name} ({user_id})"
    expect(dialog.locator("pre.code-block")).to_contain_text(request)
    expect(dialog.get_by_role("button", name="Submit")).to_have_count(0)
    expect(dms(page).locator("pre.code-block")).to_contain_text(request)
    expect(notices(page)).to_contain_text("No posts yet.")
    screenshot(page, "not-allowed")

    dialog.get_by_role("button", name="Close").click()
    expect(dialog).to_have_count(0)
    [view] = views_of(demo_host, user_id)
    assert view["closed_by"] == "user"
    assert demo_host.flush_calls() == []


def test_closing_the_modal_early_still_brings_the_result_by_direct_message(
    page: Page, demo_host: DemoHost
) -> None:
    demo_host.post_json("/sim/cache-flush/faults", {"delay": 3.0})
    dialog = open_form(page, "/flush https://www.nhs.uk/conditions/")
    dialog.get_by_label("Environment").select_option("staging")
    dialog.get_by_role("button", name="Submit").click()
    expect(dialog).to_contain_text("Your request is being processed.")
    dialog.get_by_role("button", name="Close").click()
    expect(dialog).to_have_count(0)
    expect(dms(page)).to_contain_text("No direct messages yet.")

    expect(dms(page)).to_contain_text(SUCCESS)
    expect(notices(page)).to_contain_text(SUCCESS)
    expect(modal(page)).to_have_count(0)
    screenshot(page, "closed-early")
    [view] = views_of(demo_host, ALLOWED_DEMO_USER[0])
    assert view["closed_by"] == "user"

    def result_update_missed_the_view() -> bool:
        updates = demo_host.get_json("/sim/slack/calls?method=views.update")["calls"]
        return bool(updates) and updates[-1]["outcome"].get("error") == "not_found"

    wait_until(result_update_missed_the_view, "the app's views.update to find the view closed")


def test_block_kit_is_rendered_escaped_and_unknown_blocks_are_shown_as_placeholders(
    page: Page, demo_host: DemoHost
) -> None:
    user_id = ALLOWED_DEMO_USER[0]
    text = (
        "*bold* _italic_ ~struck~ `inline code` <https://www.nhs.uk/|NHS website> "
        f"<@{user_id}> &lt;img src=x onerror=window.__injected=1&gt; "
        ":white_check_mark: :no_such_emoji:\nsecond line\n"
        '```{\n  "message": "&lt;b&gt;not bold&lt;/b&gt;"\n}```'
    )
    demo_host.slack_api(
        "chat.postMessage",
        {
            "channel": user_id,
            "text": "fallback text",
            "blocks": [
                {"type": "header", "text": {"type": "plain_text", "text": "<b>Header</b>"}},
                {"type": "section", "text": {"type": "mrkdwn", "text": text}},
                {"type": "section", "text": {"type": "mrkdwn", "text": "<javascript:go()|go>"}},
                {"type": "divider"},
                {"type": "image", "image_url": "https://www.nhs.uk/a.png", "alt_text": "a"},
                {"type": "video", "title": {"type": "plain_text", "text": "v"}},
            ],
        },
    )
    message = dms(page).locator(".message")
    expect(message.locator("strong")).to_have_text("bold")
    expect(message.locator("em")).to_have_text("italic")
    expect(message.locator("s")).to_have_text("struck")
    expect(message.locator("code")).to_have_text("inline code")
    expect(message.locator("a")).to_have_count(1)
    expect(message.locator("a")).to_have_attribute("href", "https://www.nhs.uk/")
    expect(message.locator("a")).to_have_text("NHS website")
    expect(message.locator(".mention")).to_have_text("@demo_user")
    expect(message.locator(".emoji")).to_have_attribute("title", ":white_check_mark:")
    assert ":no_such_emoji:\nsecond line" in message.locator(".text").nth(0).inner_text()
    expect(message).to_contain_text("<img src=x onerror=window.__injected=1>")
    expect(message).to_contain_text("<javascript:go()|go>")
    assert message.locator("pre").inner_text() == '{\n  "message": "<b>not bold</b>"\n}'
    expect(message.locator("h3")).to_have_text("<b>Header</b>")
    expect(message.locator("hr")).to_have_count(1)
    placeholders = message.locator(".unsupported")
    expect(placeholders).to_have_count(2)
    expect(placeholders.nth(0)).to_contain_text('Unsupported block "image"')
    expect(placeholders.nth(1)).to_contain_text('Unsupported block "video"')
    expect(message).not_to_contain_text("fallback text")
    expect(message.locator("img, b, script")).to_have_count(0)
    assert page.evaluate("window.__injected") is None

    dialog = open_form(page, "/flush")
    [view] = views_of(demo_host, user_id)
    demo_host.slack_api(
        "views.update",
        {
            "view_id": view["id"],
            "view": {
                "type": "modal",
                "title": {"type": "plain_text", "text": "Cache Flush"},
                "submit": {"type": "plain_text", "text": "Go"},
                "blocks": [
                    {"type": "actions", "elements": [{"type": "button", "text": {}}]},
                    {
                        "type": "input",
                        "label": {"type": "plain_text", "text": "When"},
                        "element": {"type": "datepicker"},
                    },
                ],
            },
        },
    )
    expect(dialog.locator(".unsupported").nth(0)).to_contain_text('Unsupported block "actions"')
    expect(dialog.locator(".unsupported").nth(1)).to_contain_text(
        'Unsupported input element "datepicker"'
    )
    expect(dialog.get_by_role("button", name="Go")).to_be_visible()
    expect(dialog.get_by_role("button", name="Cancel")).to_be_visible()
    screenshot(page, "block-kit-rendering")


def test_urls_pasted_on_one_line_with_commas_are_each_flushed(
    page: Page, demo_host: DemoHost
) -> None:
    conditions, medicines, live_well = (
        "https://www.nhs.uk/conditions/",
        "https://www.nhs.uk/medicines/",
        "https://www.nhs.uk/live-well/",
    )
    dialog, urls = open_form_showing(
        page, f"/flush {conditions}, {medicines},", f"{conditions}\n{medicines}"
    )
    dialog.get_by_label("Environment").select_option("staging")
    urls.fill(f"{conditions}, {medicines},{live_well}\nhello")
    dialog.get_by_role("button", name="Submit").click()
    urls_error = dialog.locator('[data-block-id="urls"] .field-error')
    expect(urls_error).to_have_text(
        f"{medicines},{live_well}: two URLs run together; put a space or a new line between "
        "them.\nhello is not a URL."
    )
    assert urls_error.inner_text().splitlines()[1] == "hello is not a URL.", "one per line"
    screenshot(page, "urls-run-together")
    assert demo_host.flush_calls() == []

    urls.fill(f"{conditions}, {medicines}, {live_well},")
    dialog.get_by_role("button", name="Submit").click()
    expect(dialog.locator("strong", has_text=SUCCESS)).to_be_visible()
    for url in (conditions, medicines, live_well):
        expect(dms(page)).to_contain_text(url)
    [call] = demo_host.flush_calls()
    assert call["objects"] == [conditions, medicines, live_well]
    screenshot(page, "urls-pasted-on-one-line")


def test_a_typed_query_with_ampersands_reaches_cache_flush_as_typed(
    page: Page, demo_host: DemoHost
) -> None:
    url = "https://www.nhs.uk/search/?q=flu&page=2&copy=1"
    dialog, _ = open_form_showing(page, f"/flush {url}", url)
    dialog.get_by_label("Environment").select_option("staging")
    dialog.get_by_role("button", name="Submit").click()
    expect(dialog.locator("strong", has_text=SUCCESS)).to_be_visible()
    [call] = demo_host.flush_calls()
    assert call["objects"] == [url]


def test_a_failed_flush_says_nothing_was_flushed_and_what_to_do(
    page: Page, demo_host: DemoHost
) -> None:
    failures = page.get_by_label("Make the next flush fail")
    failures.select_option(label="Akamai refuses the host (403)")
    expect(page.locator("#feed")).to_contain_text(
        "The next flush will fail: Akamai refuses the host (403)."
    )
    expect(failures).to_have_value("")
    dialog = open_form(page, "/flush https://www.nhs.uk/conditions/")
    dialog.get_by_label("Environment").select_option("production")
    dialog.get_by_role("button", name="Submit").click()

    headline = "Nothing was flushed. Akamai has not authorised this app to flush www.nhs.uk"
    advice = "Ask the web team's CDN owner to authorise the app's Akamai credentials"
    for shown in (dialog, dms(page)):
        expect(shown.locator("strong", has_text="Nothing was flushed.")).to_be_visible()
        expect(shown).to_contain_text(headline)
        expect(shown).to_contain_text(advice)
        expect(shown).to_contain_text("Status: HTTP 403")
        details = shown.locator(".block.context")
        expect(details).to_contain_text("Details: HTTP 403")
        expect(details).to_contain_text("unauthorized arl")
    expect(notices(page)).to_contain_text("No posts yet.")
    screenshot(page, "flush-failed-akamai")
    [call] = demo_host.flush_calls()
    assert call["answer"]["status"] == 403


@pytest.mark.parametrize(
    ("failure", "headline", "advice", "calls"),
    [
        pytest.param(
            "cache-flush rejects the request (400)",
            "Nothing was flushed. cache-flush rejected the request.",
            "this is a fault in this app",
            1,
            id="rejected",
        ),
        pytest.param(
            "cache-flush does not answer",
            "Nothing was flushed, as far as the app knows.",
            "flushing the same URLs again is harmless",
            3,
            id="no-answer",
        ),
    ],
)
def test_the_page_can_make_the_next_flush_fail_to_show_its_message(  # noqa: PLR0917 - pytest passes arguments positionally
    page: Page, demo_host: DemoHost, failure: str, headline: str, advice: str, calls: int
) -> None:
    page.get_by_label("Make the next flush fail").select_option(label=failure)
    expect(page.locator("#feed")).to_contain_text(f"The next flush will fail: {failure}.")
    dialog = open_form(page, "/flush https://www.nhs.uk/conditions/")
    dialog.get_by_label("Environment").select_option("staging")
    dialog.get_by_role("button", name="Submit").click()
    expect(dialog).to_contain_text(headline, timeout=30_000)
    expect(dialog).to_contain_text(advice)
    expect(dms(page)).to_contain_text(headline)
    assert len(demo_host.flush_calls()) == calls
