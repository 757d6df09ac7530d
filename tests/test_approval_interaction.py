"""`/api/orchestrator-client` for approvals: the submission that waits, and the buttons' clicks.

The durable client is the real `DurableOrchestrationClient` against the stand-in of the
extension's HTTP API; Slack is the Web API stand-in; clicks are signed as Slack signs them.
"""

from __future__ import annotations

import json
import time
from typing import Any

import azure.functions as func
import pytest

import orchestrator_client
from devhost.simulate.faults import Fault
from devhost.simulate.slack_workspace import APP_ID, TEAM_DOMAIN
from devhost.standins.slack_requests import (
    interaction_body,
    slack_headers,
    view_submission_body,
)
from shared.approval import (
    DECISION_EVENT,
    Decision,
    DecisionAction,
    Place,
    Stage,
    WaitingPlaces,
    counted_decision,
)
from shared.audit import AUDIT_LOGGER, DECISION_RAISED
from shared.handoffs import ApprovalPlan, FlushRequest
from shared.instance_ids import instance_id
from tests.support import constants
from tests.support.app_env import AppEnv
from tests.support.flushes import call_orchestrator_client as call
from tests.support.flushes import flush_request
from tests.support.logs import LogCapture
from tests.support.loop import run
from tests.support.requests import http_request

REQUESTER = constants.USER_ID
REQUESTER_NAME = constants.USER_NAME
APPROVER = "U0APPROVE1"
APPROVER_NAME = "alex_approver"
SECOND_APPROVER = "U0APPROVE2"
MEMBER = "U0MEMBER01"  # may flush, may not approve
GROUPIE = "U0GROUPIE1"  # in the approvers' user group only
APPROVERS_GROUP = "S0APPROVERS"
APPROVAL_CHANNEL = constants.APPROVAL_CHANNEL_ID
CSV = (
    "member_id,name,role\n"
    f"{REQUESTER},{REQUESTER_NAME}\n"
    f"{APPROVER},{APPROVER_NAME},approver\n"
    f"{SECOND_APPROVER},sam_second,Approver\n"
    f"{MEMBER},mo_member\n"
)
VIEW_ID = "V0WAITING1"
INSTANCE = instance_id(constants.TEAM_ID, REQUESTER, VIEW_ID)
GROUP_LIST = "usergroups.users.list"
SLACK_BUDGET_SECONDS = 3.0
REQUEST_TS = "1700000000.000100"
DM_CHANNEL = "D0REQUESTR"
DM_TS = "1700000000.000200"
PLACES = WaitingPlaces(Place(APPROVAL_CHANNEL, REQUEST_TS), Place(DM_CHANNEL, DM_TS))


def click_payload(
    user_id: str,
    action_id: str,
    value: str = INSTANCE,
    *,
    in_modal: bool = False,
    user_name: str | None = None,
    channel: str = APPROVAL_CHANNEL,
    ts: str = REQUEST_TS,
    view_id: str = VIEW_ID,
    team_id: str = constants.TEAM_ID,
    enterprise_id: str | None = None,
) -> dict[str, Any]:
    """A `block_actions` payload for a button click, in a message or in the modal."""
    name = user_name or f"name_{user_id.lower()}"
    if in_modal:
        container: dict[str, Any] = {"type": "view", "view_id": view_id}
        where: dict[str, Any] = {"view": {"id": view_id, "type": "modal", "blocks": []}}
    else:
        container = {
            "type": "message",
            "message_ts": ts,
            "channel_id": channel,
            "is_ephemeral": False,
        }
        where = {
            "channel": {"id": channel, "name": "cache-flush-approvals"},
            "message": {"ts": ts, "text": "Cache flush approval requested"},
            "response_url": "http://127.0.0.1:9/slack-response/actions",
        }
    enterprise = {"enterprise": {"id": enterprise_id}} if enterprise_id else {}
    return {
        "type": "block_actions",
        **enterprise,
        "team": {"id": team_id, "domain": TEAM_DOMAIN},
        "user": {"id": user_id, "username": name, "name": name, "team_id": team_id},
        "api_app_id": APP_ID,
        "token": "legacy-verification-token",
        "container": container,
        "trigger_id": "7000000001.1234567891.abcdef",
        **where,
        "actions": [
            {
                "action_id": action_id,
                "block_id": "approval_decision",
                "text": {"type": "plain_text", "text": "Approve"},
                "value": value,
                "type": "button",
                "action_ts": f"{time.time():.6f}",
            }
        ],
    }


def click(env: AppEnv, user_id: str, action_id: str, **kwargs: Any) -> func.HttpResponse:
    return call(env, interaction_body(click_payload(user_id, action_id, **kwargs)))


def acknowledged(response: func.HttpResponse) -> None:
    assert response.status_code == 200
    assert response.get_body() == b""


def waiting_request(environment: str = "production") -> FlushRequest:
    return flush_request(
        user_id=REQUESTER,
        user_name=REQUESTER_NAME,
        view_id=VIEW_ID,
        environment=environment,
        urls=("https://www.nhs.uk/a",),
        channel=constants.SLACK_CHANNEL_NAME,
        approval=ApprovalPlan(APPROVAL_CHANNEL, 60, "approvers on the allowed-users list"),
    )


def set_instance(
    env: AppEnv,
    runtime: str = "Running",
    stage: Stage | None = Stage.AWAITING_APPROVAL,
    request: FlushRequest | None = None,
    places: WaitingPlaces = PLACES,
) -> None:
    """The instance as the extension shows it: the input as the JSON text the client sent.

    While it waits, its custom status records where the request message and the DM are.
    """
    if stage is Stage.AWAITING_APPROVAL:
        custom: dict[str, Any] | None = places.status()
    else:
        custom = stage.status() if stage else None
    env.durable_api.set_status(
        INSTANCE,
        runtime,
        input=json.dumps((request or waiting_request()).to_dict()),
        custom_status=custom,
    )


def told(env: AppEnv, user_id: str) -> str:
    """The one private message the clicker got (ephemeral in the channel, or a DM)."""
    private = [
        c
        for c in env.slack.calls()
        if (c.method == "chat.postEphemeral" and c.args.get("user") == user_id)
        or (c.method == "chat.postMessage" and c.args.get("channel") == user_id)
    ]
    assert len(private) == 1, env.slack.calls()
    assert all(c.has_token(constants.SLACK_BOT_TOKEN) for c in private)
    return str(private[0].args["text"])


def assert_refused(env: AppEnv, user_id: str, response: func.HttpResponse, words: str) -> None:
    acknowledged(response)
    assert env.durable_api.events == []
    [ephemeral] = env.slack.calls("chat.postEphemeral")
    assert ephemeral.args["channel"] == APPROVAL_CHANNEL
    assert ephemeral.args["user"] == user_id
    assert words in told(env, user_id)
    assert env.slack.calls("chat.update") == []


@pytest.fixture
def approvals(approvals_on: AppEnv) -> AppEnv:
    """Approvals on for production, the CSV above, and a request waiting for a decision."""
    approvals_on.set_allowed_csv(CSV)
    set_instance(approvals_on)
    return approvals_on


# --- valid clicks ----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("action_id", "action"), [("approve_flush", "approve"), ("reject_flush", "reject")]
)
def test_an_approver_decides_and_the_decision_is_raised(
    approvals: AppEnv, action_id: str, action: str, captured_logs: LogCapture
) -> None:
    started = time.monotonic()
    acknowledged(click(approvals, APPROVER, action_id, user_name=APPROVER_NAME))
    assert time.monotonic() - started < SLACK_BUDGET_SECONDS
    [event] = approvals.durable_api.events
    assert (event.instance_id, event.name, event.status) == (INSTANCE, DECISION_EVENT, 202)
    assert event.data == {"action": action, "user_id": APPROVER, "user_name": APPROVER_NAME}
    assert approvals.slack.calls() == [], "nothing is posted: the orchestrator tells everyone"
    [audited] = [r for r in captured_logs.records if r.name == AUDIT_LOGGER]
    assert (
        audited.__dict__.items()
        >= {
            "audit_event": DECISION_RAISED,
            "instance_id": INSTANCE,
            "decider_id": APPROVER,
            "decider_name": APPROVER_NAME,
            "action": action,
        }.items()
    )
    captured_logs.assert_no_secrets()


def test_the_requester_cancels_from_the_modal(approvals: AppEnv) -> None:
    acknowledged(click(approvals, REQUESTER, "cancel_flush", in_modal=True))
    [event] = approvals.durable_api.events
    assert event.data["action"] == "cancel"
    assert event.data["user_id"] == REQUESTER
    assert approvals.slack.calls() == []


def test_a_cancel_before_the_orchestration_ran_is_raised(approvals: AppEnv) -> None:
    set_instance(approvals, runtime="Pending", stage=None)
    acknowledged(click(approvals, REQUESTER, "cancel_flush", in_modal=True))
    assert [e.data["action"] for e in approvals.durable_api.events] == ["cancel"]


def test_a_member_of_the_approvers_user_group_may_approve(
    approvals: AppEnv, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("APPROVER_USERGROUPS", APPROVERS_GROUP)
    approvals.slack.always(GROUP_LIST, Fault(status=200, body={"ok": True, "users": [GROUPIE]}))
    acknowledged(click(approvals, GROUPIE, "approve_flush"))
    assert [e.data["user_id"] for e in approvals.durable_api.events] == [GROUPIE]
    [asked] = approvals.slack.calls(GROUP_LIST)
    assert asked.args["usergroup"] == APPROVERS_GROUP


def test_a_failing_user_group_lookup_leaves_the_csv_deciding(
    approvals: AppEnv, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("APPROVER_USERGROUPS", APPROVERS_GROUP)
    approvals.slack.always(GROUP_LIST, Fault(error="internal_error"))
    acknowledged(click(approvals, APPROVER, "approve_flush"))
    assert [e.data["user_id"] for e in approvals.durable_api.events] == [APPROVER]
    approvals.slack.clear()
    approvals.slack.always(GROUP_LIST, Fault(error="internal_error"))
    approvals.durable_api.clear()
    set_instance(approvals)
    response = click(approvals, GROUPIE, "approve_flush")
    assert_refused(approvals, GROUPIE, response, "Only approvers")


def test_two_approvers_racing_both_get_an_empty_200(approvals: AppEnv) -> None:
    acknowledged(click(approvals, APPROVER, "approve_flush"))
    acknowledged(click(approvals, SECOND_APPROVER, "reject_flush"))
    events = approvals.durable_api.events
    assert [(e.data["user_id"], e.status) for e in events] == [
        (APPROVER, 202),
        (SECOND_APPROVER, 202),
    ], "both are raised; the orchestrator takes the first"
    assert approvals.slack.calls() == []


# --- refusals --------------------------------------------------------------------------------


@pytest.mark.parametrize("action_id", ["approve_flush", "reject_flush"])
def test_someone_who_is_not_an_approver_is_refused_privately(
    approvals: AppEnv, action_id: str
) -> None:
    assert_refused(approvals, MEMBER, click(approvals, MEMBER, action_id), "Only approvers")


@pytest.mark.parametrize(
    ("contact", "named"),
    [
        (None, "the team that runs this app"),
        ("the web team (#web-help)", "the web team (#web-help)"),
        ("<#C0WEBHELP1|web-help>", "<#C0WEBHELP1|web-help>"),
    ],
)
def test_the_not_an_approver_refusal_names_the_support_contact(
    approvals: AppEnv, monkeypatch: pytest.MonkeyPatch, contact: str | None, named: str
) -> None:
    if contact:
        monkeypatch.setenv("SUPPORT_CONTACT", contact)
    response = click(approvals, MEMBER, "approve_flush")
    text = refused_in(approvals, MEMBER, response, APPROVAL_CHANNEL)
    assert f"Ask {named} if you should be one." in text


@pytest.mark.parametrize("action_id", ["approve_flush", "reject_flush"])
def test_the_requester_cannot_decide_their_own_request(approvals: AppEnv, action_id: str) -> None:
    approvals.set_allowed_csv(
        CSV.replace(f"{REQUESTER},{REQUESTER_NAME}", f"{REQUESTER},r,approver")
    )
    response = click(approvals, REQUESTER, action_id)
    assert_refused(approvals, REQUESTER, response, "someone else must approve or reject it")


def test_only_the_requester_may_cancel(approvals: AppEnv) -> None:
    response = click(approvals, APPROVER, "cancel_flush")
    assert_refused(approvals, APPROVER, response, "Only the person who asked")


def test_a_refused_click_in_the_modal_is_told_by_direct_message(approvals: AppEnv) -> None:
    acknowledged(click(approvals, APPROVER, "cancel_flush", in_modal=True))
    assert approvals.durable_api.events == []
    assert approvals.slack.calls("chat.postEphemeral") == []
    assert "Only the person who asked" in told(approvals, APPROVER)


# --- clicks bound to their request ------------------------------------------------------------


def refused_in(env: AppEnv, user_id: str, response: func.HttpResponse, channel: str) -> str:
    """The click changed nothing; the clicker alone was told, in `channel`: what they read."""
    acknowledged(response)
    assert env.durable_api.events == []
    [ephemeral] = env.slack.calls("chat.postEphemeral")
    assert (ephemeral.args["channel"], ephemeral.args["user"]) == (channel, user_id)
    assert env.slack.calls("chat.update") == []
    return str(ephemeral.args["text"])


@pytest.mark.parametrize("action_id", ["approve_flush", "reject_flush"])
def test_a_decision_from_another_workspace_is_refused(approvals: AppEnv, action_id: str) -> None:
    response = click(approvals, APPROVER, action_id, team_id="T0ELSEWHERE")
    text = refused_in(approvals, APPROVER, response, APPROVAL_CHANNEL)
    assert "another Slack workspace" in text


def test_a_cancel_from_another_workspace_is_refused(approvals: AppEnv) -> None:
    acknowledged(click(approvals, REQUESTER, "cancel_flush", in_modal=True, team_id="T0OTHER01"))
    assert approvals.durable_api.events == []
    assert "another Slack workspace" in told(approvals, REQUESTER)


def test_on_enterprise_grid_the_organisation_must_match(approvals: AppEnv) -> None:
    grid = FlushRequest(**{**waiting_request().__dict__, "enterprise_id": "E0ORGANISE"})
    set_instance(approvals, request=grid)
    other_org = click(approvals, APPROVER, "approve_flush", enterprise_id="E0ELSEWHER")
    assert "another Slack workspace" in refused_in(approvals, APPROVER, other_org, APPROVAL_CHANNEL)
    approvals.slack.clear()
    same_org = click(
        approvals, APPROVER, "approve_flush", team_id="T0SISTER01", enterprise_id="E0ORGANISE"
    )
    acknowledged(same_org)
    [event] = approvals.durable_api.events
    assert event.data["user_id"] == APPROVER


OWN_MESSAGE_ONLY = "not on this request's own message"
CANCEL_PLACES_ONLY = "only with *Cancel request* in the direct message"
# Where the requester's Cancel buttons are, as a refusal names them when the DM was delivered.
CANCEL_PLACES = (
    "*Cancel request* in the direct message the app sent you about it, the app's Home tab "
    "(under Your pending requests) or the request's view (if still open)"
)


@pytest.mark.parametrize(
    ("user_id", "action_id", "place", "refusal"),
    [
        # A decision counts only from the request's own message, not from a duplicate left
        # by a retried post, another channel or a DM.
        (APPROVER, "approve_flush", Place(APPROVAL_CHANNEL, "1700000000.000999"), OWN_MESSAGE_ONLY),
        (APPROVER, "approve_flush", Place("C0ELSEWHER", REQUEST_TS), OWN_MESSAGE_ONLY),
        (APPROVER, "approve_flush", Place(DM_CHANNEL, DM_TS), OWN_MESSAGE_ONLY),
        # A cancel counts only from the requester's modal, DM or Home tab.
        (REQUESTER, "cancel_flush", Place(APPROVAL_CHANNEL, REQUEST_TS), CANCEL_PLACES_ONLY),
        (REQUESTER, "cancel_flush", Place("D0ANOTHER1", DM_TS), CANCEL_PLACES_ONLY),
    ],
)
def test_a_click_counts_only_from_where_its_button_belongs(
    approvals: AppEnv, user_id: str, action_id: str, place: Place, refusal: str
) -> None:
    response = click(approvals, user_id, action_id, channel=place.channel, ts=place.ts)
    assert refusal in refused_in(approvals, user_id, response, place.channel)


def test_a_decision_before_the_request_message_is_recorded_is_refused(approvals: AppEnv) -> None:
    set_instance(approvals, places=WaitingPlaces())
    response = click(approvals, APPROVER, "approve_flush")
    assert "own message" in refused_in(approvals, APPROVER, response, APPROVAL_CHANNEL)


def test_the_requester_cancels_from_their_dm(approvals: AppEnv) -> None:
    acknowledged(click(approvals, REQUESTER, "cancel_flush", channel=DM_CHANNEL, ts=DM_TS))
    [event] = approvals.durable_api.events
    assert event.data["action"] == "cancel"


def test_before_the_dm_is_recorded_a_cancel_from_a_direct_message_counts(
    approvals: AppEnv,
) -> None:
    set_instance(approvals, places=WaitingPlaces(Place(APPROVAL_CHANNEL, REQUEST_TS)))
    acknowledged(click(approvals, REQUESTER, "cancel_flush", channel="D0ANYDM001", ts="1.0"))
    assert [e.data["action"] for e in approvals.durable_api.events] == ["cancel"]


def test_a_cancel_from_another_modal_is_refused(approvals: AppEnv) -> None:
    acknowledged(click(approvals, REQUESTER, "cancel_flush", in_modal=True, view_id="V0OTHER001"))
    assert approvals.durable_api.events == []
    assert f"only with {CANCEL_PLACES}" in told(approvals, REQUESTER)


def test_a_cancel_refusal_names_no_direct_message_that_was_never_delivered(
    approvals: AppEnv,
) -> None:
    set_instance(approvals, places=WaitingPlaces(Place(APPROVAL_CHANNEL, REQUEST_TS)))
    response = click(approvals, REQUESTER, "cancel_flush", channel=APPROVAL_CHANNEL, ts=REQUEST_TS)
    text = refused_in(approvals, REQUESTER, response, APPROVAL_CHANNEL)
    assert (
        "only with *Cancel request* in the app's Home tab (under Your pending requests) or "
        "the request's view (if still open), so nothing changed."
    ) in text
    assert "direct message" not in text


@pytest.mark.parametrize(
    "damage",
    [
        pytest.param({"team": ["T0CACHE01"], "user": {"id": APPROVER}}, id="team-not-an-object"),
        pytest.param({"team": {}, "user": {"id": APPROVER}}, id="no-team-at-all"),
        pytest.param(
            {"container": {"type": "message", "channel_id": APPROVAL_CHANNEL}, "message": 7},
            id="no-ts",
        ),
        pytest.param({"container": {"type": "view"}}, id="a-view-without-an-id"),
        pytest.param({"container": "message", "channel": None, "message": 7}, id="garbage"),
    ],
)
def test_a_click_with_damaged_fields_is_refused_privately_never_a_500(
    approvals: AppEnv, damage: dict[str, Any]
) -> None:
    payload = {**click_payload(APPROVER, "approve_flush"), **damage}
    response = call(approvals, interaction_body(payload))
    acknowledged(response)
    assert approvals.durable_api.events == []
    assert "nothing changed" in told(approvals, APPROVER).lower()


def test_the_own_request_refusal_points_at_the_cancel_buttons(approvals: AppEnv) -> None:
    response = click(approvals, REQUESTER, "approve_flush")
    text = refused_in(approvals, REQUESTER, response, APPROVAL_CHANNEL)
    assert f"To withdraw it, use {CANCEL_PLACES}. Nothing changed." in text


def test_the_own_request_refusal_names_no_direct_message_that_was_never_delivered(
    approvals: AppEnv,
) -> None:
    set_instance(approvals, places=WaitingPlaces(Place(APPROVAL_CHANNEL, REQUEST_TS)))
    response = click(approvals, REQUESTER, "approve_flush")
    text = refused_in(approvals, REQUESTER, response, APPROVAL_CHANNEL)
    assert "direct message" not in text
    assert "*Cancel request* in the app's Home tab (under Your pending requests)" in text


@pytest.mark.parametrize(
    ("runtime", "stage", "words"),
    [
        ("Completed", Stage.APPROVED, "already approved"),
        ("Running", Stage.APPROVED, "already approved"),
        ("Running", Stage.FLUSHED, "already approved"),
        ("Completed", Stage.REJECTED, "already rejected"),
        ("Completed", Stage.CANCELLED, "the requester cancelled it"),
        ("Completed", Stage.EXPIRED, "it expired"),
        ("Terminated", Stage.AWAITING_APPROVAL, "no longer waiting"),
        ("Failed", None, "no longer waiting"),
        ("Running", None, "no longer waiting"),
    ],
)
def test_a_request_that_no_longer_waits_is_refused(
    approvals: AppEnv, runtime: str, stage: Stage | None, words: str
) -> None:
    set_instance(approvals, runtime, stage)
    response = click(approvals, APPROVER, "approve_flush")
    assert_refused(approvals, APPROVER, response, words)
    assert "Nothing changed" in told(approvals, APPROVER)


def test_an_unknown_instance_is_refused(approvals: AppEnv) -> None:
    response = click(approvals, APPROVER, "approve_flush", value="flush-T0CACHE01-V0UNKNOWN")
    assert_refused(approvals, APPROVER, response, "not known")


@pytest.mark.parametrize(
    "value", ["../../instances", "flush-" + "x" * 200, "V0WAITING1", "flush-a/b", "flush- "]
)
def test_a_value_that_is_not_an_instance_id_is_refused_without_asking_durable(
    approvals: AppEnv, value: str
) -> None:
    approvals.durable_api.clear()
    response = click(approvals, APPROVER, "approve_flush", value=value)
    assert_refused(approvals, APPROVER, response, "not known")
    assert approvals.durable_api.requests() == []


def test_a_flush_that_never_needed_approval_is_refused(approvals: AppEnv) -> None:
    plain = FlushRequest(**{**waiting_request().__dict__, "approval": None})
    set_instance(approvals, request=plain)
    response = click(approvals, APPROVER, "approve_flush")
    assert_refused(approvals, APPROVER, response, "does not wait for approval")


def test_an_unreadable_access_list_refuses_within_the_deadline(
    approvals: AppEnv, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("APPROVER_USERGROUPS", APPROVERS_GROUP)
    approvals.remove_allowed_users()
    approvals.slack.always(GROUP_LIST, Fault(status=200, body={"ok": True, "users": []}, delay=6))
    started = time.monotonic()
    response = click(approvals, APPROVER, "approve_flush")
    assert time.monotonic() - started < SLACK_BUDGET_SECONDS
    assert_refused(approvals, APPROVER, response, "could not be checked right now")


def test_an_unreachable_durable_api_refuses_the_click(approvals: AppEnv) -> None:
    binding = approvals.durable_client_binding
    approvals.durable_api.stop()
    body = interaction_body(click_payload(APPROVER, "approve_flush"))
    request = http_request(
        "orchestrator-client", body, slack_headers(constants.SLACK_SIGNING_SECRET, body)
    )
    acknowledged(run(orchestrator_client.main(request, binding)))
    assert "could not be checked right now" in told(approvals, APPROVER)


@pytest.mark.parametrize("status", [410, 404, 500])
def test_a_decision_the_instance_no_longer_takes_is_told_privately(
    approvals: AppEnv, status: int
) -> None:
    approvals.durable_api.force("raise_event", status)
    response = click(approvals, APPROVER, "approve_flush")
    acknowledged(response)
    assert [e.status for e in approvals.durable_api.events] == [status]
    assert "no longer waiting for a decision" in told(approvals, APPROVER)


def test_a_decision_raised_too_slowly_is_acknowledged_without_claiming_nothing_changed(
    approvals: AppEnv,
) -> None:
    approvals.durable_api.delay("raise_event", 5)
    started = time.monotonic()
    acknowledged(click(approvals, APPROVER, "approve_flush"))
    assert time.monotonic() - started < SLACK_BUDGET_SECONDS
    text = told(approvals, APPROVER)
    assert "could not be confirmed in time" in text
    assert "nothing changed" not in text.lower(), "the event may still land"


def test_a_failing_ephemeral_message_still_acknowledges_the_click(approvals: AppEnv) -> None:
    approvals.slack.always("chat.postEphemeral", Fault(error="channel_not_found"))
    acknowledged(click(approvals, MEMBER, "approve_flush"))
    assert approvals.durable_api.events == []


# --- what is not an approval click -----------------------------------------------------------


def test_an_unsigned_click_gets_401_and_changes_nothing(approvals: AppEnv) -> None:
    body = interaction_body(click_payload(APPROVER, "approve_flush"))
    approvals.durable_api.clear()
    response = call(approvals, body, slack_headers("not-the-secret", body))
    assert response.status_code == 401
    assert approvals.durable_api.requests() == []
    assert approvals.slack.calls() == []


@pytest.mark.parametrize(
    ("change", "reason"),
    [
        pytest.param(lambda p: p.pop("actions"), "actions", id="no-actions"),
        pytest.param(lambda p: p.update(actions="approve_flush"), "actions", id="actions-text"),
        pytest.param(lambda p: p["actions"][0].pop("action_id"), "action_id", id="no-action-id"),
        pytest.param(lambda p: p["actions"].__setitem__(0, 7), "action_id", id="action-number"),
        pytest.param(lambda p: p["actions"][0].update(value=7), "value", id="value-number"),
        pytest.param(lambda p: p["actions"][0].update(value=""), "value", id="value-empty"),
        pytest.param(lambda p: p.pop("user"), "user", id="no-user"),
    ],
)
def test_a_malformed_click_gets_400_with_a_reason(
    approvals: AppEnv, change: Any, reason: str
) -> None:
    payload = click_payload(APPROVER, "approve_flush")
    change(payload)
    approvals.durable_api.clear()
    response = call(approvals, interaction_body(payload))
    assert response.status_code == 400
    assert reason in response.get_body().decode()
    assert approvals.durable_api.requests() == []


def test_other_block_actions_are_acknowledged_and_ignored(
    approvals: AppEnv, captured_logs: LogCapture
) -> None:
    payload = click_payload(APPROVER, "environment_input")
    payload["actions"][0] = {
        "type": "static_select",
        "action_id": "environment_input",
        "block_id": "environment",
        "selected_option": {"value": "production"},
        "action_ts": "1700000000.1",
    }
    approvals.durable_api.clear()
    acknowledged(call(approvals, interaction_body(payload)))
    assert approvals.durable_api.requests() == []
    assert approvals.slack.calls() == []
    assert any("Ignored a block_actions" in line for line in captured_logs.lines)


# --- the submission --------------------------------------------------------------------------


def submit(env: AppEnv, environment: str, view_id: str = "V0SUBMIT01") -> dict[str, Any]:
    body = view_submission_body(
        urls_text="https://www.nhs.uk/a", environment=environment, view_id=view_id
    )
    response = call(env, body)
    assert response.status_code == 200
    assert response.headers["Content-Type"] == "application/json; charset=utf-8"
    return json.loads(response.get_body())


def buttons(view: dict[str, Any]) -> list[dict[str, Any]]:
    return [e for b in view["blocks"] if b["type"] == "actions" for e in b["elements"]]


def test_a_submission_needing_approval_starts_with_the_plan_and_shows_the_awaiting_view(
    approvals: AppEnv, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("APPROVER_USERGROUPS", f"{APPROVERS_GROUP},S0SECONDGRP")
    monkeypatch.setenv("APPROVAL_TIMEOUT_MINUTES", "2.5")
    approvals.durable_api.clear()
    answer = submit(approvals, "production")
    started = instance_id(constants.TEAM_ID, REQUESTER, "V0SUBMIT01")
    [start] = approvals.durable_api.starts
    assert start.instance_id == started
    assert start.input["approval"] == {
        "channel": APPROVAL_CHANNEL,
        "timeout_minutes": 2.5,
        "approvers": (
            f"<!subteam^{APPROVERS_GROUP}>, <!subteam^S0SECONDGRP>, "
            f"<@{APPROVER}>, <@{SECOND_APPROVER}>"
        ),
    }
    assert start.input["environment"] == "production"
    assert answer["response_action"] == "update"
    text = json.dumps(answer["view"])
    assert "waiting for approval" in text
    assert "2.5 minutes" in text
    [cancel] = buttons(answer["view"])
    assert (cancel["action_id"], cancel["value"]) == ("cancel_flush", started)
    assert cancel["text"]["text"] == "Cancel request"


def test_the_awaiting_view_names_the_lists_approvers_but_never_the_requester(
    approvals: AppEnv,
) -> None:
    approvers = [f"U0APPR{i:04d}" for i in range(12)]
    approvals.set_allowed_csv(
        f"{REQUESTER},{REQUESTER_NAME},approver\n"
        + "".join(f"{user},name_{user.lower()},approver\n" for user in approvers)
    )
    approvals.durable_api.clear()
    submit(approvals, "production")
    [start] = approvals.durable_api.starts
    named = ", ".join(f"<@{user}>" for user in approvers[:10])
    assert start.input["approval"]["approvers"] == f"{named}, 2 more on the allowed-users list"


@pytest.mark.parametrize("contact", [None, "the web team (#web-support)"])
def test_a_request_nobody_else_may_approve_is_refused_saying_who_to_ask(
    approvals: AppEnv, monkeypatch: pytest.MonkeyPatch, contact: str | None
) -> None:
    if contact:
        monkeypatch.setenv("SUPPORT_CONTACT", contact)
    monkeypatch.setenv("APPROVER_USERGROUPS", APPROVERS_GROUP)
    approvals.slack.always(GROUP_LIST, Fault(status=200, body={"ok": True, "users": [REQUESTER]}))
    approvals.set_allowed_csv(f"{REQUESTER},{REQUESTER_NAME},approver\n{MEMBER},mo_member\n")
    approvals.durable_api.clear()
    answer = submit(approvals, "production")
    assert answer["response_action"] == "errors"
    error = answer["errors"]["environment"]
    assert "nobody but you may approve" in error
    assert (contact or "the app's administrators") in error
    assert approvals.durable_api.starts == []
    assert [c.method for c in approvals.slack.calls()] == [GROUP_LIST]


def test_an_approver_group_member_other_than_the_requester_is_enough(
    approvals: AppEnv, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("APPROVER_USERGROUPS", APPROVERS_GROUP)
    approvals.slack.always(GROUP_LIST, Fault(status=200, body={"ok": True, "users": [GROUPIE]}))
    approvals.set_allowed_csv(f"{REQUESTER},{REQUESTER_NAME},approver\n")
    approvals.durable_api.clear()
    assert submit(approvals, "production")["response_action"] == "update"
    [start] = approvals.durable_api.starts
    assert start.input["approval"]["approvers"] == f"<!subteam^{APPROVERS_GROUP}>"


def test_more_urls_than_the_request_and_its_thread_can_show_are_refused(
    approvals: AppEnv,
) -> None:
    urls = "\n".join(f"https://www.nhs.uk/p{i}" for i in range(1021))
    body = view_submission_body(urls_text=urls, environment="production", view_id="V0LONG0001")
    answer = json.loads(call(approvals, body).get_body())
    assert answer["response_action"] == "errors"
    assert "Too many URLs to show the approvers" in answer["errors"]["urls"]
    assert approvals.durable_api.starts == []


def test_a_repeated_submission_needing_approval_starts_once(approvals: AppEnv) -> None:
    approvals.durable_api.clear()
    first = submit(approvals, "production")
    second = submit(approvals, "production")
    assert first == second
    assert len(approvals.durable_api.starts) == 1


def test_an_environment_without_approval_starts_as_before(approvals: AppEnv) -> None:
    approvals.durable_api.clear()
    answer = submit(approvals, "staging")
    [start] = approvals.durable_api.starts
    assert "approval" not in start.input
    assert "being processed" in json.dumps(answer["view"])
    assert buttons(answer["view"]) == []


def test_without_approval_settings_production_starts_exactly_as_before(app_env: AppEnv) -> None:
    app_env.set_allowed_csv(CSV)
    answer = submit(app_env, "production", view_id="V0PLAIN001")
    [start] = app_env.durable_api.starts
    assert start.input == {
        "user_id": REQUESTER,
        "user_name": REQUESTER_NAME,
        "team_id": constants.TEAM_ID,
        "view_id": "V0PLAIN001",
        "environment": "production",
        "urls": ["https://www.nhs.uk/a"],
        "channel": constants.SLACK_CHANNEL_NAME,
        "retry_interval_ms": 5000,
    }
    assert "being processed" in json.dumps(answer["view"])
    assert app_env.slack.calls() == []


def test_a_decision_as_the_python_client_raises_it_counts_in_the_orchestrator() -> None:
    decision = Decision(DecisionAction.APPROVE, APPROVER, APPROVER_NAME)
    as_raised = json.dumps(
        decision.to_dict()
    )  # what `raise_event` posts, and the worker hands over
    assert counted_decision(as_raised, REQUESTER) == decision
    assert counted_decision(decision.to_dict(), REQUESTER) == decision
    assert counted_decision(as_raised, APPROVER) is None, "four eyes"
    assert counted_decision("not json", REQUESTER) is None
    assert counted_decision("[" * 100_000, REQUESTER) is None
