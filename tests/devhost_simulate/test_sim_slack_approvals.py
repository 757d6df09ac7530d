"""What approvals need from the simulated Slack: updates, ephemerals, user groups, clicks."""

from __future__ import annotations

from typing import Any

import pytest
from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError

from devhost.simulate.client import DevhostError
from devhost.simulate.demo_users import DEMO_USERGROUP, GROUP_DEMO_USER
from shared.views import button
from tests.devhost_simulate.conftest import SimServer, simple_view

REQUESTER = "U0REQUEST1"
APPROVER = "U0APPROVE1"
CHANNEL = "cache-flush-approvals"
BUTTONS: list[dict[str, Any]] = [
    {"type": "section", "text": {"type": "mrkdwn", "text": "Flush production?"}},
    {
        "type": "actions",
        "block_id": "decision",
        "elements": [
            button("Approve", "approve_flush", "req-1", style="primary"),
            button("Reject", "reject_flush", "req-1", style="danger"),
        ],
    },
]


def _web_client(server: SimServer) -> WebClient:
    return WebClient(token=server.token, base_url=server.environ["SLACK_API_URL"], timeout=5)


def _post_request(server: SimServer) -> dict[str, Any]:
    answer = server.api("chat.postMessage", {"channel": CHANNEL, "text": "t", "blocks": BUTTONS})
    assert answer["ok"], answer
    return answer


def test_chat_update_replaces_a_posted_message_by_channel_and_ts(server: SimServer) -> None:
    posted = _post_request(server)
    done = [{"type": "section", "text": {"type": "mrkdwn", "text": "Approved by <@U0APPROVE1>"}}]
    updated = _web_client(server).chat_update(
        channel=posted["channel"], ts=posted["ts"], text="Cache flush approved", blocks=done
    )
    assert updated["ts"] == posted["ts"]
    [post] = server.client.channel_posts(CHANNEL)
    assert post["ts"] == posted["ts"]
    assert post["text"] == "Cache flush approved"
    assert [block["type"] for block in post["blocks"]] == ["section"]
    assert post["edited"]["user"].startswith("U")
    [record] = server.client.messages(channel=CHANNEL)
    assert record["updates"][0]["blocks"][1]["block_id"] == "decision"
    assert [call["method"] for call in server.client.calls()][-1] == "chat.update"


def test_chat_update_errors(server: SimServer) -> None:
    posted = _post_request(server)
    unknown_ts = {"channel": posted["channel"], "ts": "1.000001", "text": "x"}
    assert server.api("chat.update", unknown_ts)["error"] == "message_not_found"
    no_text = {"channel": posted["channel"], "ts": posted["ts"]}
    assert server.api("chat.update", no_text)["error"] == "no_text"
    assert server.api("chat.update", {"ts": posted["ts"], "text": "x"})["error"] == (
        "channel_not_found"
    )
    ephemeral = server.api(
        "chat.postEphemeral", {"channel": CHANNEL, "user": APPROVER, "text": "e"}
    )
    on_ephemeral = {"channel": posted["channel"], "ts": ephemeral["message_ts"], "text": "x"}
    assert server.api("chat.update", on_ephemeral)["error"] == "message_not_found"


def test_chat_post_ephemeral_is_seen_by_one_user_only(server: SimServer) -> None:
    _post_request(server)
    answer = _web_client(server).chat_postEphemeral(
        channel=CHANNEL, user=REQUESTER, text="You cannot approve your own request"
    )
    assert answer["message_ts"]
    assert [m["text"] for m in server.client.ephemerals(REQUESTER)] == [
        "You cannot approve your own request"
    ]
    assert server.client.ephemerals(APPROVER) == []
    assert [m["text"] for m in server.client.channel_posts(CHANNEL)] == ["t"]
    seen_by_approver = server.client.messages(channel=CHANNEL, visible_to=APPROVER)
    assert [record["ephemeral"] for record in seen_by_approver] == [False]
    assert server.api("chat.postEphemeral", {"channel": CHANNEL, "user": "nobody", "text": "x"})[
        "error"
    ] == ("user_not_found")


def test_usergroups_users_list_answers_from_the_workspace(server: SimServer) -> None:
    client = _web_client(server)
    assert client.usergroups_users_list(usergroup=DEMO_USERGROUP)["users"] == [GROUP_DEMO_USER[0]]
    with pytest.raises(SlackApiError) as unknown:
        client.usergroups_users_list(usergroup="S0NOSUCHGRP")
    assert unknown.value.response["error"] == "no_such_subteam"
    assert server.api("usergroups.users.list")["error"] == "invalid_arguments"

    server.client.set_usergroup("S0APPROVERS", [APPROVER, "W0APPROVE2"])
    assert client.usergroups_users_list(usergroup="S0APPROVERS")["users"] == [
        APPROVER,
        "W0APPROVE2",
    ]
    server.client.set_usergroup(DEMO_USERGROUP, None)
    assert server.api("usergroups.users.list", {"usergroup": DEMO_USERGROUP})["error"] == (
        "no_such_subteam"
    )
    with pytest.raises(DevhostError, match="400"):
        server.client.set_usergroup("not-a-group", [APPROVER])
    with pytest.raises(DevhostError, match="400"):
        server.client.set_usergroup("S0APPROVERS", ["bob"])

    server.client.reset()
    assert server.client.usergroups() == {DEMO_USERGROUP: [GROUP_DEMO_USER[0]]}


def test_usergroups_users_list_can_be_made_to_fail(server: SimServer) -> None:
    server.client.slack_fault("usergroups.users.list", status=500)
    server.client.slack_fault("usergroups.users.list", error="missing_scope")
    group = {"usergroup": DEMO_USERGROUP}
    failed = server.http.post(
        server.environ["SLACK_API_URL"] + "usergroups.users.list",
        json=group,
        headers={"Authorization": f"Bearer {server.token}"},
        timeout=10,
    )
    assert failed.status_code == 500
    assert server.api("usergroups.users.list", group)["error"] == "missing_scope"
    assert server.api("usergroups.users.list", group)["ok"] is True


def test_clicking_a_button_in_a_message_sends_signed_block_actions(server: SimServer) -> None:
    posted = _post_request(server)
    answer = server.client.click(
        APPROVER, "approve_flush", channel=CHANNEL, ts=posted["ts"], user_name="ann_approver"
    )
    assert answer["status"] == 200, answer
    assert answer["container"]["type"] == "message"

    [received] = server.app.received
    assert received.headers["Content-Type"] == "application/x-www-form-urlencoded"
    payload = received.interaction("block_actions", APPROVER, "ann_approver")
    assert payload["container"] == {
        "type": "message",
        "message_ts": posted["ts"],
        "channel_id": posted["channel"],
        "is_ephemeral": False,
    }
    assert payload["channel"] == {"id": posted["channel"], "name": CHANNEL}
    assert payload["message"]["ts"] == posted["ts"]
    assert payload["message"]["blocks"][1]["block_id"] == "decision"
    [action] = payload["actions"]
    assert action["action_id"] == "approve_flush"
    assert action["block_id"] == "decision"
    assert action["value"] == "req-1"
    assert action["type"] == "button"
    assert action["style"] == "primary"
    assert float(action["action_ts"]) > 0
    assert payload["api_app_id"].startswith("A")
    assert payload["trigger_id"]
    assert payload["response_url"].startswith(server.base_url)

    server.http.post(payload["response_url"], json={"text": "Only approvers"}, timeout=10)
    assert [m["text"] for m in server.client.ephemerals(APPROVER, CHANNEL)] == ["Only approvers"]


def test_a_click_can_carry_a_tampered_value_and_a_forged_signature(server: SimServer) -> None:
    posted = _post_request(server)
    server.client.click(APPROVER, "reject_flush", channel=CHANNEL, ts=posted["ts"], value="x")
    forged = server.client.click(
        APPROVER, "reject_flush", channel=CHANNEL, ts=posted["ts"], signing_secret="wrong"
    )
    assert forged["status"] == 401
    first, second = server.app.received
    assert first.payload["actions"][0]["value"] == "x"
    assert first.payload["actions"][0]["style"] == "danger"
    assert not second.signature_ok


def test_clicking_a_button_in_a_modal(server: SimServer) -> None:
    cancel = {
        "type": "actions",
        "block_id": "cancel",
        "elements": [button("Cancel request", "cancel_flush", "req-1")],
    }
    view = server.open_view(simple_view("Awaiting approval", blocks=[cancel]), REQUESTER)
    answer = server.client.click(REQUESTER, "cancel_flush", view_id=view["id"])
    assert answer["container"] == {"type": "view", "view_id": view["id"]}
    payload = server.app.received[-1].payload
    assert payload["type"] == "block_actions"
    assert payload["container"] == {"type": "view", "view_id": view["id"]}
    assert payload["view"]["id"] == view["id"]
    assert payload["actions"][0]["action_id"] == "cancel_flush"
    assert payload["actions"][0]["block_id"] == "cancel"
    assert "style" not in payload["actions"][0]
    assert "message" not in payload
    with pytest.raises(DevhostError, match="404"):
        server.client.click(APPROVER, "cancel_flush", view_id=view["id"])


def test_clicking_what_is_not_there_is_a_404(server: SimServer) -> None:
    posted = _post_request(server)
    with pytest.raises(DevhostError, match="404"):
        server.client.click(APPROVER, "no_such_button", channel=CHANNEL, ts=posted["ts"])
    with pytest.raises(DevhostError, match="404"):
        server.client.click(APPROVER, "approve_flush", channel=CHANNEL, ts="1.000002")
    with pytest.raises(DevhostError, match="400"):
        server.client.click(APPROVER, "approve_flush", channel=CHANNEL)
    assert server.app.received == []
