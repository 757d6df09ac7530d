"""Every view and message is valid Block Kit within Slack's limits (doc/behaviour.md)."""

from __future__ import annotations

from dataclasses import replace
from typing import Any

import pytest
from slack_sdk.models.blocks import Block
from slack_sdk.models.views import View

from shared import approval_views, result_views, views
from shared.approval import (
    Decision,
    DecisionAction,
    Stage,
)
from shared.form_flow import prefill_of_command
from shared.handoffs import (
    ApprovalPlan,
    FlushAttempts,
    FlushRequest,
    FlushResult,
    NotificationKind,
)
from shared.orchestration import plan_notifications
from shared.slash_command import Prefill, checking_view

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
    return result_views.failure_message(result, "production", URLS, attempts)


def text_of(message: dict[str, Any]) -> str:
    """Every text of the message's blocks: sections, and context lines' elements."""
    lines = []
    for block in message["blocks"]:
        if "text" in block:
            lines.append(block["text"]["text"])
        lines += [e["text"] for e in block.get("elements", []) if isinstance(e.get("text"), str)]
    return "\n".join(lines)


def details_of(message: dict[str, Any]) -> str:
    """The failure's "Details" context line."""
    (context,) = [block for block in message["blocks"] if block["type"] == "context"]
    text: str = context["elements"][0]["text"]
    assert text.startswith("*Details:* ")
    return text


def all_views() -> list[dict[str, Any]]:
    return [
        checking_view(),
        views.form_view("", DOMAINS, HOSTS),
        views.form_view("https://www.nhs.uk/a\nhttps://www.nhs.uk/b", DOMAINS, HOSTS),
        views.not_allowed_view("jo_bloggs", "U123", "Ask in #help."),
        views.processing_view(),
        views.access_unavailable_view(),
    ]


def all_messages() -> list[dict[str, Any]]:
    return [
        views.not_allowed_message("jo_bloggs", "U123", "Ask in #help."),
        result_views.success_message("jo", "U1", "staging", ["https://www.nhs.uk/a"], {}),
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
    assert_valid_view(result_views.result_view(message))


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


def test_the_commands_urls_go_each_on_its_own_line() -> None:
    text = "  https://www.nhs.uk/a https://www.nhs.uk/b\thttps://www.nhs.uk/c \n"
    assert prefill_of_command(text).urls == (
        "https://www.nhs.uk/a\nhttps://www.nhs.uk/b\nhttps://www.nhs.uk/c"
    )
    assert prefill_of_command("") == Prefill()


def test_not_allowed_names_the_user_and_member_id() -> None:
    message = views.not_allowed_message("jo_bloggs", "U0ABC", "Ask *us* first.")
    text = text_of(message)
    assert message["text"] == "User not allowed"
    assert "jo_bloggs" in text
    assert "U0ABC" in text
    assert "Ask *us* first." in text


def test_success_with_150_long_urls_fits_and_lists_every_url() -> None:
    urls = [f"https://www.nhs.uk/{index:03d}/" + "x" * 77 for index in range(150)]
    assert all(len(url) == 100 for url in urls)
    body = {"estimatedSeconds": 420, "purgeId": "p-1", "supportId": "s-1"}
    message = result_views.success_message("jo_bloggs", "U1", "production", urls, body)
    assert_valid_message(message)
    assert_valid_view(result_views.result_view(message))
    text = "\n".join(b["text"]["text"] for b in message["blocks"])
    assert message["text"] == "Cache flush succeeded"
    assert all(url in text for url in urls)
    assert "420 seconds" in text
    assert "p-1" in text
    assert "s-1" in text
    assert "<@U1>" in text
    assert "production" in text


def test_success_defaults_the_estimate_to_five_seconds() -> None:
    message = result_views.success_message("jo", "U1", "staging", ["https://www.nhs.uk/"], {})
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
        text = text_of(result_views.success_message("jo", "U1", "staging", URLS, body))
        assert "*Purge ID:* `p-42`" in text
        assert "*Support ID:* `s-42`" in text
        assert "about 7 seconds" in text


def test_failure_with_a_20_kb_body_is_cut_to_a_short_details_line() -> None:
    body = {"message": "Akamai said no", "error": {"name": "E", "message": "<&>" * 7_000}}
    message = failure(FlushResult.answered(500, body))
    assert_valid_message(message)
    assert_valid_view(result_views.result_view(message))
    assert message["text"] == "Cache flush failed"
    details = details_of(message)
    assert len(details) <= result_views.DETAILS_CHARS + len("*Details:* ")
    assert "HTTP 500" in details
    assert "Akamai said no" in details
    assert details.endswith("(truncated)")
    cut = details
    for entity in ("&lt;", "&gt;", "&amp;"):
        cut = cut.replace(entity, "")
    assert "&" not in cut, "the cut never splits an entity"


def test_failure_names_the_environment_the_urls_the_status_and_the_body() -> None:
    body = {"message": "Forbidden host", "urls": ["a"]}
    message = failure(FlushResult.answered(403, body))
    text = text_of(message)
    assert "*Environment:* production" in text
    assert all(url in text for url in URLS)
    assert "*Status:* HTTP 403" in text
    assert details_of(message) == '*Details:* HTTP 403 {"message": "Forbidden host", "urls": ["a"]}'


def test_the_raw_answer_is_never_the_headline() -> None:
    message = failure(FlushResult.answered(403, {"message": "Forbidden host"}))
    headline = message["blocks"][0]["text"]["text"]
    assert headline.startswith(":x: *Nothing was flushed.*")
    assert "Forbidden host" not in text_of({"blocks": message["blocks"][:-1]})


AKAMAI_403 = {
    "supportId": "17PY1",
    "title": "unauthorized arl",
    "httpStatus": 403,
    "detail": "https://www.nhs.uk/a is not authorized",
    "describedBy": "https://api.ccu.akamai.com/ccu/v2/errors/unauthorized-arl",
    "urls": list(URLS),
}
HEADLINES = {
    result_views.FailureCause.AKAMAI_NOT_AUTHORISED: "Akamai has not authorised this app to flush",
    result_views.FailureCause.REJECTED: "cache-flush rejected the request",
    result_views.FailureCause.MISCONFIGURED: "the app is misconfigured",
    result_views.FailureCause.RATE_LIMITED: "Akamai is limiting how many flushes",
    result_views.FailureCause.UNAVAILABLE: "unavailable right now",
    result_views.FailureCause.NOT_SENT: "could not send the request",
}
ADVICE = {
    result_views.FailureCause.AKAMAI_NOT_AUTHORISED: "Ask the web team's CDN owner",
    result_views.FailureCause.REJECTED: "this is a fault in this app",
    result_views.FailureCause.MISCONFIGURED: "Trying again will not help. Please tell",
    result_views.FailureCause.RATE_LIMITED: "Try again in 1 minute.",
    result_views.FailureCause.UNAVAILABLE: "Try again in a few minutes",
    result_views.FailureCause.NOT_SENT: "This is a fault in this app",
}


@pytest.mark.parametrize(
    ("result", "cause"),
    [
        pytest.param(FlushResult.answered(403, AKAMAI_403), "AKAMAI_NOT_AUTHORISED", id="akamai"),
        pytest.param(FlushResult.answered(400, {"message": "bad"}), "REJECTED", id="400"),
        pytest.param(FlushResult.answered(403, {"message": "no"}), "REJECTED", id="403"),
        pytest.param(FlushResult.answered(403, ""), "REJECTED", id="403-no-body"),
        pytest.param(FlushResult.answered(422, {"message": "env"}), "REJECTED", id="422"),
        pytest.param(FlushResult.answered(405, ""), "REJECTED", id="405"),
        pytest.param(
            FlushResult.answered(400, {"title": "Bad request", "detail": "x"}),
            "REJECTED",
            id="400-akamai",
        ),
        pytest.param(FlushResult.answered(401, ""), "MISCONFIGURED", id="401"),
        pytest.param(FlushResult.answered(404, {"message": "x"}), "MISCONFIGURED", id="404"),
        pytest.param(FlushResult.answered(307, "", "redirect"), "MISCONFIGURED", id="3xx"),
        pytest.param(FlushResult.answered(429, {"title": "limit"}), "RATE_LIMITED", id="429"),
        pytest.param(FlushResult.answered(500, {"message": "x"}), "UNAVAILABLE", id="500"),
        pytest.param(FlushResult.answered(503, "cold start"), "UNAVAILABLE", id="503"),
        pytest.param(FlushResult.answered(502, ""), "UNAVAILABLE", id="502"),
        pytest.param(FlushResult.answered(504, "<html/>"), "UNAVAILABLE", id="504"),
        pytest.param(FlushResult.no_response("timed out"), "UNAVAILABLE", id="no-response"),
        pytest.param(FlushResult.not_sent("bad"), "NOT_SENT", id="not-sent"),
    ],
)
def test_each_failure_says_nothing_was_flushed_why_and_what_to_do(
    result: FlushResult, cause: str
) -> None:
    expected = result_views.FailureCause[cause]
    assert result_views.failure_cause(result) is expected
    message = failure(result)
    headline = message["blocks"][0]["text"]["text"]
    assert "*Nothing was flushed" in headline
    if result.status is None and result.transient:
        assert "as far as the app knows.* cache-flush did not answer" in headline
    elif result.status in {502, 504}:
        assert "as far as the app knows.* The gateway in front of cache-flush" in headline
    else:
        assert HEADLINES[expected] in headline
    for other in set(HEADLINES) - {expected}:
        assert HEADLINES[other] not in headline
    advice = [b["text"]["text"] for b in message["blocks"] if "What to do" in str(b)]
    assert len(advice) == 1
    assert ADVICE[expected] in advice[0]
    for other in set(ADVICE) - {expected}:
        assert ADVICE[other] not in advice[0]


def test_akamai_refusal_names_the_hosts_and_who_to_ask() -> None:
    urls = (
        "https://www.nhs.uk/a",
        "https://www.nhs.uk/b",
        "https://campaignresources.dhsc.gov.uk/",
    )
    message = result_views.failure_message(FlushResult.answered(403, AKAMAI_403), "staging", urls)
    text = text_of(message)
    assert "flush www.nhs.uk or campaignresources.dhsc.gov.uk, so it refused" in text
    assert "Ask the web team's CDN owner to authorise" in text
    assert "unauthorized arl" in details_of(message)


@pytest.mark.parametrize(
    "result",
    [
        FlushResult.answered(403, AKAMAI_403),
        FlushResult.answered(400, {"message": "bad"}),
        FlushResult.answered(401, ""),
        FlushResult.answered(429, ""),
        FlushResult.answered(503, ""),
        FlushResult.no_response("timed out"),
        FlushResult.not_sent("bad"),
    ],
)
def test_the_support_contact_is_named_wherever_the_user_is_told_to_ask(
    result: FlushResult,
) -> None:
    named = text_of(result_views.failure_message(result, "staging", URLS, contact="#web-support"))
    assert "#web-support" in named
    assert views.NO_CONTACT not in named
    unset = text_of(result_views.failure_message(result, "staging", URLS))
    assert "#web-support" not in unset
    assert "app developer" not in unset


def test_a_slack_reference_as_contact_is_kept_so_that_it_links() -> None:
    linked = text_of(failure_with_contact("<#C0123|web-support>"))
    assert "<#C0123|web-support>" in linked
    plain = text_of(failure_with_contact("<b>ops & co</b>"))
    assert "&lt;b&gt;ops &amp; co&lt;/b&gt;" in plain


def failure_with_contact(contact: str) -> dict[str, Any]:
    return result_views.failure_message(
        FlushResult.answered(400, {"message": "x"}), "staging", URLS, contact=contact
    )


@pytest.mark.parametrize(
    ("wait", "minutes"), [(None, "1 minute"), (30.0, "1 minute"), (61.0, "2 minutes")]
)
def test_a_rate_limit_says_when_to_try_again(wait: float | None, minutes: str) -> None:
    result = FlushResult.answered(429, {"title": "Rate limit"}, retry_after_seconds=wait)
    assert f"Try again in {minutes}." in text_of(failure(result, attempts=3))


def test_a_timeout_does_not_claim_more_than_the_app_knows() -> None:
    message = failure(FlushResult.no_response("cache-flush did not answer within 30 s"), 3)
    text = text_of(message)
    assert "Nothing was flushed, as far as the app knows" in text
    assert "flushing the same URLs again is harmless" in text
    assert details_of(message) == "*Details:* no answer: cache-flush did not answer within 30 s"


def uncertain_after(result: FlushResult) -> str:
    """The failure text for `result` when an earlier attempt got no answer from cache-flush."""
    return text_of(
        result_views.failure_message(result, "production", URLS, 3, unconfirmed_earlier=True)
    )


@pytest.mark.parametrize(
    ("result", "headline"),
    [
        (FlushResult.answered(503, {}), "cache-flush, or Akamai behind it, is unavailable"),
        (FlushResult.answered(400, {"message": "bad URL"}), "cache-flush rejected the request."),
        (FlushResult.not_sent("boom"), "The app could not send the request to cache-flush."),
    ],
)
def test_an_earlier_unanswered_attempt_makes_nothing_flushed_uncertain(
    result: FlushResult, headline: str
) -> None:
    text = uncertain_after(result)
    assert f"*Nothing was flushed, as far as the app knows.* {headline}" in text
    assert result_views.UNCONFIRMED_EARLIER in text
    assert "*Nothing was flushed.*" not in text
    plain = text_of(failure(result, 3))
    assert f"*Nothing was flushed.* {headline}" in plain
    assert result_views.UNCONFIRMED_EARLIER not in plain


def test_a_rate_limit_after_an_unanswered_attempt_says_flushing_again_is_harmless() -> None:
    result = FlushResult.answered(429, {"title": "Rate limit"}, retry_after_seconds=30.0)
    text = uncertain_after(result)
    assert "Try again in 1 minute: flushing the same URLs again is harmless." in text
    assert "harmless" not in text_of(failure(result, 3))


def test_akamai_refusing_the_credentials_stays_certain_after_an_unanswered_attempt() -> None:
    text = uncertain_after(FlushResult.answered(403, AKAMAI_403))
    assert "*Nothing was flushed.* Akamai has not authorised this app" in text
    assert "as far as the app knows" not in text


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
    success = plan_notifications(request, FlushAttempts(FlushResult.answered(201, {})))
    assert list(success) == ["modal", "dm", "channel"]
    failed = plan_notifications(
        request, FlushAttempts(FlushResult.answered(403, {"message": "no"}))
    )
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
DEADLINE = views.SlackTime(1767229200, "2026-01-01 01:00 UTC")
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
    assert_valid_view(result_views.result_view(told))
    assert told["text"] == expected[1]
    assert "*Environment:* production" in text_of(told)


def test_the_requester_is_told_who_approved_with_the_name_escaped() -> None:
    told = approval_views.requester_message(approval_request(), PLAN, Stage.APPROVED, APPROVER)
    assert "approved* by sam &lt;b&gt; (<@U2>)" in text_of(told)


def test_a_request_that_could_not_be_posted_tells_the_requester_to_get_help() -> None:
    message = approval_views.request_failed_message(approval_request())
    assert_valid_message(message)
    assert_valid_view(result_views.result_view(message))
    assert message["text"] == "Cache flush approval request failed"
    assert f"Please tell {views.NO_CONTACT}." in text_of(message)
    assert "app developer" not in text_of(message)
    named = replace(approval_request(), support_contact="<#C0123|web-support>")
    assert "Please tell <#C0123|web-support>." in text_of(
        approval_views.request_failed_message(named)
    )


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
        shown = text_of({"blocks": [b for b in message["blocks"] if "text" in b]})
        assert "the rest in 2 replies in this message's thread" in shown
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


@pytest.mark.parametrize(
    "build",
    [
        views.access_unavailable_view,
        lambda contact: views.open_failed_message("expired_trigger_id", contact),
        lambda contact: views.processing_error_message("KeyError", contact),
    ],
    ids=["access-unavailable", "open-failed", "processing-error"],
)
def test_other_notices_name_the_support_contact_too(build: Any) -> None:
    assert "tell #web-support." in text_of(build("#web-support"))
    assert f"tell {views.NO_CONTACT}." in text_of(build(None))


def test_the_not_allowed_notice_names_who_to_ask() -> None:
    for notice in (
        views.not_allowed_view("jo_bloggs", "U0ABC", "Post it in the team channel.", "#web-help"),
        views.not_allowed_message("jo_bloggs", "U0ABC", "Post it.", "#web-help"),
    ):
        assert "Ask #web-help." in text_of(notice)
    assert f"Ask {views.NO_CONTACT}." in text_of(views.not_allowed_view("jo", "U0ABC", "Hint."))


def test_the_checking_view_has_the_title_and_close_button_of_every_modal() -> None:
    view = checking_view()
    assert {key: view[key] for key in ("type", "title", "close")} == {
        key: views.modal([])[key] for key in ("type", "title", "close")
    }
