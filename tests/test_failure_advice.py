"""Failures people can act on (doc/behaviour.md): the answer that reaches the user, by cause.

cache-flush is the stand-in on 127.0.0.1, answering as the real service does; the activity
calls it, and the failure message is built from what the activity returned, as the
orchestrator builds it (the support contact comes from the orchestration input).
"""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

import call_cache_flush_activity
from devhost.standins.stub_server import Reply
from shared.cache_flush import MAX_RETRY_AFTER_SECONDS, retry_after_seconds
from shared.handoffs import FlushAttempts, FlushRequest, FlushResult
from shared.orchestration import result_message
from tests.support.app_env import AppEnv

URLS = ("https://www.nhs.uk/conditions/", "https://www.nhs.uk/live-well/")


def request(contact: str | None = None, urls: tuple[str, ...] = URLS) -> FlushRequest:
    return FlushRequest(
        "U1", "jo", "T1", "V1", "production", urls, None, 5000, support_contact=contact
    )


def failure_text(result: FlushResult, contact: str | None = None, attempts: int = 1) -> str:
    message = result_message(request(contact), FlushAttempts(result, attempts))
    assert message["text"] == "Cache flush failed"
    lines = []
    for block in message["blocks"]:
        if "text" in block:
            lines.append(block["text"]["text"])
        lines += [
            item["text"] for item in block.get("elements", []) if isinstance(item.get("text"), str)
        ]
    return "\n".join(lines)


def flush(urls: tuple[str, ...] = URLS) -> FlushResult:
    answer = call_cache_flush_activity.main({"environment": "production", "urls": list(urls)})
    return FlushResult.from_dict(answer)


def test_akamai_not_authorising_a_host_says_ask_the_cdn_owner(app_env: AppEnv) -> None:
    app_env.cache_flush.akamai(403)
    text = failure_text(flush(), contact="#web-platform")
    assert "*Nothing was flushed.* Akamai has not authorised this app to flush www.nhs.uk" in text
    assert "Ask the web team's CDN owner (through #web-platform) to authorise" in text
    assert "*Details:* HTTP 403 " in text
    assert "is not authorized" in text.split("*Details:*")[1], "Akamai's detail is kept"
    assert "is not authorized" not in text.split("*Details:*")[0], "but never as the headline"


def test_cache_flush_rejecting_the_request_is_a_fault_to_report(app_env: AppEnv) -> None:
    text = failure_text(flush(("https://www.nhs.uk:8443/x",)), contact="#web-platform")
    assert "*Nothing was flushed.* cache-flush rejected the request." in text
    assert "this is a fault in this app" in text
    assert "report it to #web-platform" in text
    assert "not for the domain 'nhs.uk'" in text.split("*Details:*")[1]


def test_a_wrong_function_key_says_the_app_is_misconfigured(app_env: AppEnv) -> None:
    app_env.cache_flush.key = "another-key"
    text = failure_text(flush())
    assert "*Status:* HTTP 401" in text
    assert "the app is misconfigured" in text
    assert "Please tell the team that runs this app" in text


@pytest.mark.parametrize(
    ("headers", "wait"),
    [({}, "1 minute"), ({"Retry-After": "180"}, "3 minutes"), ({"Retry-After": "20"}, "1 minute")],
)
def test_a_rate_limit_says_when_to_try_again(
    app_env: AppEnv, headers: dict[str, str], wait: str
) -> None:
    app_env.cache_flush.reply(
        Reply(status=429, json={"title": "Rate Limit exceeded", "httpStatus": 429}, headers=headers)
    )
    text = failure_text(flush(), attempts=3)
    assert "Akamai is limiting how many flushes it takes right now" in text
    assert f"Try again in {wait}." in text
    assert "*Status:* HTTP 429, the last of 3 attempts" in text


def test_akamai_s_own_rate_limit_passed_through_is_advised_too(app_env: AppEnv) -> None:
    app_env.cache_flush.akamai(429)
    text = failure_text(flush())
    assert "Try again in 1 minute." in text


def test_no_answer_says_try_again_without_claiming_more_than_is_known(app_env: AppEnv) -> None:
    app_env.cache_flush.reply(Reply(drop=True))
    text = failure_text(flush(), attempts=3)
    assert "*Nothing was flushed, as far as the app knows.*" in text
    assert "flushing the same URLs again is harmless" in text
    assert "*Details:* no answer: could not reach cache-flush" in text


@pytest.mark.parametrize(
    ("value", "seconds"),
    [
        (None, None),
        ("", None),
        ("soon", None),
        ("-5", None),
        ("1.5", None),
        ("120", 120.0),
        ("99999999", float(MAX_RETRY_AFTER_SECONDS)),
        ("Wed, 03 Dec 2026 09:10:00 GMT", 600.0),
        ("Wed, 03 Dec 2026 08:00:00 GMT", 0.0),
    ],
)
def test_retry_after_is_read_as_seconds_or_an_http_date(
    value: str | None, seconds: float | None
) -> None:
    now = datetime(2026, 12, 3, 9, 0, tzinfo=UTC)
    assert retry_after_seconds(value, now) == seconds


def test_the_support_contact_travels_in_the_orchestration_input() -> None:
    with_contact = request("#web-platform")
    assert with_contact.to_dict()["support_contact"] == "#web-platform"
    assert FlushRequest.from_dict(with_contact.to_dict()) == with_contact
    assert "support_contact" not in request().to_dict()
    assert FlushRequest.from_dict(request().to_dict()).support_contact is None
