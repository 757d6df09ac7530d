"""The simulated Slack's rules for what approvals use: updates by the channel ID that
chat.postMessage answered with, and replies in a thread."""

from __future__ import annotations

from typing import Any

from tests.devhost_simulate.conftest import SimServer

CHANNEL = "cache-flush-approvals"
USER = "U0REQUEST1"


def post(server: SimServer, channel: str, **extra: Any) -> dict[str, Any]:
    return server.api("chat.postMessage", {"channel": channel, "text": "t", **extra})


def test_a_dm_is_updated_by_the_d_id_chat_post_message_answered_never_the_user_id(
    server: SimServer,
) -> None:
    dm = post(server, USER)
    assert dm["ok"], dm
    assert dm["channel"].startswith("D"), dm
    by_user = server.api("chat.update", {"channel": USER, "ts": dm["ts"], "text": "x"})
    assert by_user["error"] == "channel_not_found"
    by_id = server.api("chat.update", {"channel": dm["channel"], "ts": dm["ts"], "text": "done"})
    assert by_id["ok"], by_id
    [message] = server.client.dms(USER)
    assert message["text"] == "done"


def test_a_channel_message_is_updated_by_its_id_not_its_name(server: SimServer) -> None:
    posted = post(server, CHANNEL)
    by_name = server.api("chat.update", {"channel": CHANNEL, "ts": posted["ts"], "text": "x"})
    assert by_name["error"] == "channel_not_found"
    by_id = {"channel": posted["channel"], "ts": posted["ts"], "text": "x"}
    assert server.api("chat.update", by_id)["ok"]


def test_replies_join_the_thread_of_their_parent(server: SimServer) -> None:
    parent = post(server, CHANNEL)
    first = post(server, parent["channel"], thread_ts=parent["ts"])
    second = post(server, CHANNEL, thread_ts=first["ts"])  # a reply to a reply
    assert first["ok"]
    assert second["ok"]
    posts = {p["ts"]: p for p in server.client.channel_posts(CHANNEL)}
    assert posts[first["ts"]]["thread_ts"] == parent["ts"]
    assert posts[second["ts"]]["thread_ts"] == parent["ts"]
    assert posts[parent["ts"]]["reply_count"] == 2
    assert posts[parent["ts"]]["thread_ts"] == parent["ts"]


def test_a_reply_to_a_message_that_does_not_exist_is_refused(server: SimServer) -> None:
    post(server, CHANNEL)
    answer = post(server, CHANNEL, thread_ts="1.000001")
    assert answer["error"] == "thread_not_found"
    assert len(server.client.channel_posts(CHANNEL)) == 1
