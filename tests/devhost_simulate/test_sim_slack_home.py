"""The App Home tab: `views.publish`, `app_home_opened` deliveries and clicks on Home buttons."""

from __future__ import annotations

import time
from typing import Any

import aiohttp

from shared.views import button
from tests.devhost_simulate.conftest import Received, SimServer, simple_view

USER = "U0TESTUSR1"
OTHER = "U0TESTUSR2"


def home_view(*instances: str, text: str = "Your recent flushes") -> dict[str, Any]:
    """A Home view with a New flush button and one Flush again button per instance."""
    blocks: list[dict[str, Any]] = [
        {"type": "header", "text": {"type": "plain_text", "text": "Cache Flush"}},
        {
            "type": "actions",
            "block_id": "home_actions",
            "elements": [button("New flush", "open_flush_form", "new")],
        },
        {"type": "section", "text": {"type": "mrkdwn", "text": f"*{text}*"}},
    ]
    for instance in instances:
        blocks.append(
            {
                "type": "section",
                "block_id": f"flush_{instance}",
                "text": {"type": "mrkdwn", "text": f"Flush {instance}"},
                "accessory": button("Flush again", "flush_again", instance),
            }
        )
    return {"type": "home", "callback_id": "home", "blocks": blocks}


def publish(server: SimServer, user_id: str = USER, **extra: Any) -> dict[str, Any]:
    view = extra.pop("view", None) or home_view()
    return server.api("views.publish", {"user_id": user_id, "view": view, **extra})


def test_publish_keeps_one_view_per_user_with_a_new_hash_each_time(server: SimServer) -> None:
    first = publish(server)
    assert first["ok"] is True
    view = first["view"]
    assert view["id"].startswith("V")
    assert view["type"] == "home"
    assert view["close"] is None
    assert view["submit"] is None
    assert view["root_view_id"] == view["id"]
    assert all(block["block_id"] for block in view["blocks"])

    second = publish(server, view=home_view("abc"), hash=view["hash"])
    assert second["ok"] is True
    assert second["view"]["id"] == view["id"]
    assert second["view"]["hash"] != view["hash"]

    assert publish(server, hash=view["hash"]) == {"ok": False, "error": "hash_conflict"}
    other = publish(server, OTHER)["view"]
    assert other["id"] != view["id"]

    [home] = server.get("/sim/slack/home", params={"user_id": USER}).json()["homes"]
    assert home["publishes"] == 2
    assert home["view"] == second["view"]
    assert server.client.home(USER) == second["view"]
    assert server.client.home("U0NOBODY1") is None
    assert [call["outcome"]["ok"] for call in server.client.calls("views.publish")] == [
        True,
        True,
        False,
        True,
    ]


def test_publish_refuses_what_slack_refuses(server: SimServer) -> None:
    refused = publish(server, view=simple_view())
    assert refused["error"] == "invalid_arguments"
    assert "must be `home`" in refused["response_metadata"]["messages"][0]
    missing_user = server.api("views.publish", {"view": home_view()})
    assert missing_user["error"] == "invalid_arguments"
    assert server.api("views.publish", {"user_id": USER})["error"] == "invalid_arguments"
    assert publish(server, "C0CHANNEL1")["error"] == "user_not_found"
    assert publish(server, hash="1700000000.abcd")["error"] == "hash_conflict"
    too_many = {"type": "home", "blocks": [{"type": "divider"}] * 101}
    assert publish(server, view=too_many)["error"] == "invalid_arguments"
    huge = home_view(text="x" * 2900)
    huge["blocks"] *= 100
    assert publish(server, view=huge)["error"] == "view_too_large"
    assert server.api("views.publish", {"user_id": USER, "view": home_view()}, token=None) == {
        "ok": False,
        "error": "not_authed",
    }
    assert server.client.home(USER) is None


def test_opening_the_home_tab_delivers_a_signed_event(server: SimServer) -> None:
    answer = server.client.open_home(USER, user_name="jane_doe")
    assert answer["status"] == 200
    assert answer["home"] is None
    [received] = server.app.received
    assert received.path == "/api/slack-events"
    assert received.signature_ok
    assert received.headers["Content-Type"] == "application/json"
    assert "X-Slack-Retry-Num" not in received.headers
    envelope = received.json
    assert envelope["type"] == "event_callback"
    assert envelope["event_id"] == answer["event_id"]
    assert envelope["event_id"].startswith("Ev")
    assert abs(envelope["event_time"] - time.time()) < 60
    assert envelope["team_id"].startswith("T")
    assert envelope["api_app_id"].startswith("A")
    assert envelope["is_ext_shared_channel"] is False
    assert envelope["authorizations"][0]["is_bot"] is True
    assert envelope["event_context"]
    event = envelope["event"]
    assert event["type"] == "app_home_opened"
    assert event["user"] == USER
    assert event["channel"].startswith("D")
    assert event["tab"] == "home"
    assert float(event["event_ts"]) > 0
    assert "view" not in event

    # Once a Home view is published, every later opening carries it, with a new event ID.
    view = publish(server)["view"]
    again = server.client.open_home(USER)
    assert again["event_id"] != answer["event_id"]
    assert server.app.received[-1].json["event"]["view"] == view
    assert again["home"]["view"] == view
    messages_tab = server.client.open_home(USER, tab="messages")
    assert messages_tab["status"] == 200
    assert "view" not in server.app.received[-1].json["event"]


def test_the_app_can_publish_while_handling_the_event(server: SimServer) -> None:
    """The realistic flow: the app calls views.publish before it answers the delivery."""

    async def publish_home(received: Received) -> None:
        user_id = received.json["event"]["user"]
        async with (
            aiohttp.ClientSession() as session,
            session.post(
                server.environ["SLACK_API_URL"] + "views.publish",
                json={"user_id": user_id, "view": home_view("abc")},
                headers={"Authorization": f"Bearer {server.token}"},
            ) as response,
        ):
            assert (await response.json())["ok"] is True

    server.app.hook = publish_home
    answer = server.client.open_home(USER)
    assert answer["home"]["view"]["blocks"][-1]["accessory"]["value"] == "abc"
    kinds = [event["kind"] for event in server.client.events()["events"]]
    assert kinds[-3:] == ["home_published", "api_call", "event_delivery"]


def test_retries_resend_the_same_envelope_with_slacks_headers(server: SimServer) -> None:
    first = server.client.open_home(USER)
    retried = server.client.open_home(
        USER, retry_of=first["event_id"], retry_num=2, retry_reason="http_error"
    )
    assert retried["event_id"] == first["event_id"]
    original, retry = server.app.received
    assert retry.body == original.body
    assert retry.signature_ok
    assert retry.headers["X-Slack-Retry-Num"] == "2"
    assert retry.headers["X-Slack-Retry-Reason"] == "http_error"
    unknown = server.post("/sim/slack/home/open", {"user_id": USER, "retry_of": "Ev0NOTSENT"})
    assert unknown.status_code == 404
    bad = server.post(
        "/sim/slack/app-event", {"retry_of": first["event_id"], "retry_reason": "bored"}
    )
    assert bad.status_code == 400


def test_forged_and_stale_deliveries_reach_the_app_as_such(server: SimServer) -> None:
    forged = server.client.open_home(USER, signing_secret="not-the-secret")
    assert forged["status"] == 401
    stale = server.client.open_home(USER, timestamp=int(time.time()) - 600)
    assert stale["status"] == 401
    assert [r.signature_ok for r in server.app.received] == [False, False]


def test_any_event_and_the_url_verification(server: SimServer) -> None:
    answer = server.client.app_event({"type": "member_joined_channel", "user": USER})
    assert answer["status"] == 200
    assert server.app.received[-1].json["event"]["type"] == "member_joined_channel"
    assert server.post("/sim/slack/app-event", {"event": {"user": USER}}).status_code == 400

    async def echo(received: Received) -> None:
        server.app.answer_next("/api/slack-events", 200, {"challenge": received.json["challenge"]})

    server.app.hook = echo
    verified = server.post("/sim/slack/url-verification", {}).json()
    assert verified["verified"] is True
    body = server.app.received[-1].json
    assert body["type"] == "url_verification"
    assert body["challenge"] == verified["challenge"]
    assert set(body) == {"token", "challenge", "type"}
    server.app.hook = None
    server.app.answer_next("/api/slack-events", 200, "something else")
    assert server.post("/sim/slack/url-verification", {}).json()["verified"] is False


def test_a_click_on_the_home_tab_is_a_block_action_from_a_view(server: SimServer) -> None:
    view = publish(server, view=home_view("first", "second"))["view"]
    answer = server.client.click_home(USER, "flush_again", button_value="second")
    assert answer["container"] == {"type": "view", "view_id": view["id"]}
    payload = server.app.received[-1].interaction("block_actions", USER, "u0testusr1")
    assert payload["container"] == {"type": "view", "view_id": view["id"]}
    assert payload["view"] == view
    assert payload["view"]["type"] == "home"
    assert payload["api_app_id"] == view["app_id"]
    [action] = payload["actions"]
    assert action["action_id"] == "flush_again"
    assert action["value"] == "second"
    assert action["block_id"] == "flush_second"
    assert "response_url" not in payload
    # The click's trigger ID opens a modal, once.
    opened = server.api("views.open", {"trigger_id": payload["trigger_id"], "view": simple_view()})
    assert opened["ok"] is True
    assert server.views()[-1]["id"] == opened["view"]["id"]

    server.client.click_home(USER, "flush_again", block_id="flush_first")
    assert server.app.received[-1].payload["actions"][0]["value"] == "first"
    server.client.click_home(USER, "flush_again")
    assert server.app.received[-1].payload["actions"][0]["value"] == "first"
    server.client.click_home(USER, "flush_again", button_value="first", value="tampered")
    assert server.app.received[-1].payload["actions"][0]["value"] == "tampered"

    missing = server.post("/sim/slack/home/click", {"user_id": USER, "action_id": "approve_flush"})
    assert missing.status_code == 404
    nobody = server.post("/sim/slack/home/click", {"user_id": OTHER, "action_id": "flush_again"})
    assert nobody.status_code == 404
