"""Approvals people can trust, through a real devhost clicked as Slack users click.

Approvers see every URL before they can click; an approved flush runs only for a requester
who may still flush; Cancel is always in the requester's DM; nobody asks for an approval
nobody can give; the request ends with the flush's outcome; and a click counts only from the
request's workspace and its own message.
"""

from __future__ import annotations

from typing import Any

from devhost.simulate.client import DevhostClient, wait_until
from devhost.simulate.settings import APPROVALS_CHANNEL_NAME
from shared import settings
from tests.e2e.harness import KNOWN_SECRETS, block_texts
from tests.e2e.launcher import AppLauncher
from tests.e2e.test_e2e_approvals import (
    ALICE,
    AMY,
    ANN,
    CSV,
    MO,
    REQUEST_TEXT,
    ask,
    click,
    ended,
    ended_unflushed,
    ending,
    ephemeral_texts,
    instance_of,
    modal_now,
    name_of,
    request_post,
    requested,
    signed_click,
    stage,
    start,
    top_level,
)

PENDING_TEXT = "Cache flush approval pending"
STALL_SECONDS = 5


def submit_urls(slack: DevhostClient, urls: list[str], user_id: str = ALICE) -> dict[str, Any]:
    """Open the form as `user_id` and submit production with these URLs, one per line."""
    assert slack.command(user_id, user_name=name_of(user_id))["status"] == 200
    view_id = slack.views(user_id)[-1]["id"]
    answer = slack.submit(user_id, environment="production", urls="\n".join(urls), view_id=view_id)
    assert answer["status"] == 200, answer
    return {**answer, "view_id": view_id}


def plain_urls(blocks: list[dict[str, Any]]) -> list[str]:
    """The URLs a message lists as plain text, one per line."""
    return [
        line.removeprefix("• ")
        for block in blocks
        if block.get("text", {}).get("type") == "plain_text"
        for line in block["text"]["text"].split("\n")
    ]


def pending_dm(slack: DevhostClient) -> dict[str, Any]:
    """The requester's DM record with Cancel request, once posted."""

    def found() -> dict[str, Any] | None:
        records = [r for r in slack.messages(user_id=ALICE) if r["message"]["text"] == PENDING_TEXT]
        return records[0] if records else None

    return wait_until(found, "the pending DM")


def has_buttons(message: dict[str, Any]) -> bool:
    return any(block["type"] == "actions" for block in message.get("blocks", []))


# --- every URL before the buttons -------------------------------------------------------------


def test_every_url_is_listed_in_the_request_and_its_thread_before_the_buttons(
    launcher: AppLauncher,
) -> None:
    slack = start(launcher).slack
    urls = [
        f"https://www.nhs.uk/conditions/{'long-page-name-' * 4}{i}/?q=%C3%A9" for i in range(45)
    ]
    answer = submit_urls(slack, urls)
    assert answer["outcome"] == "updated", answer
    instance_id = instance_of(slack, answer["view_id"])
    post = request_post(slack)
    replies = [
        p
        for p in slack.channel_posts(APPROVALS_CHANNEL_NAME)
        if p.get("thread_ts") == post["ts"] and p["ts"] != post["ts"]
    ]
    assert len(replies) == 1
    assert plain_urls(post["blocks"]) + plain_urls(replies[0]["blocks"]) == urls
    assert "the rest in 1 reply in this message's thread" in block_texts(post["blocks"])
    calls = slack.calls()
    posted_reply = next(
        i
        for i, c in enumerate(calls)
        if c["method"] == "chat.postMessage" and c["args"].get("thread_ts")
    )
    buttons_added = next(
        i
        for i, c in enumerate(calls)
        if c["method"] == "chat.update"
        and any(b.get("type") == "actions" for b in c["args"].get("blocks") or [])
    )
    assert posted_reply < buttons_added, "the buttons come after the last URL is shown"
    [first] = [
        c for c in calls if c["method"] == "chat.postMessage" and c["args"]["text"] == REQUEST_TEXT
    ]
    assert not any(b.get("type") == "actions" for b in first["args"]["blocks"])

    click(slack, ANN, "approve_flush", post)
    ended(slack, instance_id)
    [flush] = slack.flush_calls()
    assert flush["objects"] == urls


def test_more_urls_than_the_approvers_can_be_shown_are_refused_inline(
    launcher: AppLauncher,
) -> None:
    slack = start(launcher).slack
    answer = submit_urls(slack, [f"https://www.nhs.uk/p{i}" for i in range(1021)])
    assert answer["outcome"] == "errors_shown", answer
    view = slack.views(ALICE)[-1]
    assert "Too many URLs to show the approvers" in view["errors"]["urls"]
    assert top_level(slack) == []
    assert slack.instances() == []


# --- access re-checked ------------------------------------------------------------------------


def test_an_approved_flush_does_not_run_for_a_requester_who_lost_access(
    launcher: AppLauncher,
) -> None:
    slack = start(launcher, **{settings.ALLOWED_USERS_CACHE_SECONDS: "0"}).slack
    _, instance_id, post = requested(slack)
    launcher.set_allowed_csv(CSV.replace(f"{ALICE},alice\n", ""))

    click(slack, ANN, "approve_flush", post)

    status = ended_unflushed(slack, instance_id, "not_allowed", ANN)
    assert status["output"]["flush"] is None, status
    text = block_texts(request_post(slack)["blocks"])
    assert f"Approved by <@{ANN}>" in text
    assert "not flushed: u0e2ealice_name is no longer allowed to flush" in text
    dms = slack.wait_dms(ALICE, 2)
    assert all("no longer allowed to flush" in block_texts(m["blocks"]) for m in dms), dms
    assert "no longer allowed to flush" in modal_now(slack)


# --- Cancel in the DM -------------------------------------------------------------------------


def test_the_requester_cancels_from_the_dm_after_closing_the_view(launcher: AppLauncher) -> None:
    slack = start(launcher).slack
    view_id, instance_id, _ = requested(slack)
    slack.close_view(ALICE, view_id=view_id)
    record = pending_dm(slack)
    assert record["channel"].startswith("D")
    assert has_buttons(record["message"])
    assert "Cancel request" in str(record["message"]["blocks"])

    answer = slack.click(
        ALICE, "cancel_flush", channel=record["channel"], ts=record["message"]["ts"]
    )
    assert (answer["status"], answer["body"]) == (200, ""), answer

    ended_unflushed(slack, instance_id, "cancelled", ALICE)

    def updated() -> dict[str, Any] | None:
        for r in slack.messages(user_id=ALICE):
            if r["message"]["ts"] == record["message"]["ts"] and r["message"].get("edited"):
                return r["message"]
        return None

    dm = wait_until(updated, "the pending DM's update")
    assert not has_buttons(dm), "the Cancel button is gone"
    assert "You cancelled your cache flush request" in block_texts(dm["blocks"])
    assert "Cancelled by the requester" in block_texts(request_post(slack)["blocks"])


def test_a_refusal_that_mentions_cancel_points_at_a_button_that_exists(
    launcher: AppLauncher,
) -> None:
    slack = start(launcher).slack
    launcher.set_allowed_csv(CSV.replace(f"{ALICE},alice", f"{ALICE},alice,approver"))
    view_id = ask(slack)
    post = request_post(slack)
    slack.close_view(ALICE, view_id=view_id)
    click(slack, ALICE, "approve_flush", post)
    [refusal] = ephemeral_texts(slack, ALICE)
    assert "*Cancel request* in the direct message" in refusal
    assert has_buttons(pending_dm(slack)["message"])


# --- nobody else may approve ------------------------------------------------------------------


def test_a_request_nobody_else_may_approve_is_refused_naming_who_to_ask(
    launcher: AppLauncher,
) -> None:
    contact = "the web team in #web-help"
    slack = start(launcher, **{settings.SUPPORT_CONTACT: contact}).slack
    launcher.set_allowed_csv(f"member_id,name,role\n{ALICE},alice,approver\n{MO},mo\n")
    answer = submit_urls(slack, ["https://www.nhs.uk/a"])
    assert answer["outcome"] == "errors_shown", answer
    error = slack.views(ALICE)[-1]["errors"]["environment"]
    assert "nobody but you may approve" in error
    assert contact in error
    assert slack.channel_posts(APPROVALS_CHANNEL_NAME) == []
    assert slack.instances() == []


# --- the outcome on the request ---------------------------------------------------------------


def test_the_request_message_ends_with_flush_succeeded_and_the_purge_id(
    launcher: AppLauncher,
) -> None:
    slack = start(launcher).slack
    _, instance_id, post = requested(slack)
    click(slack, AMY, "approve_flush", post)
    ended(slack, instance_id)

    def finished() -> str | None:
        text = block_texts(request_post(slack)["blocks"])
        return text if "Flush succeeded" in text else None

    text = wait_until(finished, "the flush's outcome on the request")
    assert "purge ID `" in text
    assert f"Approved by <@{AMY}>" in text


def test_the_request_message_ends_with_flush_failed_and_the_status(launcher: AppLauncher) -> None:
    slack = start(launcher).slack
    slack.flush_fault(status=403, times=1)
    _, instance_id, post = requested(slack)
    click(slack, ANN, "approve_flush", post)
    status = ended(slack, instance_id)
    [flush] = slack.flush_calls()
    assert flush["answer"]["status"] == 403, flush
    assert status["customStatus"] == ending("flush_failed", ANN), status

    def finished() -> str | None:
        text = block_texts(request_post(slack)["blocks"])
        return text if "Flush failed" in text else None

    assert "Flush failed* (HTTP 403)" in wait_until(finished, "the flush's outcome")


# --- clicks bound to their request ------------------------------------------------------------


def test_clicks_from_another_workspace_or_another_message_change_nothing(
    launcher: AppLauncher,
) -> None:
    app = start(launcher)
    slack = app.slack
    _, instance_id, post = requested(slack)
    wait_until(lambda: "dm" in (slack.status(instance_id) or {}).get("customStatus", {}), "dm")

    signed_click(app, ANN, "approve_flush", instance_id, post=post, team_id="T0ELSEWHER")
    assert any("another Slack workspace" in t for t in ephemeral_texts(slack, ANN))
    # A copy of the request with live buttons, as a retried post might leave behind.
    copy = {"channel": APPROVALS_CHANNEL_NAME, "text": post["text"], "blocks": post["blocks"]}
    duplicate = slack.web_api("chat.postMessage", copy, token=KNOWN_SECRETS.bot_token)
    answer = slack.click(AMY, "approve_flush", channel=APPROVALS_CHANNEL_NAME, ts=duplicate["ts"])
    assert (answer["status"], answer["body"]) == (200, "")
    assert any("not on this request's own message" in t for t in ephemeral_texts(slack, AMY))
    assert stage(slack, instance_id) == "awaiting_approval"
    assert slack.flush_calls() == []

    click(slack, ANN, "approve_flush", post)
    assert ended(slack, instance_id)["output"]["approval"]["by"] == ANN


# --- within Slack's deadline ------------------------------------------------------------------


def test_a_start_the_durable_api_confirms_late_is_answered_in_time_and_lands_once(
    launcher: AppLauncher,
) -> None:
    slack = start(launcher).slack
    slack.post("/sim/durable/faults", {"method": "start", "delay": STALL_SECONDS, "times": 1})
    assert slack.command(ALICE, "https://www.nhs.uk/a")["status"] == 200
    view_id = slack.views(ALICE)[-1]["id"]
    # Slack's own 3 seconds, not the harness's patience.
    answer = slack.submit(ALICE, environment="production", view_id=view_id, timeout=3)
    assert answer["status"] == 200, answer
    assert answer["outcome"] == "updated", answer
    text = modal_now(slack)
    assert "Your request has been sent." in text
    assert "direct message" in text

    instance_id = instance_of(slack, view_id)
    click(slack, ANN, "approve_flush", request_post(slack))
    ended(slack, instance_id)
    assert len(slack.instances()) == 1
    [flush] = slack.flush_calls()
    assert flush["objects"] == ["https://www.nhs.uk/a"]
