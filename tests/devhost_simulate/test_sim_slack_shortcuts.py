"""Messages people post, and the message shortcut run on them."""

from __future__ import annotations

import pytest

from devhost.simulate.slack_typed import typed_message
from tests.devhost_simulate.conftest import SimServer, simple_view

USER = "U0TESTUSR1"
AUTHOR = "U0AUTHOR01"


def text_element(text: str) -> dict[str, str]:
    """A rich text ``text`` element."""
    return {"type": "text", "text": text}


def link_element(url: str, text: str | None = None) -> dict[str, str]:
    """A rich text ``link`` element; ``text`` is what it shows instead of the URL."""
    element = {"type": "link", "url": url}
    if text is not None:
        element["text"] = text
    return element


@pytest.mark.parametrize(
    ("typed", "text", "elements"),
    [
        ("no links here", "no links here", [text_element("no links here")]),
        (
            "Stale: https://www.nhs.uk/a?x=1&y=2, thanks.",
            "Stale: <https://www.nhs.uk/a?x=1&amp;y=2>, thanks.",
            [
                text_element("Stale: "),
                link_element("https://www.nhs.uk/a?x=1&y=2"),
                text_element(", thanks."),
            ],
        ),
        (
            "see www.nhs.uk/b (and https://x.nhs.uk/a_(b))",
            "see <http://www.nhs.uk/b|www.nhs.uk/b> (and <https://x.nhs.uk/a_(b)>)",
            [
                text_element("see "),
                link_element("http://www.nhs.uk/b", "www.nhs.uk/b"),
                text_element(" (and "),
                link_element("https://x.nhs.uk/a_(b)"),
                text_element(")"),
            ],
        ),
        (
            "a < b & c > d\nhttps://www.nhs.uk/c",
            "a &lt; b &amp; c &gt; d\n<https://www.nhs.uk/c>",
            [text_element("a < b & c > d\n"), link_element("https://www.nhs.uk/c")],
        ),
    ],
)
def test_typed_text_becomes_mrkdwn_and_rich_text(
    typed: str, text: str, elements: list[dict[str, str]]
) -> None:
    got_text, [block] = typed_message(typed)
    assert got_text == text
    assert block == {
        "type": "rich_text",
        "elements": [{"type": "rich_text_section", "elements": elements}],
    }


def test_a_posted_message_is_stored_as_slack_stores_a_persons_message(server: SimServer) -> None:
    answer = server.client.post_message(AUTHOR, "Please flush https://www.nhs.uk/a")
    message = answer["message"]
    assert answer["channel"] == "C0SIMGENRL"
    assert message["user"] == AUTHOR
    assert message["text"] == "Please flush <https://www.nhs.uk/a>"
    assert message["client_msg_id"]
    [block] = message["blocks"]
    assert block["type"] == "rich_text"
    assert block["block_id"]
    [record] = server.client.messages(channel="C0SIMGENRL")
    assert record["channel_name"] == "general"
    assert record["message"] == message

    elsewhere = server.client.post_message(AUTHOR, "hello", channel="#web-team")
    assert elsewhere["channel"].startswith("C")
    assert server.client.channel_posts("web-team")[0]["text"] == "hello"
    refused = server.post("/sim/slack/post", {"user_id": AUTHOR, "text": "x", "channel": "D0ABC"})
    assert refused.status_code == 400
    assert server.post("/sim/slack/post", {"user_id": AUTHOR}).status_code == 400


def test_the_shortcut_sends_a_message_action_with_the_message(server: SimServer) -> None:
    message = server.client.post_message(AUTHOR, "Stale https://www.nhs.uk/a")["message"]
    answer = server.client.shortcut(USER, "general", message["ts"], user_name="jane_doe")
    assert answer["status"] == 200
    payload = server.app.received[-1].interaction("message_action", USER, "jane_doe")
    assert payload["callback_id"] == "flush_links"
    assert payload["channel"] == {"id": "C0SIMGENRL", "name": "general"}
    assert payload["message_ts"] == message["ts"]
    assert payload["message"] == message
    assert payload["trigger_id"] == answer["trigger_id"]
    assert payload["token"]
    assert payload["team"]["id"].startswith("T")
    assert float(payload["action_ts"]) > 0

    # The trigger ID opens the form; what the app posts to response_url shows to the user.
    opened = server.api("views.open", {"trigger_id": payload["trigger_id"], "view": simple_view()})
    assert opened["ok"] is True
    assert server.http.post(payload["response_url"], json={"text": "only you"}, timeout=10).ok
    assert server.client.ephemerals(USER, "C0SIMGENRL")[0]["text"] == "only you"


def test_the_shortcut_works_on_any_message_and_names_its_callback(server: SimServer) -> None:
    posted = server.api("chat.postMessage", {"channel": "cache-flush-notices", "text": "Done"})
    server.client.shortcut(USER, posted["channel"], posted["ts"], callback_id="other_shortcut")
    payload = server.app.received[-1].payload
    assert payload["callback_id"] == "other_shortcut"
    assert payload["channel"] == {"id": posted["channel"], "name": "cache-flush-notices"}
    assert payload["message"]["bot_id"]

    dm = server.api("chat.postMessage", {"channel": USER, "text": "Your flush"})
    server.client.shortcut(USER, dm["channel"], dm["ts"])
    assert server.app.received[-1].payload["channel"]["name"] == "directmessage"

    unknown = server.post("/sim/slack/shortcut", {"user_id": USER, "channel": "general", "ts": "1"})
    assert unknown.status_code == 404
