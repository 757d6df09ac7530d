"""The Slack side of the conversation: signed slash commands, submissions and closes."""

from __future__ import annotations

import asyncio
import time
from typing import Any

import aiohttp

from devhost.standins.slack_requests import SLASH_COMMAND_FIELDS, signature_for
from tests.devhost_simulate.conftest import FORM_VIEW, Received, SimServer, simple_view

USER = "U0TESTUSR1"


def test_slash_command_is_a_signed_slack_form(server: SimServer) -> None:
    server.app.answer_next("/api/slash-start", 200, "")
    answer = server.command(USER, user_name="jane_doe", text="https://www.nhs.uk/a b")
    assert answer["status"] == 200
    assert answer["body"] == ""
    [received] = server.app.received
    assert received.signature_ok
    timestamp = received.headers["X-Slack-Request-Timestamp"]
    secret = server.environ["SLACK_SIGNING_SECRET"]
    expected = signature_for(received.body.encode(), timestamp, secret)
    assert received.headers["X-Slack-Signature"] == expected
    assert abs(int(received.headers["X-Slack-Request-Timestamp"]) - time.time()) < 60
    assert received.headers["Content-Type"] == "application/x-www-form-urlencoded"
    assert [name for name, _ in received.form_pairs] == list(SLASH_COMMAND_FIELDS)
    form = received.form
    assert form["user_id"] == USER
    assert form["user_name"] == "jane_doe"
    assert form["command"] == "/flush"
    assert form["text"] == "https://www.nhs.uk/a b"
    assert form["trigger_id"] == answer["trigger_id"]
    assert form["team_id"].startswith("T")
    assert form["is_enterprise_install"] == "false"


def test_slash_command_text_has_slacks_three_escapes(server: SimServer) -> None:
    server.app.answer_next("/api/slash-start", 200, "")
    server.command(USER, text="https://www.nhs.uk/a?x=1&y=2 <https://www.nhs.uk/b> &lt; ©")
    [received] = server.app.received
    assert received.form["text"] == (
        "https://www.nhs.uk/a?x=1&amp;y=2 &lt;https://www.nhs.uk/b&gt; &amp;lt; ©"
    )


def test_app_answer_and_failures_are_reported(server: SimServer) -> None:
    server.app.answer_next("/api/slash-start", 500, "boom")
    assert server.command(USER)["status"] == 500
    assert server.command(USER)["body"] == ""

    forged = server.command(USER, signing_secret="not-the-secret")
    assert forged["status"] == 401
    assert server.app.received[-1].signature_ok is False

    stale = server.command(USER, timestamp=int(time.time()) - 600)
    assert stale["status"] == 401


def test_slow_app_gets_slacks_operation_timeout(server: SimServer) -> None:
    release = asyncio.Event()

    async def stall(_received: Received) -> None:
        await asyncio.wait_for(release.wait(), 10)

    server.app.hook = stall
    try:
        answer = server.command(USER, timeout=0.2)
    finally:
        server.loop.call_soon_threadsafe(release.set)
    assert answer["status"] is None
    assert answer["error"] == "operation_timeout"


def test_app_can_open_the_modal_while_handling_the_command(server: SimServer) -> None:
    """The realistic flow: the app calls views.open back before answering the command."""
    results: list[dict[str, Any]] = []

    async def open_modal(received: Received) -> None:
        async with (
            aiohttp.ClientSession() as session,
            session.post(
                server.environ["SLACK_API_URL"] + "views.open",
                json={"trigger_id": received.form["trigger_id"], "view": simple_view()},
                headers={"Authorization": f"Bearer {server.token}"},
            ) as response,
        ):
            results.append(await response.json())

    server.app.hook = open_modal
    assert server.command(USER)["status"] == 200
    assert results[0]["ok"] is True
    assert server.views()[0]["id"] == results[0]["view"]["id"]


def test_response_url_messages_are_recorded(server: SimServer) -> None:
    server.command(USER, channel_id="C0CHANNEL1")
    url = server.app.received[0].form["response_url"]
    assert url.startswith(server.base_url + "/sim/slack/response/")
    assert server.http.post(url, json={"text": "only you"}, timeout=10).json() == {"ok": True}
    [message] = server.get("/sim/slack/messages", params={"channel": "C0CHANNEL1"}).json()[
        "messages"
    ]
    assert message["message"]["text"] == "only you"
    assert message["response_type"] == "ephemeral"
    assert server.post("/sim/slack/response/unknown", {"text": "x"}).status_code == 404


def test_a_command_answer_with_a_body_is_shown_to_the_user(server: SimServer) -> None:
    server.app.answer_next("/api/slash-start", 200, {"text": "Working on it"})
    server.app.answer_next("/api/slash-start", 200, "plain words")
    server.command(USER, channel_id="C0CHANNEL2")
    server.command(USER, channel_id="C0CHANNEL2")
    messages = server.get("/sim/slack/messages", params={"channel": "C0CHANNEL2"}).json()
    texts = [(m["user_id"], m["message"]["text"]) for m in messages["messages"]]
    assert texts == [(USER, "Working on it"), (USER, "plain words")]


def _submit(server: SimServer, **body: Any) -> dict[str, Any]:
    response = server.post("/sim/slack/submit", {"user_id": USER, **body})
    assert response.status_code == 200, response.text
    return response.json()


def test_submission_payload_is_built_from_the_view(server: SimServer) -> None:
    view = server.open_view(FORM_VIEW)
    answer = _submit(server, environment="staging", urls="https://www.nhs.uk/a\nhttps://nhs.uk/b")
    assert answer["view_id"] == view["id"]
    [_, received] = server.app.received
    payload = received.interaction("view_submission", USER, "u0testusr1")
    assert payload["api_app_id"] == view["app_id"]
    assert payload["trigger_id"]
    assert payload["token"] == server.app.received[0].form["token"]
    assert payload["response_urls"] == []
    assert payload["is_enterprise_install"] is False
    sent = payload["view"]
    for key in ("id", "hash", "callback_id", "private_metadata", "root_view_id", "blocks"):
        assert sent[key] == view[key]
    assert sent["state"] == {
        "values": {
            "environment": {
                "environment_input": {
                    "type": "static_select",
                    "selected_option": {
                        "text": {"type": "plain_text", "text": "staging", "emoji": True},
                        "value": "staging",
                    },
                }
            },
            "urls": {
                "urls_input": {
                    "type": "plain_text_input",
                    "value": "https://www.nhs.uk/a\nhttps://nhs.uk/b",
                }
            },
        }
    }


def test_submission_finds_fields_by_their_kind_and_keeps_initial_values(server: SimServer) -> None:
    view = {
        **FORM_VIEW,
        "blocks": [
            {**FORM_VIEW["blocks"][1], "block_id": "where"},
            {
                **FORM_VIEW["blocks"][2],
                "block_id": "targets",
                "element": {**FORM_VIEW["blocks"][2]["element"], "action_id": "lines"},
            },
            {
                "type": "input",
                "block_id": "note",
                "optional": True,
                "label": {"type": "plain_text", "text": "Note"},
                "element": {"type": "plain_text_input", "action_id": "note_input"},
            },
        ],
    }
    server.open_view(view)
    _submit(server, environment="production")
    values = server.app.received[-1].payload["view"]["state"]["values"]
    assert values["where"]["environment_input"]["selected_option"]["value"] == "production"
    assert values["targets"]["lines"]["value"] == "https://www.nhs.uk/initial"
    assert values["note"]["note_input"] == {"type": "plain_text_input", "value": None}

    server.open_view(view)
    _submit(
        server, values={"where": "staging", "lines": ["https://a.nhs.uk/", "https://b.nhs.uk/"]}
    )
    values = server.app.received[-1].payload["view"]["state"]["values"]
    assert values["where"]["environment_input"]["selected_option"]["value"] == "staging"
    assert values["targets"]["lines"]["value"] == "https://a.nhs.uk/\nhttps://b.nhs.uk/"


def test_required_fields_left_empty_are_not_sent(server: SimServer) -> None:
    server.open_view(FORM_VIEW)
    response = server.post("/sim/slack/submit", {"user_id": USER, "urls": "https://www.nhs.uk/"})
    assert response.status_code == 422
    assert response.json()["client_errors"] == {"environment": "Please fill out this field."}
    assert [r.path for r in server.app.received] == ["/api/slash-start"]


def test_submit_without_an_open_view_is_refused(server: SimServer) -> None:
    response = server.post("/sim/slack/submit", {"user_id": USER, "environment": "staging"})
    assert response.status_code == 404
    server.open_view(simple_view())
    no_select = server.post("/sim/slack/submit", {"user_id": USER, "environment": "staging"})
    assert no_select.status_code == 400


def test_response_action_update_replaces_the_view(server: SimServer) -> None:
    view = server.open_view(FORM_VIEW)
    processing = simple_view("Processing")
    server.app.answer_next(
        "/api/orchestrator-client", 200, {"response_action": "update", "view": processing}
    )
    answer = _submit(server, environment="staging", urls="https://www.nhs.uk/")
    assert answer["response_action"] == "update"
    assert answer["outcome"] == "updated"
    [stored] = server.views()
    assert stored["id"] == view["id"]
    assert stored["open"] is True
    assert stored["view"]["title"]["text"] == "Processing"
    assert stored["view"]["hash"] != view["hash"]
    assert stored["submissions"][0]["values"]["environment"]["environment_input"]
    later = server.api("views.update", {"view_id": view["id"], "view": simple_view("Done")})
    assert later["ok"] is True


def test_response_action_errors_keeps_the_view_open_with_errors(server: SimServer) -> None:
    server.open_view(FORM_VIEW)
    errors = {"urls": "https://evil.example is not allowed"}
    server.app.answer_next(
        "/api/orchestrator-client", 200, {"response_action": "errors", "errors": errors}
    )
    answer = _submit(server, environment="staging", urls="https://evil.example")
    assert answer["outcome"] == "errors_shown"
    [stored] = server.views()
    assert stored["open"] is True
    assert stored["errors"] == errors

    server.app.answer_next(
        "/api/orchestrator-client", 200, {"response_action": "errors", "errors": {"nope": "x"}}
    )
    bad = _submit(server, environment="staging", urls="https://evil.example")
    assert bad["outcome"].startswith("kept_open")


def test_empty_answer_or_clear_closes_and_failures_keep_the_view(server: SimServer) -> None:
    first = server.open_view(FORM_VIEW)
    assert _submit(server, environment="staging")["outcome"] == "closed"
    assert server.api("views.update", {"view_id": first["id"], "view": simple_view()})["error"] == (
        "not_found"
    )

    server.open_view(FORM_VIEW)
    server.app.answer_next("/api/orchestrator-client", 200, {"response_action": "clear"})
    assert _submit(server, environment="staging")["outcome"] == "cleared"

    kept = server.open_view(FORM_VIEW)
    server.app.answer_next("/api/orchestrator-client", 500, "error")
    failed = _submit(server, environment="staging")
    assert failed["status"] == 500
    assert failed["outcome"] == "kept_open: app answered 500"
    server.app.answer_next("/api/orchestrator-client", 200, "not json")
    assert _submit(server, environment="staging")["outcome"].startswith("kept_open")
    server.app.answer_next(
        "/api/orchestrator-client", 200, {"response_action": "update", "view": {"type": "modal"}}
    )
    assert "invalid view" in _submit(server, environment="staging")["outcome"]
    assert [v["open"] for v in server.views()] == [False, False, True]
    assert server.views()[2]["id"] == kept["id"]


def test_closing_a_view_notifies_the_app_when_asked(server: SimServer) -> None:
    server.open_view(simple_view("Quiet"))
    quiet = server.post("/sim/slack/close", {"user_id": USER}).json()
    assert quiet["notified"] is False
    assert [r.path for r in server.app.received] == ["/api/slash-start"]

    loud = server.open_view(simple_view("Loud", notify_on_close=True))
    answer = server.post("/sim/slack/close", {"user_id": USER}).json()
    assert answer == {
        "view_id": loud["id"],
        "closed": True,
        "notified": True,
        "status": 200,
        "body": "",
    }
    received = server.app.received[-1]
    assert received.signature_ok
    assert received.payload["type"] == "view_closed"
    assert received.payload["view"]["id"] == loud["id"]
    assert received.payload["is_cleared"] is False
    assert server.post("/sim/slack/close", {"user_id": USER}).status_code == 404


def test_events_are_pollable_by_sequence_number(server: SimServer) -> None:
    start = server.get("/sim/events").json()["last_seq"]
    server.open_view(simple_view())
    events = server.get("/sim/slack/events", params={"since": start}).json()["events"]
    kinds = [event["kind"] for event in events]
    assert kinds == ["command", "view_opened", "api_call"]
    last = events[-1]["seq"]
    began = time.monotonic()
    empty = server.get("/sim/slack/events", params={"since": last, "wait": 0.2}).json()
    assert empty["events"] == []
    assert time.monotonic() - began >= 0.2
    server.api("usergroups.users.list", {"usergroup": "S0DEMOGROUP"})
    newer = server.get("/sim/events", params={"since": last, "wait": 5}).json()["events"]
    assert [event["kind"] for event in newer] == ["api_call"]


def test_reset_forgets_everything(server: SimServer) -> None:
    server.open_view(simple_view())
    server.api("chat.postMessage", {"channel": USER, "text": "x"})
    server.post("/sim/slack/faults", {"method": "chat.postMessage", "status": 500})
    assert server.post("/sim/slack/reset").json() == {"reset": True}
    assert server.views() == []
    assert server.get("/sim/slack/messages").json()["messages"] == []
    assert server.get("/sim/slack/calls").json()["calls"] == []
    assert server.get("/sim/slack/faults").json()["faults"] == []
    assert server.get("/sim/slack/events").json()["events"] == []
    assert server.api("usergroups.users.list", {"usergroup": "S0DEMOGROUP"})["ok"] is True


def test_update_racing_the_submission_answer_is_reported(server: SimServer) -> None:
    """Slack applies the submission's answer last: a views.update sent meanwhile is overwritten."""
    view = server.open_view(FORM_VIEW)

    async def update_first(_received: Received) -> None:
        async with (
            aiohttp.ClientSession() as session,
            session.post(
                server.environ["SLACK_API_URL"] + "views.update",
                json={"view_id": view["id"], "view": simple_view("Result")},
                headers={"Authorization": f"Bearer {server.token}"},
            ) as response,
        ):
            assert (await response.json())["ok"] is True

    server.app.hook = update_first
    server.app.answer_next(
        "/api/orchestrator-client",
        200,
        {"response_action": "update", "view": simple_view("Processing")},
    )
    answer = _submit(server, environment="staging")
    assert answer["outcome"].startswith("updated (over 1 views.update")
    assert server.views()[0]["view"]["title"]["text"] == "Processing"
