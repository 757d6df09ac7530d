"""The Home tab, Flush again and the message shortcut, through a real devhost process.

Slack's side is the simulator's: `app_home_opened` reaches `/api/slack-events` as a signed
Events API delivery, clicks on the Home tab and the shortcut reach `/api/orchestrator-client`
as Slack sends them, and the app answers through the simulated Web API.
"""

from __future__ import annotations

from typing import Any

from devhost.simulate.client import DevhostClient, wait_until
from tests.e2e.harness import block_texts, instance_for
from tests.e2e.launcher import AppLauncher

ALICE = "U0E2EALICE"
STRANGER = "U0E2ENOPE1"
URL_A = "https://www.nhs.uk/a"
URL_B = "https://www.nhs.uk/b"


def buttons(view: dict[str, Any], action_id: str) -> list[dict[str, Any]]:
    """The buttons with ``action_id`` in a view's actions blocks and accessories."""
    found = []
    for block in view["blocks"]:
        elements = block.get("elements", []) if block["type"] == "actions" else []
        for element in [*elements, block.get("accessory")]:
            if isinstance(element, dict) and element.get("action_id") == action_id:
                found.append(element)
    return found


def flush(slack: DevhostClient, user_id: str, urls: str) -> str:
    """Flush ``urls`` to staging as ``user_id``; the finished instance's ID."""
    assert slack.command(user_id, urls)["status"] == 200
    view_id = slack.views(user_id)[-1]["id"]
    assert slack.submit(user_id, environment="staging")["status"] == 200
    instance = wait_until(lambda: instance_for(slack, view_id), "the flush's orchestration")
    slack.wait_status(instance["instanceId"])
    return str(instance["instanceId"])


def form_values(view: dict[str, Any]) -> tuple[str | None, str | None]:
    """The environment and URLs a form view is prefilled with."""
    environment = urls = None
    for block in view["blocks"]:
        element = block.get("element") or {}
        if element.get("type") == "static_select" and element.get("initial_option"):
            environment = element["initial_option"]["value"]
        if element.get("type") == "plain_text_input" and element.get("multiline"):
            urls = element.get("initial_value")
    return environment, urls


def latest_form(slack: DevhostClient, user_id: str) -> dict[str, Any]:
    """The user's newest open view once it is the form (the checking view comes first)."""

    def the_form() -> dict[str, Any] | None:
        views = [v for v in slack.views(user_id) if v["open"]]
        view = views[-1]["view"] if views else None
        has_inputs = view and any(b["type"] == "input" for b in view["blocks"])
        return view if has_inputs else None

    return wait_until(the_form, f"the form for {user_id}")


def test_opening_the_home_tab_publishes_it_and_flush_again_refills_the_form(
    launcher: AppLauncher,
) -> None:
    launcher.allow(ALICE)
    slack = launcher.start().slack
    instance_id = flush(slack, ALICE, URL_A)

    opened = slack.open_home(ALICE)
    assert opened["status"] == 200, opened
    home = opened["home"]["view"]
    assert home["type"] == "home"
    assert "Your recent flushes" in block_texts(home["blocks"])
    assert URL_A in block_texts(home["blocks"])
    [again] = buttons(home, "flush_again")
    assert again["value"] == instance_id
    publishes = len(slack.calls("views.publish"))

    # Slack's retry of the same delivery is acknowledged and publishes nothing more.
    retried = slack.open_home(ALICE, retry_of=opened["event_id"], retry_num=1)
    assert retried["status"] == 200
    # A forged delivery is refused and publishes nothing.
    forged = slack.open_home(ALICE, signing_secret="not-the-signing-secret")
    assert forged["status"] == 401
    assert len(slack.calls("views.publish")) == publishes

    click = slack.click_home(ALICE, "flush_again", button_value=instance_id)
    assert click["status"] == 200, click
    assert form_values(latest_form(slack, ALICE)) == ("staging", URL_A)

    # Someone who may not flush sees no form after a Flush again of someone else's flush.
    stranger = slack.open_home(STRANGER)
    assert stranger["status"] == 200
    assert URL_A not in block_texts(stranger["home"]["view"]["blocks"])
    assert buttons(stranger["home"]["view"], "open_flush_form") == []


def test_the_shortcut_on_a_posted_message_opens_the_form_with_its_links(
    launcher: AppLauncher,
) -> None:
    launcher.allow(ALICE)
    slack = launcher.start().slack
    posted = slack.post_message(STRANGER, f"Stale: {URL_A}, www.nhs.uk/b and {URL_A} again")
    answer = slack.shortcut(ALICE, posted["channel"], posted["ts"])
    assert answer["status"] == 200, answer
    environment, urls = form_values(latest_form(slack, ALICE))
    assert urls == f"{URL_A}\nhttp://www.nhs.uk/b"
    assert environment is None

    refused = slack.shortcut(STRANGER, posted["channel"], posted["ts"])
    assert refused["status"] == 200
    views = slack.views(STRANGER)
    assert views, "the stranger is told why, in a view"
    assert all(not any(b["type"] == "input" for b in v["view"]["blocks"]) for v in views)
    assert URL_B not in block_texts(views[-1]["view"]["blocks"])
