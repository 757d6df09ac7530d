"""New flush, Flush again and the "Flush links in this message" shortcut, through
`/api/orchestrator-client`: the checking view first, the access check, then the form.

Slack, the durable API and storage are stand-ins on 127.0.0.1 (Azurite for the list); the
durable client is the real `DurableOrchestrationClient`.
"""

from __future__ import annotations

import json
import time
from typing import Any

import azure.functions as func
import pytest
from slack_sdk import WebClient

from devhost.simulate.slack_surfaces import message_action_payload
from devhost.simulate.slack_user import SlackUser, block_actions_payload
from devhost.standins.slack_requests import (
    LEGACY_VERIFICATION_TOKEN,
    RESPONSE_URL_BASE,
    interaction_body,
    new_trigger_id,
)
from shared.approval import Ended, Stage, WaitingPlaces
from shared.handoffs import ApprovalPlan
from shared.instance_ids import instance_id
from tests.support import constants
from tests.support.app_env import AppEnv
from tests.support.flushes import (
    MESSAGE_LINKS,
    MESSAGE_WITH_LINKS,
    call_orchestrator_client,
    flush_request,
    store_flush,
)

USER = constants.USER_ID
OTHER = constants.OTHER_USER_ID
TEAM = constants.TEAM_ID
URLS = ["https://www.nhs.uk/conditions/flu/", "https://www.nhs.uk/conditions/covid-19/"]
PLAN = ApprovalPlan(constants.APPROVAL_CHANNEL_ID, 60, "x")


def call(env: AppEnv, payload: dict[str, Any]) -> func.HttpResponse:
    return call_orchestrator_client(env, interaction_body(payload))


def who(user: str) -> SlackUser:
    return SlackUser(user, f"name_{user.lower()}", TEAM)


def click(
    action_id: str, value: str = "", *, user: str = USER, where: str = "home", view_id: str = ""
) -> Any:
    """A button click on the Home tab, in a modal (`view_id`) or in a direct message."""
    if where in ("home", "modal"):
        view_id = view_id or "V0HOMETAB1"
        container = {"type": "view", "view_id": view_id}
        place: dict[str, Any] = {"view": {"id": view_id, "type": where, "blocks": []}}
    else:
        container = {"type": "message", "channel_id": "D0DMCHAN01", "message_ts": "1.000001"}
        place = {"channel": {"id": "D0DMCHAN01"}, "message": {"ts": "1.000001"}}
    return block_actions_payload(
        who(user),
        container=container,
        context=place,
        block_id="b1",
        button={"type": "button", "action_id": action_id, "value": value},
        value=None,
        action_ts=f"{time.time():.6f}",
        verification_token=LEGACY_VERIFICATION_TOKEN,
        trigger_id=new_trigger_id(user, TEAM),
    )


def shortcut(message: dict[str, Any], callback_id: str = "flush_links", user: str = USER) -> Any:
    return message_action_payload(
        who(user),
        callback_id=callback_id,
        channel={"id": "C0WEBTEAM1", "name": "web-team"},
        message={"type": "message", "user": OTHER, "ts": "1700000000.000100", **message},
        response_url=f"{RESPONSE_URL_BASE}/actions/1",
        verification_token=LEGACY_VERIFICATION_TOKEN,
        trigger_id=new_trigger_id(user, TEAM),
    )


def form_shown(env: AppEnv) -> dict[str, Any]:
    """The view the checking view was replaced by (after exactly one views.open)."""
    [opened] = env.slack.calls("views.open")
    assert "Checking" in json.dumps(opened.args["view"])
    [updated] = env.slack.calls("views.update")
    view = updated.args["view"]
    return json.loads(view) if isinstance(view, str) else view


def field(view: dict[str, Any], block_id: str) -> dict[str, Any]:
    [block] = [b for b in view["blocks"] if b.get("block_id") == block_id]
    return block["element"]


def add_flush(
    env: AppEnv,
    view: str,
    user: str = USER,
    *,
    urls: list[str] = URLS,
    approval: ApprovalPlan | None = None,
) -> str:
    request = flush_request(
        user_id=user,
        user_name="someone",
        view_id=view,
        environment="production",
        urls=tuple(urls),
        approval=approval,
    )
    return store_flush(env, request, custom_status=Ended(Stage.FLUSHED).status())


@pytest.fixture
def allowed(app_env: AppEnv) -> AppEnv:
    app_env.allow(USER)
    return app_env


def test_new_flush_opens_an_empty_form(allowed: AppEnv) -> None:
    response = call(allowed, click("open_flush_form"))
    assert (response.status_code, response.get_body()) == (200, b"")
    view = form_shown(allowed)
    assert view["callback_id"] == "cache_flush_request"
    assert "initial_value" not in field(view, "urls")
    assert allowed.durable_api.starts == []


@pytest.mark.parametrize("where", ["home", "dm"])
def test_flush_again_opens_the_form_as_the_earlier_flush_was(allowed: AppEnv, where: str) -> None:
    instance = add_flush(allowed, "V0EARLIER1")
    call(allowed, click("flush_again", instance, where=where))
    view = form_shown(allowed)
    assert field(view, "urls")["initial_value"] == "\n".join(URLS)
    assert field(view, "environment")["initial_option"]["value"] == "production"
    assert allowed.durable_api.starts == [], "nothing is flushed until the form is submitted"


def test_flush_again_in_the_result_modal_pushes_the_form_onto_it(allowed: AppEnv) -> None:
    slack = WebClient(token=constants.SLACK_BOT_TOKEN, base_url=allowed.slack.base_url)
    result = {"type": "modal", "title": {"type": "plain_text", "text": "Cache Flush"}, "blocks": []}
    shown = slack.views_open(trigger_id=new_trigger_id(), view=result)["view"]
    instance = add_flush(allowed, "V0EARLIER3")
    call(allowed, click("flush_again", instance, where="modal", view_id=shown["id"]))
    [pushed] = allowed.slack.calls("views.push")
    assert "Checking" in json.dumps(pushed.args["view"])
    assert len(allowed.slack.calls("views.open")) == 1, "a modal's click pushes, as Slack requires"
    [updated] = allowed.slack.calls("views.update")
    assert updated.args["view_id"] != shown["id"]
    form = updated.args["view"]
    form = json.loads(form) if isinstance(form, str) else form
    assert field(form, "urls")["initial_value"] == "\n".join(URLS)


def test_flush_again_in_a_dialog_that_has_closed_opens_a_new_one(allowed: AppEnv) -> None:
    instance = add_flush(allowed, "V0EARLIER4")
    call(allowed, click("flush_again", instance, where="modal", view_id="V0CLOSED01"))
    [refused] = allowed.slack.calls("views.push")
    [opened] = allowed.slack.calls("views.open")
    assert opened.args["trigger_id"] == refused.args["trigger_id"]
    [updated] = allowed.slack.calls("views.update")
    form = updated.args["view"]
    form = json.loads(form) if isinstance(form, str) else form
    assert field(form, "urls")["initial_value"] == "\n".join(URLS)


def test_flush_again_of_more_urls_than_the_form_holds_says_which_are_left_out(
    allowed: AppEnv,
) -> None:
    many = [f"https://www.nhs.uk/conditions/page-{n:04d}/" for n in range(150)]
    instance = add_flush(allowed, "V0MANYURLS", urls=many)
    call(allowed, click("flush_again", instance))
    view = form_shown(allowed)
    shown = field(view, "urls")["initial_value"].splitlines()
    assert shown == many[: len(shown)]
    assert 0 < len(shown) < len(many)
    assert f"Only the first {len(shown)} of the 150 URLs fit the form" in json.dumps(view)


def test_flush_again_checks_access_like_flush(app_env: AppEnv) -> None:
    app_env.allow(OTHER)
    instance = add_flush(app_env, "V0EARLIER2")
    call(app_env, click("flush_again", instance))
    view = form_shown(app_env)
    assert "You do not have access to flush the cache" in json.dumps(view)
    assert "callback_id" not in view, "the not-allowed view, never the form"


def test_flush_again_of_a_purged_flush_opens_an_empty_form_saying_why(allowed: AppEnv) -> None:
    call(allowed, click("flush_again", instance_id(TEAM, USER, "V0PURGED01")))
    view = form_shown(allowed)
    assert "initial_value" not in field(view, "urls")
    assert "no longer in the app's history" in json.dumps(view)


def test_flush_again_of_someone_elses_flush_does_not_show_their_urls(allowed: AppEnv) -> None:
    theirs = add_flush(allowed, "V0THEIRS01", user=OTHER)
    call(allowed, click("flush_again", theirs))
    view = form_shown(allowed)
    assert "initial_value" not in field(view, "urls")
    assert URLS[0] not in json.dumps(view)


def test_a_click_without_a_trigger_id_is_a_400(allowed: AppEnv) -> None:
    payload = click("open_flush_form")
    del payload["trigger_id"]
    assert call(allowed, payload).status_code == 400
    assert allowed.slack.calls() == []


def test_the_shortcut_opens_the_form_with_the_messages_links_in_order(allowed: AppEnv) -> None:
    response = call(allowed, shortcut(MESSAGE_WITH_LINKS))
    assert (response.status_code, response.get_body()) == (200, b"")
    view = form_shown(allowed)
    assert field(view, "urls")["initial_value"] == "\n".join(MESSAGE_LINKS)


def test_the_shortcut_on_a_message_without_links_opens_an_empty_form_saying_why(
    allowed: AppEnv,
) -> None:
    call(allowed, shortcut({"text": "the home page looks stale", "blocks": []}))
    view = form_shown(allowed)
    assert "initial_value" not in field(view, "urls")
    assert "no http(s) links" in json.dumps(view)


def test_the_shortcut_reads_a_messages_links_as_slack_escapes_them(allowed: AppEnv) -> None:
    text = "<https://www.nhs.uk/a?x=1&amp;copy=2&amp;lt;|the page> &lt;https://www.nhs.uk/b&gt;"
    call(allowed, shortcut({"text": text, "blocks": []}))
    view = form_shown(allowed)
    assert field(view, "urls")["initial_value"] == "https://www.nhs.uk/a?x=1&copy=2&lt;"


def test_the_shortcut_on_a_message_of_odd_shape_opens_the_form_with_the_links_it_has(
    allowed: AppEnv,
) -> None:
    blocks: list[Any] = [
        {"type": "section", "fields": 5},
        {"type": "section", "text": "<https://www.nhs.uk/x/>", "fields": "abc"},
        "a block that is not an object",
        {"type": "rich_text", "elements": {"type": "link", "url": "https://www.nhs.uk/y/"}},
        {"type": "rich_text", "elements": [7, {"type": "link", "url": 5}]},
        {"type": "section", "fields": [3, {"type": "mrkdwn", "text": "<https://www.nhs.uk/z/>"}]},
    ]
    response = call(allowed, shortcut({"text": 5, "blocks": blocks}))
    assert (response.status_code, response.get_body()) == (200, b"")
    view = form_shown(allowed)
    assert field(view, "urls")["initial_value"] == "https://www.nhs.uk/z/"


def test_the_shortcut_by_someone_who_may_not_flush_shows_the_not_allowed_view(
    app_env: AppEnv,
) -> None:
    app_env.allow(OTHER)
    call(app_env, shortcut(MESSAGE_WITH_LINKS))
    view = form_shown(app_env)
    assert "You do not have access to flush the cache" in json.dumps(view)
    assert "https://www.nhs.uk/a/" not in json.dumps(view)


def test_another_shortcut_gets_200_and_nothing_happens(allowed: AppEnv) -> None:
    response = call(allowed, shortcut(MESSAGE_WITH_LINKS, callback_id="something_else"))
    assert (response.status_code, response.get_body()) == (200, b"")
    assert allowed.slack.calls() == []


def test_a_shortcut_without_a_user_is_a_400(allowed: AppEnv) -> None:
    payload = shortcut(MESSAGE_WITH_LINKS)
    del payload["user"]
    assert call(allowed, payload).status_code == 400
    assert allowed.slack.calls() == []


@pytest.mark.usefixtures("approvals_on")
def test_an_approver_approves_from_the_home_tab_and_the_tab_is_published_again(
    app_env: AppEnv,
) -> None:
    app_env.set_allowed_csv(f"member_id,name,role\n{USER},me,approver\n{OTHER},them\n")
    instance = add_flush(app_env, "V0WAITING1", user=OTHER, approval=PLAN)
    app_env.durable_api.set_status(instance, "Running", custom_status=WaitingPlaces().status())
    response = call(app_env, click("approve_flush", instance))
    assert response.status_code == 200
    [event] = app_env.durable_api.events
    assert (event.instance_id, event.data["action"], event.data["user_id"]) == (
        instance,
        "approve",
        USER,
    )
    [home] = app_env.slack.calls("views.publish")
    assert home.args["user_id"] == USER
    assert instance not in json.dumps(home.args["view"]), "the decided request is gone"


@pytest.mark.usefixtures("approvals_on")
def test_the_requester_cannot_approve_their_own_request_from_the_home_tab(
    app_env: AppEnv,
) -> None:
    app_env.set_allowed_csv(f"member_id,name,role\n{USER},me,approver\n")
    instance = add_flush(app_env, "V0OWNREQ01", approval=PLAN)
    app_env.durable_api.set_status(instance, "Running", custom_status=WaitingPlaces().status())
    call(app_env, click("approve_flush", instance))
    assert app_env.durable_api.events == []
    [told] = app_env.slack.calls("chat.postMessage")
    assert "someone else must approve" in told.args["text"]
    assert app_env.slack.calls("views.publish") == []


@pytest.mark.usefixtures("approvals_on")
def test_the_requester_cancels_from_the_home_tab(app_env: AppEnv) -> None:
    app_env.allow(USER)
    instance = add_flush(app_env, "V0CANCEL01", approval=PLAN)
    app_env.durable_api.set_status(instance, "Running", custom_status=WaitingPlaces().status())
    call(app_env, click("cancel_flush", instance))
    [event] = app_env.durable_api.events
    assert event.data["action"] == "cancel"
