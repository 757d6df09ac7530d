"""Approvals and user groups through a real devhost, clicked as Slack users click.

Each test starts `python -m devhost --simulate` with approvals on for production, acts only
through the simulated Slack (commands, submissions, button clicks as a given user, or signed
requests sent straight to the app) and checks what Slack, cache-flush and the durable
management API saw.
"""

from __future__ import annotations

import json
import signal
from collections.abc import Mapping
from concurrent.futures import ThreadPoolExecutor
from typing import Any, NamedTuple

import pytest

from devhost.simulate.client import DevhostClient, wait_until
from devhost.simulate.demo_users import DEMO_USERGROUP, GROUP_DEMO_USER
from devhost.simulate.settings import APPROVALS_CHANNEL_NAME
from devhost.simulate.slack_workspace import stable_id
from devhost.standins.slack_requests import interaction_body, slack_headers
from shared import settings
from shared.approval import DECISION_EVENT
from tests.e2e.harness import SIGNING_SECRET, block_texts, client, instance_for
from tests.e2e.launcher import AppLauncher, RunningApp

ALICE = "U0E2EALICE"  # asks for flushes
ANN = "U0E2EANNAP"  # approver on the CSV
AMY = "U0E2EAMYAP"  # another approver on the CSV
MO = "U0E2EMOMEM"  # may flush, may not approve
GROUPIE = GROUP_DEMO_USER[0]  # in the simulated workspace's user group only
URL_A = "https://www.nhs.uk/a"
URL_B = "https://www.nhs.uk/b"
CSV = f"member_id,name,role\n{ALICE},alice\n{ANN},ann,approver\n{AMY},amy,Approver\n{MO},mo\n"
APPROVALS = {
    settings.APPROVAL_REQUIRED_ENVIRONMENTS: "production",
    settings.APPROVAL_CHANNEL: APPROVALS_CHANNEL_NAME,
}
REQUEST_TEXT = "Cache flush approval requested"


def name_of(user_id: str) -> str:
    """The Slack user name each simulated user acts under in these tests."""
    return f"{user_id.lower()}_name"


def start(launcher: AppLauncher, **overrides: str) -> RunningApp:
    launcher.set_allowed_csv(CSV)
    return launcher.start(overrides={**APPROVALS, **overrides})


def ask(slack: DevhostClient, user_id: str = ALICE, environment: str = "production") -> str:
    """Run `/flush` with two URLs and submit them; return the submitted view's ID."""
    answer = slack.command(user_id, f"{URL_A} {URL_B}", user_name=name_of(user_id))
    assert answer["status"] == 200, answer
    view_id = slack.views(user_id)[-1]["id"]
    submitted = slack.submit(user_id, environment=environment, view_id=view_id)
    assert submitted["status"] == 200, submitted
    assert submitted["outcome"] == "updated", submitted
    return str(view_id)


def instance_of(slack: DevhostClient, view_id: str) -> str:
    found = wait_until(lambda: instance_for(slack, view_id), f"the orchestration of {view_id}")
    return str(found["instanceId"])


class Requested(NamedTuple):
    """A flush waiting for approval: its view, its orchestration and the request message."""

    view_id: str
    instance_id: str
    post: dict[str, Any]


def requested(slack: DevhostClient, user_id: str = ALICE) -> Requested:
    """Ask for a production flush as `user_id` and wait until its approval request is live."""
    view_id = ask(slack, user_id)
    return Requested(view_id, instance_of(slack, view_id), request_post(slack))


def top_level(slack: DevhostClient) -> list[dict[str, Any]]:
    """The approvals channel's messages, without the replies in their threads."""
    posts = slack.channel_posts(APPROVALS_CHANNEL_NAME)
    return [post for post in posts if post.get("thread_ts") in (None, post["ts"])]


def request_post(slack: DevhostClient) -> dict[str, Any]:
    """The approval request in the approvals channel, once its buttons are live."""

    def posted() -> dict[str, Any] | None:
        posts = top_level(slack)
        if posts and "Approve and Reject appear here" not in block_texts(posts[-1]["blocks"]):
            return posts[-1]
        return None

    return wait_until(posted, "the approval request")


def click(slack: DevhostClient, user_id: str, action_id: str, post: Mapping[str, Any]) -> None:
    """Click a button of the request message as `user_id`; the app must answer an empty 200."""
    answer = slack.click(
        user_id,
        action_id,
        channel=APPROVALS_CHANNEL_NAME,
        ts=post["ts"],
        user_name=name_of(user_id),
    )
    assert (answer["status"], answer["body"]) == (200, ""), answer


def stage(slack: DevhostClient, instance_id: str) -> str | None:
    status = slack.status(instance_id)
    custom = status["customStatus"] if status else None
    return custom.get("stage") if isinstance(custom, dict) else None


def ended(slack: DevhostClient, instance_id: str) -> dict[str, Any]:
    status = slack.wait_status(instance_id)
    assert status["runtimeStatus"] == "Completed", status
    return status


def ending(
    stage: str, decided_by: str | None = None, flush: Mapping[str, Any] | None = None
) -> dict[str, str]:
    """The custom status a flush ends with: its stage, who decided, and the purge ID of the
    cache-flush call `flush` (as the simulator recorded it), each where there is one."""
    status = {"stage": stage}
    if decided_by is not None:
        status.update(decided_by=decided_by, decided_by_name=name_of(decided_by))
    if flush is not None:
        status["purge_id"] = flush["answer"]["body"]["purgeId"]
    return status


def ended_flushed(
    slack: DevhostClient, instance_id: str, approver: str
) -> tuple[dict[str, Any], dict[str, Any]]:
    """Wait until the flush ends flushed, approved by `approver`, with one call to cache-flush;
    return its status and that call."""
    status = ended(slack, instance_id)
    [flush] = slack.flush_calls()
    assert status["customStatus"] == ending("flushed", approver, flush), status
    assert status["output"]["approval"]["outcome"] == "approved", status
    assert status["output"]["approval"]["by"] == approver, status
    return status, flush


def ended_unflushed(
    slack: DevhostClient, instance_id: str, stage: str, decided_by: str | None = None
) -> dict[str, Any]:
    """Wait until the flush ends at `stage`, decided by `decided_by` (None: by nobody), and
    check that nothing reached cache-flush; return its status."""
    status = ended(slack, instance_id)
    assert status["customStatus"] == ending(stage, decided_by), status
    assert status["output"]["approval"]["by"] == decided_by, status
    assert slack.flush_calls() == []
    return status


def request_now(slack: DevhostClient) -> str:
    """The request message's text as it reads now."""
    return block_texts(request_post(slack)["blocks"])


def modal_now(slack: DevhostClient) -> str:
    """The requester's open view's text as it reads now."""
    return block_texts(slack.current_view(ALICE)["blocks"])


def ephemeral_texts(slack: DevhostClient, user_id: str) -> list[str]:
    return [m["text"] for m in slack.ephemerals(user_id)]


def signed_click(
    app: RunningApp,
    user_id: str,
    action_id: str,
    instance_id: str,
    *,
    post: Mapping[str, Any] | None = None,
    team_id: str = "T0SIMTEAM1",
) -> None:
    """A click sent to the app as Slack would send it, without the simulator's message.

    With `post`, the click is on that message of the approvals channel; else on another one.
    """
    channel = stable_id("C", APPROVALS_CHANNEL_NAME) if post else "C0APPROVAL"
    ts = post["ts"] if post else "1.0"
    payload = {
        "type": "block_actions",
        "team": {"id": team_id},
        "user": {"id": user_id, "username": name_of(user_id), "team_id": team_id},
        "container": {"type": "message", "message_ts": ts, "channel_id": channel},
        "channel": {"id": channel},
        "actions": [{"action_id": action_id, "value": instance_id, "type": "button"}],
    }
    body = interaction_body(payload)
    headers = slack_headers(SIGNING_SECRET, body)
    response = app.slack.send("POST", "/api/orchestrator-client", data=body, headers=headers)
    assert (response.status_code, response.text) == (200, "")


# --- each ending ------------------------------------------------------------------------------


def test_an_approved_flush_runs_once_and_names_the_approver(launcher: AppLauncher) -> None:
    slack = start(launcher).slack
    view_id = ask(slack)
    waiting = slack.only_view(ALICE)["view"]
    assert "waiting for approval" in block_texts(waiting["blocks"])
    instance_id = instance_of(slack, view_id)
    post = request_post(slack)
    assert post["text"] == REQUEST_TEXT
    assert URL_A in block_texts(post["blocks"])
    wait_until(lambda: stage(slack, instance_id) == "awaiting_approval", "awaiting_approval")
    assert slack.flush_calls() == []

    click(slack, ANN, "approve_flush", post)

    _, flush = ended_flushed(slack, instance_id, ANN)
    assert (flush["environment"], flush["objects"]) == ("production", [URL_A, URL_B])
    assert f"Approved by <@{ANN}>" in request_now(slack)
    assert not [b for b in request_post(slack)["blocks"] if b["type"] == "actions"]
    dms = slack.wait_dms(ALICE, 3)
    # The pending DM, its Cancel button replaced by the outcome; the outcome; the result.
    texts = [m["text"] for m in dms]
    assert texts == ["Cache flush approved", "Cache flush approved", "Cache flush succeeded"], dms
    assert ANN in block_texts(dms[2]["blocks"]), "the result names the approver"
    assert not [b for b in dms[0]["blocks"] if b["type"] == "actions"], "Cancel removed"
    assert "Cache flush accepted" in modal_now(slack)


def test_a_rejected_flush_never_runs(launcher: AppLauncher) -> None:
    slack = start(launcher).slack
    _, instance_id, post = requested(slack)
    click(slack, AMY, "reject_flush", post)

    ended_unflushed(slack, instance_id, "rejected", AMY)
    assert f"Rejected by <@{AMY}>" in request_now(slack)
    assert [m["text"] for m in slack.wait_dms(ALICE, 2)] == ["Cache flush rejected"] * 2
    assert "rejected" in modal_now(slack)


def test_the_requester_cancels_from_the_modal(launcher: AppLauncher) -> None:
    slack = start(launcher).slack
    view_id, instance_id, _ = requested(slack)

    answer = slack.click(ALICE, "cancel_flush", view_id=view_id)
    assert (answer["status"], answer["body"]) == (200, ""), answer

    ended_unflushed(slack, instance_id, "cancelled", ALICE)
    assert "Cancelled by the requester" in request_now(slack)
    assert [m["text"] for m in slack.wait_dms(ALICE, 2)] == ["Cache flush cancelled"] * 2
    assert "cancelled" in modal_now(slack)


def test_an_undecided_request_expires_without_a_flush(launcher: AppLauncher) -> None:
    app = start(launcher, **{settings.APPROVAL_TIMEOUT_MINUTES: "0.02"})
    slack = app.slack
    _, instance_id, _ = requested(slack)

    ended_unflushed(slack, instance_id, "expired")
    assert "Expired: nobody approved within 0.02 minutes (1.2 seconds)" in request_now(slack)
    expired = ["Cache flush request expired"] * 2
    assert [m["text"] for m in slack.wait_dms(ALICE, 2)] == expired

    signed_click(app, ANN, "approve_flush", instance_id)  # a late click on a stale screen
    assert any("it expired" in text for text in ephemeral_texts(slack, ANN))
    assert slack.flush_calls() == []


def test_two_approvers_clicking_at_once_make_one_decision(launcher: AppLauncher) -> None:
    app = start(launcher)
    slack = app.slack
    _, instance_id, post = requested(slack)
    clients = [client(slack.base_url) for _ in range(2)]

    def press(pair: tuple[DevhostClient, str]) -> None:
        click(pair[0], pair[1], "approve_flush", post)

    with ThreadPoolExecutor(2) as pool:
        list(pool.map(press, zip(clients, (ANN, AMY), strict=True)))
    for extra in clients:
        extra.close()

    status = ended(slack, instance_id)
    winner = status["output"]["approval"]["by"]
    assert winner in (ANN, AMY), status
    assert len(slack.flush_calls()) == 1
    text = request_now(slack)
    assert f"Approved by <@{winner}>" in text
    assert text.count("Approved by") == 1


# --- a second person's click, always --------------------------------------------------------


def test_a_production_flush_never_reaches_cache_flush_without_a_second_person(
    launcher: AppLauncher,
) -> None:
    app = start(launcher, **{settings.APPROVAL_TIMEOUT_MINUTES: "0.1"})
    slack = app.slack
    launcher.set_allowed_csv(CSV.replace(f"{ALICE},alice", f"{ALICE},alice,approver"))
    _, instance_id, post = requested(slack)

    click(slack, ALICE, "approve_flush", post)  # the requester, an approver too
    click(slack, MO, "approve_flush", post)  # not an approver
    signed_click(app, ANN, "cancel_flush", instance_id)  # only the requester cancels
    assert any("someone else must approve" in t for t in ephemeral_texts(slack, ALICE))
    assert any("Only approvers" in t for t in ephemeral_texts(slack, MO))
    assert any("Only the person who asked" in t for t in ephemeral_texts(slack, ANN))
    # A decision forged past the app: the orchestrator checks four eyes again.
    forged = {"action": "approve", "user_id": ALICE, "user_name": "alice"}
    assert slack.raise_event(instance_id, DECISION_EVENT, json.dumps(forged)) == 202

    ended_unflushed(slack, instance_id, "expired")


# --- a restart while waiting -----------------------------------------------------------------


@pytest.mark.parametrize("stop", [signal.SIGTERM, signal.SIGKILL])
def test_the_timer_fires_after_a_restart(launcher: AppLauncher, stop: signal.Signals) -> None:
    # Long enough that the host is always stopped while the request still waits, even on a
    # busy machine: a kill during the expiry's own notifications would rightly send them twice.
    timeout = {settings.APPROVAL_TIMEOUT_MINUTES: "0.2"}
    first = start(launcher, **timeout)
    _, instance_id, _ = requested(first.slack)
    # Stop only once the request and the pending DM are both posted and recorded.
    wait_until(
        lambda: "dm" in (first.slack.status(instance_id) or {}).get("customStatus", {}), "the wait"
    )
    assert stage(first.slack, instance_id) == "awaiting_approval"
    if stop is signal.SIGTERM:
        first.process.stop(stop)
    else:
        first.process.kill()

    second = launcher.start(
        port=first.port, state_dir=first.state_dir, overrides={**APPROVALS, **timeout}
    )
    ended_unflushed(second.slack, instance_id, "expired")
    # The simulated Slack restarted too, so the pending DM to update is gone from it.
    assert [m["text"] for m in second.slack.wait_dms(ALICE)] == ["Cache flush request expired"]


def test_a_decision_after_a_restart_still_lands(launcher: AppLauncher) -> None:
    first = start(launcher)
    _, instance_id, first_post = requested(first.slack)
    wait_until(
        lambda: "dm" in (first.slack.status(instance_id) or {}).get("customStatus", {}), "the wait"
    )
    assert first.process.kill() == -signal.SIGKILL

    second = launcher.start(port=first.port, state_dir=first.state_dir, overrides=APPROVALS)
    assert stage(second.slack, instance_id) == "awaiting_approval"
    post = first_post  # Slack keeps its messages; the app's new process must accept the click
    signed_click(second, ANN, "approve_flush", instance_id, post=post)

    status = ended(second.slack, instance_id)
    assert status["output"]["approval"]["by"] == ANN, status
    [flush] = second.slack.flush_calls()
    assert flush["objects"] == [URL_A, URL_B]


# --- user groups ------------------------------------------------------------------------------


def test_user_groups_grant_flushing_and_approving(launcher: AppLauncher) -> None:
    slack = start(
        launcher,
        **{settings.ALLOWED_USERGROUPS: DEMO_USERGROUP, settings.APPROVER_USERGROUPS: "S0E2EAPPRV"},
    ).slack
    slack.set_usergroup("S0E2EAPPRV", [MO])
    _, instance_id, post = requested(slack, GROUPIE)
    assert "<!subteam^S0E2EAPPRV>" in block_texts(post["blocks"])

    click(slack, MO, "approve_flush", post)

    status = ended(slack, instance_id)
    assert status["output"]["approval"]["by"] == MO, status
    assert len(slack.flush_calls()) == 1


def test_without_user_groups_a_group_member_may_not_flush(launcher: AppLauncher) -> None:
    slack = start(launcher).slack
    answer = slack.command(GROUPIE, URL_A)
    assert answer["status"] == 200, answer
    assert "do not have access" in block_texts(slack.current_view(GROUPIE)["blocks"])
    assert slack.instances() == []


def test_a_failing_user_group_lookup_leaves_the_csv_deciding(launcher: AppLauncher) -> None:
    slack = start(launcher, **{settings.ALLOWED_USERGROUPS: DEMO_USERGROUP}).slack
    slack.slack_fault("usergroups.users.list", times=50, error="internal_error")

    assert slack.command(GROUPIE, URL_A)["status"] == 200
    assert "do not have access" in block_texts(slack.current_view(GROUPIE)["blocks"])
    view_id = ask(slack, ALICE, environment="staging")
    status = ended(slack, instance_of(slack, view_id))
    assert status["output"]["flush"]["ok"] is True, status
    assert len(slack.flush_calls()) == 1
