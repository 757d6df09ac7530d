"""URLs as people paste them, and failures people can act on, through a real devhost process.

Each test types ``/flush`` and submits the form as the simulated Slack user would, and
checks what cache-flush received and what the user was told.
"""

from __future__ import annotations

import json
from typing import Any

from devhost.simulate.client import DevhostClient, wait_until
from tests.e2e.harness import instance_for
from tests.e2e.launcher import AppLauncher

ALICE = "U0E2EPASTE"
CONDITIONS = "https://www.nhs.uk/conditions/"
LIVE_WELL = "https://www.nhs.uk/live-well/"
CONTACT = "#web-platform-help"


def texts(blocks: list[dict[str, Any]]) -> str:
    """Every text of the blocks: sections and context lines."""
    lines = [block["text"]["text"] for block in blocks if isinstance(block.get("text"), dict)]
    lines += [
        item["text"]
        for block in blocks
        for item in block.get("elements", [])
        if isinstance(item.get("text"), str)
    ]
    return "\n".join(lines)


def open_form(slack: DevhostClient, text: str = "") -> dict[str, Any]:
    answer = slack.command(ALICE, text, user_name="alice_paste")
    assert answer["status"] == 200, answer
    view = slack.only_view(ALICE)
    assert view["view"].get("callback_id") == "cache_flush_request", view
    return view


def finished(slack: DevhostClient, view_id: str) -> dict[str, Any]:
    found = wait_until(lambda: instance_for(slack, view_id), f"an orchestration for {view_id}")
    return slack.wait_status(found["instanceId"])


def test_two_urls_pasted_on_one_line_are_two_urls_flushed(launcher: AppLauncher) -> None:
    launcher.allow(ALICE)
    slack = launcher.start().slack
    form = open_form(slack)

    pasted = f"{CONDITIONS}, {LIVE_WELL}\u00a0{CONDITIONS}\t"
    answer = slack.submit(ALICE, environment="staging", urls=pasted)

    assert answer["response_action"] == "update", answer
    status = finished(slack, form["id"])
    assert status["output"]["flush"] == {"ok": True, "status": 201}, status
    [call] = slack.flush_calls()
    assert call["objects"] == [CONDITIONS, LIVE_WELL]
    assert not any("%20" in url or "%C2%A0" in url for url in call["objects"])
    [dm] = slack.dms(ALICE)
    assert dm["text"] == "Cache flush succeeded"
    assert f"• {CONDITIONS}\n• {LIVE_WELL}" in texts(dm["blocks"])


def test_the_flush_command_text_is_split_the_same_way(launcher: AppLauncher) -> None:
    launcher.allow(ALICE)
    slack = launcher.start().slack
    form = open_form(slack, f"{CONDITIONS},{LIVE_WELL}, {CONDITIONS}")

    [urls_block] = [b for b in form["view"]["blocks"] if b.get("block_id") == "urls"]
    assert urls_block["element"]["initial_value"] == f"{CONDITIONS},{LIVE_WELL}\n{CONDITIONS}"
    answer = slack.submit(ALICE, environment="staging")
    assert answer["response_action"] == "errors", answer
    assert json.loads(answer["body"])["errors"]["urls"] == (
        f"{CONDITIONS},{LIVE_WELL}: two URLs run together; put a space or a new line between them."
    )


def test_urls_run_together_and_text_that_is_no_url_are_refused_and_nothing_flushed(
    launcher: AppLauncher,
) -> None:
    launcher.allow(ALICE)
    slack = launcher.start().slack
    form = open_form(slack)

    answer = slack.submit(
        ALICE, environment="production", urls=f"{CONDITIONS},{LIVE_WELL}\nhello www.nhs.uk/page"
    )

    assert answer["response_action"] == "errors", answer
    assert answer["outcome"] == "errors_shown", answer
    errors = json.loads(answer["body"])["errors"]
    assert errors["urls"].splitlines() == [
        f"{CONDITIONS},{LIVE_WELL}: two URLs run together; put a space or a new line between them.",
        "hello is not a URL.",
        "www.nhs.uk/page: add https:// at the start.",
    ]
    view = slack.only_view(ALICE)
    assert view["open"], view
    assert view["id"] == form["id"], view
    assert slack.instances() == []
    assert slack.flush_calls() == []
    assert slack.dms(ALICE) == []


def test_akamai_refusing_a_host_tells_the_user_nothing_was_flushed_and_who_to_ask(
    launcher: AppLauncher,
) -> None:
    launcher.allow(ALICE)
    slack = launcher.start(overrides={"SUPPORT_CONTACT": CONTACT}).slack
    slack.akamai_error(status=403)
    form = open_form(slack, CONDITIONS)

    assert slack.submit(ALICE, environment="production")["response_action"] == "update"
    status = finished(slack, form["id"])

    assert status["output"]["flush"] == {"ok": False, "status": 403}, status
    assert len(slack.flush_calls()) == 1, "an Akamai refusal is not retried"
    [dm] = slack.dms(ALICE)
    assert dm["text"] == "Cache flush failed"
    for shown in (texts(dm["blocks"]), texts(slack.only_view(ALICE)["view"]["blocks"])):
        headline = shown.splitlines()[0]
        assert headline.startswith(":x: *Nothing was flushed.* Akamai has not authorised"), shown
        assert "www.nhs.uk" in headline
        assert f"Ask the web team's CDN owner (through {CONTACT})" in shown
        assert "*Status:* HTTP 403" in shown
        details = shown.split("*Details:* ")[1]
        assert details.startswith("HTTP 403 ")
        assert f"{CONDITIONS} is not authorized" in details
    assert [m for m in slack.messages() if not m["is_dm"]] == [], "no success post"


def test_a_rate_limit_after_every_attempt_says_when_to_try_again(launcher: AppLauncher) -> None:
    launcher.allow(ALICE)
    slack = launcher.start(overrides={"CACHE_FLUSH_RETRY_INTERVAL_SECONDS": "0.2"}).slack
    slack.akamai_error(status=429, times=3)
    form = open_form(slack, CONDITIONS)

    assert slack.submit(ALICE, environment="staging")["response_action"] == "update"
    status = finished(slack, form["id"])

    assert status["output"]["flush"] == {"ok": False, "status": 429}, status
    assert [c["answer"]["status"] for c in slack.flush_calls()] == [429, 429, 429]
    shown = texts(slack.wait_dms(ALICE)[0]["blocks"])
    assert "*Nothing was flushed.* Akamai is limiting how many flushes" in shown
    assert "Try again in 1 minute." in shown
    assert "tell the team that runs this app" in shown, "a neutral wording without a contact"
    assert "*Status:* HTTP 429, the last of 3 attempts" in shown
