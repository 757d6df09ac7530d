"""Every view and message is valid Block Kit within Slack's limits (doc/behaviour.md)."""

from __future__ import annotations

from typing import Any

import pytest
from slack_sdk.models.blocks import Block
from slack_sdk.models.views import View

from shared import approval_views, views
from shared.approval import (
    ApprovalPlan,
    Deadline,
    Decision,
    DecisionAction,
    Stage,
)
from shared.handoffs import FlushResult, NotificationKind
from shared.orchestration import FlushRequest, plan_notifications

DOMAINS = ("nhs.uk",)
URLS = ("https://www.nhs.uk/a", "https://www.nhs.uk/b")
HOSTS = ("campaignresources.dhsc.gov.uk",)


def assert_valid_view(view: dict[str, Any]) -> None:
    model = View(**view)
    model.validate_json()
    assert model.to_dict() == view, "the model dropped or changed a field"
    assert len(view["blocks"]) <= views.MODAL_BLOCK_LIMIT
    assert len(view["title"]["text"]) <= 24
    assert view["title"]["text"] == "Cache Flush"
    assert_section_limits(view["blocks"])


def assert_valid_message(message: dict[str, Any]) -> None:
    assert message["text"]
    assert 1 <= len(message["blocks"]) <= views.MESSAGE_BLOCK_LIMIT
    for block in Block.parse_all(message["blocks"]):
        block.validate_json()
    assert_section_limits(message["blocks"])


def assert_section_limits(blocks: list[dict[str, Any]]) -> None:
    for block in blocks:
        if block["type"] == "section":
            assert 0 < len(block["text"]["text"]) <= 3000


def failure(result: FlushResult, attempts: int = 1) -> dict[str, Any]:
    return views.failure_message(result, "production", URLS, attempts)


def text_of(message: dict[str, Any]) -> str:
    return "\n".join(b["text"]["text"] for b in message["blocks"])


def all_views() -> list[dict[str, Any]]:
    return [
        views.checking_view(),
        views.form_view("", DOMAINS, HOSTS),
        views.form_view("https://www.nhs.uk/a\nhttps://www.nhs.uk/b", DOMAINS, HOSTS),
        views.not_allowed_view("jo_bloggs", "U123", "Ask in #help."),
        views.processing_view(),
        views.access_unavailable_view(),
    ]


def all_messages() -> list[dict[str, Any]]:
    return [
        views.not_allowed_message("jo_bloggs", "U123", "Ask in #help."),
        views.success_message("jo", "U1", "staging", ["https://www.nhs.uk/a"], {}),
        failure(FlushResult.answered(403, {"message": "no", "urls": ["x"]})),
        failure(FlushResult.no_response("cache-flush did not answer within 30 s")),
        failure(FlushResult.not_sent("the app hit an unexpected error")),
        failure(FlushResult.answered(307, "", "redirected"), attempts=1),
        views.view_closed_message(),
        views.open_failed_message("expired_trigger_id"),
        views.processing_error_message("KeyError"),
    ]


@pytest.mark.parametrize("view", all_views())
def test_views_are_valid_block_kit(view: dict[str, Any]) -> None:
    assert_valid_view(view)


@pytest.mark.parametrize("message", all_messages())
def test_messages_are_valid_block_kit(message: dict[str, Any]) -> None:
    assert_valid_message(message)
    assert_valid_view(views.result_view(message))


def test_each_call_builds_a_fresh_object() -> None:
    first = views.form_view("", DOMAINS, HOSTS)
    first["blocks"][1]["element"]["options"].clear()
    first["title"]["text"] = "changed"
    assert views.form_view("", DOMAINS, HOSTS)["blocks"][1]["element"]["options"]
    assert views.form_view("", DOMAINS, HOSTS)["title"]["text"] == "Cache Flush"


def test_form_has_the_fields_slack_submits() -> None:
    form = views.form_view("https://www.nhs.uk/a", DOMAINS, HOSTS)
    assert form["callback_id"] == "cache_flush_request"
    assert form["submit"]["text"] == "Submit"
    assert form["close"]["text"] == "Cancel"
    environment, urls = form["blocks"][1], form["blocks"][2]
    assert environment["block_id"] == "environment"
    assert environment["label"]["text"] == "Environment"
    assert environment["element"]["action_id"] == "environment_input"
    assert [o["value"] for o in environment["element"]["options"]] == ["production", "staging"]
    assert urls["block_id"] == "urls"
    assert urls["label"]["text"] == "URLs"
    assert urls["element"]["action_id"] == "urls_input"
    assert urls["element"]["multiline"] is True
    assert urls["element"]["placeholder"]["text"] == "one URL per line"
    assert urls["element"]["initial_value"] == "https://www.nhs.uk/a"
    hint = urls["hint"]["text"]
    assert "nhs.uk" in hint
    assert "campaignresources.dhsc.gov.uk" in hint
    assert "https://www.nhs.uk/path/to/flush" in hint


def test_initial_urls_put_each_url_on_its_own_line() -> None:
    text = "  https://www.nhs.uk/a https://www.nhs.uk/b\thttps://www.nhs.uk/c \n"
    assert views.initial_urls(text) == (
        "https://www.nhs.uk/a\nhttps://www.nhs.uk/b\nhttps://www.nhs.uk/c"
    )
    assert views.initial_urls("") == ""


def test_not_allowed_names_the_user_and_member_id() -> None:
    message = views.not_allowed_message("jo_bloggs", "U0ABC", "Ask *us* first.")
    text = "\n".join(b["text"]["text"] for b in message["blocks"])
    assert message["text"] == "User not allowed"
    assert "jo_bloggs" in text
    assert "U0ABC" in text
    assert "Ask *us* first." in text


def test_success_with_150_long_urls_fits_and_lists_every_url() -> None:
    urls = [f"https://www.nhs.uk/{index:03d}/" + "x" * 77 for index in range(150)]
    assert all(len(url) == 100 for url in urls)
    body = {"estimatedSeconds": 420, "purgeId": "p-1", "supportId": "s-1"}
    message = views.success_message("jo_bloggs", "U1", "production", urls, body)
    assert_valid_message(message)
    assert_valid_view(views.result_view(message))
    text = "\n".join(b["text"]["text"] for b in message["blocks"])
    assert message["text"] == "Cache flush succeeded"
    assert all(url in text for url in urls)
    assert "420 seconds" in text
    assert "p-1" in text
    assert "s-1" in text
    assert "<@U1>" in text
    assert "production" in text


def test_success_defaults_the_estimate_to_five_seconds() -> None:
    message = views.success_message("jo", "U1", "staging", ["https://www.nhs.uk/"], {})
    text = "\n".join(b["text"]["text"] for b in message["blocks"])
    assert "about 5 seconds" in text
    assert "Purge ID" not in text


def test_very_many_urls_end_with_and_n_more() -> None:
    urls = [f"https://www.nhs.uk/{index}/" + "y" * 1000 for index in range(200)]
    blocks = views.list_blocks(urls)
    assert len(blocks) == views.URL_LIST_BLOCKS
    assert blocks[-1]["text"]["text"].rstrip().split("\n")[-1].startswith("… and ")
    assert_section_limits(blocks)


def test_success_reads_purge_id_in_either_spelling() -> None:
    for key in ("purgeId", "purgeID"):
        body = {key: "p-42", "supportId": "s-42", "estimatedSeconds": 7}
        text = text_of(views.success_message("jo", "U1", "staging", URLS, body))
        assert "*Purge ID:* `p-42`" in text
        assert "*Support ID:* `s-42`" in text
        assert "about 7 seconds" in text


def test_failure_with_a_20_kb_body_is_truncated_to_fit() -> None:
    body = {"message": "Akamai said no", "error": {"name": "E", "message": "<&>" * 7_000}}
    message = failure(FlushResult.answered(500, body))
    assert_valid_message(message)
    assert_valid_view(views.result_view(message))
    text = text_of(message)
    assert message["text"] == "Cache flush failed"
    assert "HTTP 500" in text
    assert "Akamai said no" in text
    assert "(truncated)```" in text, "the code block is closed after the cut"
    assert "&lt;&amp;&gt;" in text
    code = text.split("```")[1]
    for entity in ("&lt;", "&gt;", "&amp;"):
        code = code.replace(entity, "")
    assert "&" not in code, "the cut never splits an entity"


def test_failure_names_the_environment_the_urls_the_status_and_the_body() -> None:
    body = {"message": "Forbidden host", "urls": ["a"]}
    text = text_of(failure(FlushResult.answered(403, body)))
    assert "*Environment:* production" in text
    assert all(url in text for url in URLS)
    assert "*Status:* HTTP 403" in text
    assert "*Message:* Forbidden host" in text
    assert '"message": "Forbidden host"' in text


@pytest.mark.parametrize(
    ("result", "advice"),
    [
        pytest.param(
            FlushResult.answered(400, {"message": "bad"}), views.CORRECT_REQUEST, id="400"
        ),
        pytest.param(FlushResult.answered(403, {"message": "no"}), views.CORRECT_REQUEST, id="403"),
        pytest.param(
            FlushResult.answered(403, {"title": "Forbidden", "detail": "unauthorized ARL"}),
            views.CORRECT_REQUEST,
            id="403-akamai",
        ),
        pytest.param(FlushResult.answered(403, ""), views.CONTACT_DEVELOPER, id="403-no-message"),
        pytest.param(FlushResult.answered(401, ""), views.MISCONFIGURED, id="401"),
        pytest.param(FlushResult.answered(404, {"message": "x"}), views.MISCONFIGURED, id="404"),
        pytest.param(FlushResult.answered(429, {"title": "limit"}), views.TRY_AGAIN, id="429"),
        pytest.param(FlushResult.answered(500, {"message": "x"}), views.TRY_AGAIN, id="500"),
        pytest.param(FlushResult.answered(503, "cold start"), views.TRY_AGAIN, id="503"),
        pytest.param(FlushResult.no_response("timed out"), views.TRY_AGAIN, id="no-response"),
        pytest.param(FlushResult.not_sent("bad"), views.CONTACT_DEVELOPER, id="not-sent"),
        pytest.param(FlushResult.answered(307, "", "redirect"), views.CONTACT_DEVELOPER, id="3xx"),
        pytest.param(FlushResult.answered(405, ""), views.CONTACT_DEVELOPER, id="405"),
    ],
)
def test_advice_fits_the_status(result: FlushResult, advice: str) -> None:
    text = text_of(failure(result))
    assert advice in text
    others = {views.CORRECT_REQUEST, views.MISCONFIGURED, views.CONTACT_DEVELOPER, views.TRY_AGAIN}
    assert not any(other in text for other in others - {advice})


def test_failure_after_retries_says_which_attempt_answered() -> None:
    text = text_of(failure(FlushResult.answered(503, {"message": "cold start"}), attempts=3))
    assert "*Status:* HTTP 503, the last of 3 attempts" in text
    assert "no response" not in text


def test_failure_without_response_names_the_network_error() -> None:
    text = text_of(failure(FlushResult.no_response("could not reach cache-flush (ConnectTimeout)")))
    assert "*Status:* no response (could not reach cache-flush (ConnectTimeout))" in text


def test_a_redirect_is_explained() -> None:
    text = text_of(failure(FlushResult.answered(302, "", "cache-flush answered with a redirect")))
    assert "*Status:* HTTP 302" in text
    assert "*Note:* cache-flush answered with a redirect" in text


def test_user_text_is_escaped_for_mrkdwn() -> None:
    text = text_of(failure(FlushResult.answered(400, "<!channel> & <http://evil|click>")))
    assert "<!channel>" not in text
    assert "&lt;!channel&gt; &amp;" in text


def test_notifications_follow_the_result() -> None:
    request = FlushRequest("U1", "jo", "T1", "V1", "staging", ("https://www.nhs.uk/",), "ops", 5)
    success = plan_notifications(request, FlushResult.answered(201, {}), 1)
    assert list(success) == ["modal", "dm", "channel"]
    failed = plan_notifications(request, FlushResult.answered(403, {"message": "no"}), 1)
    assert list(failed) == ["modal", "dm"]
    for notification in [*success.values(), *failed.values()]:
        if notification.kind is NotificationKind.UPDATE_VIEW:
            assert notification.view_id == "V1"
            assert_valid_view(notification.view)
        else:
            assert notification.channel in {"U1", "ops"}
            assert_valid_message({"text": notification.text, "blocks": list(notification.blocks)})


# --- approvals ------------------------------------------------------------------------------

PLAN = ApprovalPlan("C0APPROVE1", 60, "<!subteam^S0APPROVE>, <@U0009>")
DEADLINE = Deadline(1767229200, "2026-01-01 01:00 UTC")
INSTANCE = "flush-T1-V1"
APPROVER = Decision(DecisionAction.APPROVE, "U2", "sam <b>")
ENDINGS = [
    (Stage.APPROVED, APPROVER),
    (Stage.REJECTED, Decision(DecisionAction.REJECT, "U3", "kim")),
    (Stage.CANCELLED, Decision(DecisionAction.CANCEL, "U1", "jo")),
    (Stage.EXPIRED, None),
]


def approval_request(urls: tuple[str, ...] = URLS) -> FlushRequest:
    return FlushRequest("U1", "jo <script>", "T1", "V1", "production", urls, "ops", 5000, PLAN)


def buttons(blocks: list[dict[str, Any]]) -> list[tuple[str, str | None, str]]:
    return [
        (element["action_id"], element.get("style"), element["value"])
        for block in blocks
        if block["type"] == "actions"
        for element in block["elements"]
    ]


def test_the_awaiting_approval_view_says_who_may_approve_and_offers_cancel() -> None:
    view = approval_views.awaiting_approval_view(PLAN, INSTANCE)
    assert_valid_view(view)
    text = text_of({"blocks": [b for b in view["blocks"] if b["type"] == "section"]})
    assert "<!subteam^S0APPROVE>, <@U0009>" in text
    assert "60 minutes" in text
    assert "<#C0APPROVE1>" in text
    assert "close this view safely" in text
    assert buttons(view["blocks"]) == [("cancel_flush", "danger", INSTANCE)]
    assert view["blocks"][-1]["elements"][0]["text"]["text"] == "Cancel request"


def test_the_approval_request_has_the_details_and_two_buttons() -> None:
    message = approval_views.request_message(approval_request(), PLAN, INSTANCE, DEADLINE)
    assert_valid_message(message)
    assert message["text"] == "Cache flush approval requested"
    text = text_of({"blocks": [b for b in message["blocks"] if b["type"] == "section"]})
    assert "*Requested by:* jo &lt;script&gt; (<@U1>)" in text
    assert "*Environment:* production" in text
    assert "<!date^1767229200^{date_short_pretty} at {time}|2026-01-01 01:00 UTC>" in text
    assert all(url in text for url in URLS)
    assert buttons(message["blocks"]) == [
        ("approve_flush", "primary", INSTANCE),
        ("reject_flush", "danger", INSTANCE),
    ]


@pytest.mark.parametrize(("stage", "decision"), ENDINGS, ids=lambda v: getattr(v, "value", ""))
def test_each_ending_keeps_the_details_and_drops_the_buttons(
    stage: Stage, decision: Decision | None
) -> None:
    message = approval_views.outcome_message(approval_request(), PLAN, DEADLINE, stage, decision)
    assert_valid_message(message)
    assert buttons(message["blocks"]) == []
    text = text_of(message)
    assert "*Requested by:* jo &lt;script&gt; (<@U1>)" in text
    assert all(url in text for url in URLS)
    expected = {
        Stage.APPROVED: ("Approved by <@U2>", "Cache flush approved"),
        Stage.REJECTED: ("Rejected by <@U3>", "Cache flush rejected"),
        Stage.CANCELLED: ("Cancelled by the requester", "Cache flush cancelled"),
        Stage.EXPIRED: (
            "Expired: nobody approved within 60 minutes",
            "Cache flush request expired",
        ),
    }[stage]
    assert expected[0] in text
    assert message["text"] == expected[0], "the edit's fallback says the outcome"
    told = approval_views.requester_message(approval_request(), PLAN, stage, decision)
    assert_valid_message(told)
    assert_valid_view(views.result_view(told))
    assert told["text"] == expected[1]
    assert "*Environment:* production" in text_of(told)


def test_the_requester_is_told_who_approved_with_the_name_escaped() -> None:
    told = approval_views.requester_message(approval_request(), PLAN, Stage.APPROVED, APPROVER)
    assert "approved* by sam &lt;b&gt; (<@U2>)" in text_of(told)


def test_a_request_that_could_not_be_posted_tells_the_requester_to_get_help() -> None:
    message = approval_views.request_failed_message(approval_request())
    assert_valid_message(message)
    assert_valid_view(views.result_view(message))
    assert message["text"] == "Cache flush approval request failed"
    assert "contact the app developer" in text_of(message)


def test_approval_messages_with_150_long_urls_fit() -> None:
    urls = tuple(f"https://www.nhs.uk/{index:03d}/" + "x" * 977 for index in range(150))
    request = approval_request(urls)
    messages = [
        approval_views.request_message(request, PLAN, INSTANCE, DEADLINE),
        *(
            approval_views.outcome_message(request, PLAN, DEADLINE, stage, decision)
            for stage, decision in ENDINGS
        ),
    ]
    for message in messages:
        assert_valid_message(message)
        assert "… and " in text_of({"blocks": [b for b in message["blocks"] if "text" in b]})
    assert buttons(messages[0]["blocks"]), "the buttons survive a long list"


def test_approval_views_are_fresh_objects() -> None:
    first = approval_views.awaiting_approval_view(PLAN, INSTANCE)
    first["blocks"][-1]["elements"].clear()
    assert buttons(approval_views.awaiting_approval_view(PLAN, INSTANCE)["blocks"])


@pytest.mark.parametrize(
    ("channel", "shown"),
    [("C0APPROVE1", "<#C0APPROVE1>"), ("approvals", "#approvals"), ("#a<b>", "#a&lt;b&gt;")],
)
def test_the_approval_channel_is_named_by_id_or_name(channel: str, shown: str) -> None:
    assert approval_views.channel_text(channel) == shown
