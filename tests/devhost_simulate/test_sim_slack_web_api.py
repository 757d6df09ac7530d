"""The Slack Web API simulator: authentication, views, messages and call records."""

from __future__ import annotations

import json

import pytest
from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError

from tests.devhost_simulate.conftest import FORM_VIEW, SimServer, simple_view

USER = "U0TESTUSR1"


GROUP = {"usergroup": "S0DEMOGROUP"}


def test_the_web_api_accepts_the_bot_token_only(server: SimServer) -> None:
    method = "usergroups.users.list"
    assert server.api(method, GROUP)["ok"] is True
    assert server.api(method, GROUP, token=None) == {"ok": False, "error": "not_authed"}
    assert server.api(method, GROUP, token="xoxb-x") == {"ok": False, "error": "invalid_auth"}


def test_token_may_come_in_a_form_body(server: SimServer) -> None:
    url = f"{server.base_url}/sim/slack/api/usergroups.users.list"
    good = server.http.post(url, data={"token": server.token, **GROUP}, timeout=10).json()
    bad = server.http.post(url, data={"token": "nope"}, timeout=10).json()
    assert good["ok"] is True
    assert bad["error"] == "invalid_auth"


def test_unknown_method_and_bad_json(server: SimServer) -> None:
    for retired in ("files.upload", "auth.test", "dialog.open"):
        assert server.api(retired)["error"] == "unknown_method"
    response = server.http.post(
        f"{server.base_url}/sim/slack/api/chat.postMessage",
        data="{not json",
        headers={"Content-Type": "application/json", "Authorization": f"Bearer {server.token}"},
        timeout=10,
    )
    assert response.json()["error"] == "invalid_json"


def test_slack_sdk_web_client_works_against_the_simulator(server: SimServer) -> None:
    client = WebClient(token=server.token, base_url=server.environ["SLACK_API_URL"], timeout=5)
    assert client.usergroups_users_list(usergroup="S0DEMOGROUP")["users"] == ["U0GROUPMEMBER"]
    trigger_id = server.command(USER)["trigger_id"]
    opened = client.views_open(trigger_id=trigger_id, view=simple_view("Checking"))
    view_id = opened["view"]["id"]
    updated = client.views_update(view_id=view_id, view=FORM_VIEW)
    assert updated["view"]["id"] == view_id
    assert updated["view"]["callback_id"] == "cache_flush_request"
    dm = client.chat_postMessage(channel=USER, text="Cache flush succeeded")
    assert dm["channel"].startswith("D")
    server.post("/sim/slack/close", {"user_id": USER})
    with pytest.raises(SlackApiError) as raised:
        client.views_update(view_id=view_id, view=simple_view("Done"))
    assert raised.value.response["error"] == "not_found"
    methods = [call["method"] for call in server.get("/sim/slack/calls").json()["calls"]]
    assert methods == [
        "usergroups.users.list",
        "views.open",
        "views.update",
        "chat.postMessage",
        "views.update",
    ]


def test_views_open_needs_a_fresh_unused_trigger(server: SimServer) -> None:
    trigger_id = server.command(USER)["trigger_id"]
    server.clock.advance(2.9)
    first = server.api("views.open", {"trigger_id": trigger_id, "view": simple_view()})
    again = server.api("views.open", {"trigger_id": trigger_id, "view": simple_view()})
    assert first["ok"] is True
    assert again == {"ok": False, "error": "expired_trigger_id"}

    late = server.command(USER)["trigger_id"]
    server.clock.advance(3.1)
    assert server.api("views.open", {"trigger_id": late, "view": simple_view()})["error"] == (
        "expired_trigger_id"
    )
    unknown = server.api("views.open", {"trigger_id": "123.456.abc", "view": simple_view()})
    assert unknown["error"] == "invalid_trigger_id"


def test_views_open_rejects_invalid_views_without_using_the_trigger(server: SimServer) -> None:
    trigger_id = server.command(USER)["trigger_id"]
    too_long = simple_view("A title longer than 24 chars")
    refused = server.api("views.open", {"trigger_id": trigger_id, "view": too_long})
    assert refused["error"] == "invalid_arguments"
    assert any("/view/title/text" in m for m in refused["response_metadata"]["messages"])
    no_submit = {**FORM_VIEW, "submit": None}
    assert server.api("views.open", {"trigger_id": trigger_id, "view": no_submit})["error"] == (
        "invalid_arguments"
    )
    assert server.api("views.open", {"trigger_id": trigger_id, "view": simple_view()})["ok"]


def test_views_open_stores_the_view_for_the_triggering_user(server: SimServer) -> None:
    view = server.open_view(FORM_VIEW, "U0OTHER001")
    assert view["id"].startswith("V")
    assert view["hash"]
    assert view["root_view_id"] == view["id"]
    assert all(block.get("block_id") for block in view["blocks"])
    stored = server.views("U0OTHER001")
    assert [v["id"] for v in stored] == [view["id"]]
    assert stored[0]["open"] is True
    assert server.views(USER) == []


def test_views_push_stacks_a_view_on_the_open_modal_at_most_three_deep(server: SimServer) -> None:
    root = server.open_view(simple_view("Root"))
    nothing_open = server.api(
        "views.push", {"trigger_id": server.command("U0NOMODAL1")["trigger_id"], "view": FORM_VIEW}
    )
    assert nothing_open == {"ok": False, "error": "not_found"}
    pushed = server.api(
        "views.push", {"trigger_id": server.command(USER)["trigger_id"], "view": FORM_VIEW}
    )["view"]
    assert pushed["id"] != root["id"]
    assert (pushed["previous_view_id"], pushed["root_view_id"]) == (root["id"], root["id"])
    third = server.api(
        "views.push", {"trigger_id": server.command(USER)["trigger_id"], "view": simple_view()}
    )
    assert third["ok"] is True
    fourth = server.api(
        "views.push", {"trigger_id": server.command(USER)["trigger_id"], "view": simple_view()}
    )
    assert fourth == {"ok": False, "error": "push_limit_reached"}
    assert [v["id"] for v in server.views(USER)][:2] == [root["id"], pushed["id"]]


def test_views_update_by_id_and_hash_check(server: SimServer) -> None:
    view = server.open_view(simple_view("One"))
    by_id = server.api("views.update", {"view_id": view["id"], "view": simple_view("Two")})
    assert by_id["view"]["title"]["text"] == "Two"
    assert by_id["view"]["id"] == view["id"]
    stale = server.api(
        "views.update", {"view_id": view["id"], "hash": view["hash"], "view": simple_view("Four")}
    )
    assert stale["error"] == "hash_conflict"
    fresh = server.api(
        "views.update",
        {"view_id": view["id"], "hash": by_id["view"]["hash"], "view": simple_view("Four")},
    )
    assert fresh["ok"] is True
    assert server.views()[0]["updates"] == 2
    missing = server.api("views.update", {"view": simple_view("Five")})
    assert missing["error"] == "invalid_arguments"


def test_views_update_not_found_for_closed_or_unknown_views(server: SimServer) -> None:
    view = server.open_view(simple_view())
    closed = server.post("/sim/slack/close", {"user_id": USER}).json()
    assert closed["view_id"] == view["id"]
    after = server.api("views.update", {"view_id": view["id"], "view": simple_view("Late")})
    assert after == {"ok": False, "error": "not_found"}
    unknown = server.api("views.update", {"view_id": "V0NOPE", "view": simple_view()})
    assert unknown["error"] == "not_found"
    assert server.views()[0]["open"] is False
    assert server.views()[0]["closed_by"] == "user"


def test_chat_post_message_dm_versus_channel(server: SimServer) -> None:
    dm = server.api("chat.postMessage", {"channel": USER, "text": "hello you"})
    by_name = server.api("chat.postMessage", {"channel": "cache-flush-notices", "text": "a"})
    by_hash = server.api("chat.postMessage", {"channel": "#cache-flush-notices", "text": "b"})
    by_id = server.api("chat.postMessage", {"channel": by_name["channel"], "text": "c"})
    assert dm["channel"].startswith("D")
    assert dm["message"]["text"] == "hello you"
    assert by_name["channel"].startswith("C")
    assert by_name["channel"] == by_hash["channel"] == by_id["channel"]
    assert float(by_hash["ts"]) > float(by_name["ts"])

    dms = server.get("/sim/slack/messages", params={"user_id": USER}).json()["messages"]
    assert [m["message"]["text"] for m in dms] == ["hello you"]
    assert dms[0]["is_dm"] is True
    posts = server.get("/sim/slack/messages", params={"channel": "cache-flush-notices"}).json()
    assert [m["message"]["text"] for m in posts["messages"]] == ["a", "b", "c"]
    assert all(m["channel_name"] == "cache-flush-notices" for m in posts["messages"])


def test_chat_post_message_checks_content(server: SimServer) -> None:
    assert server.api("chat.postMessage", {"channel": USER})["error"] == "no_text"
    assert server.api("chat.postMessage", {"text": "x"})["error"] == "channel_not_found"
    section = {"type": "section", "text": {"type": "mrkdwn", "text": "x"}}
    too_many = server.api("chat.postMessage", {"channel": USER, "blocks": [section] * 51})
    assert too_many["error"] == "invalid_blocks"
    long_text = {"type": "section", "text": {"type": "mrkdwn", "text": "x" * 3001}}
    assert server.api("chat.postMessage", {"channel": USER, "blocks": [long_text]})["error"] == (
        "invalid_blocks"
    )
    fifty = server.api("chat.postMessage", {"channel": USER, "blocks": [section] * 50})
    assert fifty["ok"] is True


def test_form_encoded_json_arguments_are_decoded_and_recorded(server: SimServer) -> None:
    blocks = [{"type": "section", "text": {"type": "mrkdwn", "text": "from a form"}}]
    answer = server.http.post(
        f"{server.base_url}/sim/slack/api/chat.postMessage",
        data={"channel": "general", "text": "fallback", "blocks": json.dumps(blocks)},
        headers={"Authorization": f"Bearer {server.token}"},
        timeout=10,
    ).json()
    assert answer["ok"] is True
    assert answer["message"]["blocks"][0]["text"]["text"] == "from a form"
    call = server.get("/sim/slack/calls").json()["calls"][0]
    assert call["args"]["blocks"] == blocks
    assert call["outcome"] == {"status": 200, "ok": True}


def test_records_never_contain_the_token(server: SimServer) -> None:
    server.api("usergroups.users.list", GROUP)
    server.http.post(
        f"{server.base_url}/sim/slack/api/usergroups.users.list",
        data={"token": server.token, **GROUP},
        timeout=10,
    )
    server.open_view(simple_view())
    server.api("chat.postMessage", {"channel": USER, "text": "hi"})
    for path in ("/sim/slack/calls", "/sim/slack/views", "/sim/slack/messages", "/sim/events"):
        text = server.get(path).text
        assert len(text) > 20
        assert server.token not in text
    calls = server.get("/sim/slack/calls").json()["calls"]
    assert len(calls) == 4
    assert all("token" not in call["args"] for call in calls)
