"""The cache-flush simulator answers as the real service does (doc/behaviour.md)."""

from __future__ import annotations

import asyncio
import logging
import re
import time
import uuid
from typing import Any
from urllib.parse import parse_qs, urlsplit

import pytest
import requests
from aiohttp import web
from aiohttp.test_utils import TestClient, TestServer

from devhost.simulate.cache_flush import DELAY_SETTING, CacheFlushSimulator, url_host
from devhost.simulate.events import EventLog
from tests.devhost_simulate.conftest import SimServer


def _key(server: SimServer) -> str:
    return parse_qs(urlsplit(server.flush_url).query)["code"][0]


def _flush(server: SimServer, body: Any, **kwargs: Any) -> requests.Response:
    return server.http.post(server.flush_url, json=body, timeout=10, **kwargs)


def _flush_urls(
    server: SimServer, objects: list[Any], environment: str = "staging"
) -> requests.Response:
    """Ask to flush ``objects`` in ``environment``, the body otherwise well formed."""
    return _flush(server, {"environment": environment, "objects": objects})


def test_function_key_is_required(server: SimServer) -> None:
    body = {"environment": "staging", "objects": ["https://www.nhs.uk/"]}
    bare = server.base_url + "/sim/cache-flush"
    for response in (
        server.http.post(bare, json=body, timeout=10),
        server.http.post(bare + "?code=wrong", json=body, timeout=10),
        server.http.post(bare, json=body, headers={"x-functions-key": "wrong"}, timeout=10),
    ):
        assert response.status_code == 401
        assert response.content == b""
    header = server.http.post(
        bare, json=body, headers={"x-functions-key": _key(server)}, timeout=10
    )
    assert header.status_code == 201
    assert _flush(server, body).status_code == 201


def test_success_answer_trims_and_deduplicates(server: SimServer) -> None:
    objects = [
        " https://www.nhs.uk/conditions/\u3000",
        "https://www.nhs.uk/conditions/",
        "\ufeffhttps://campaignresources.dhsc.gov.uk/x",
        "http://nhs.uk/other",
        "https://WWW.NHS.UK/conditions/",
    ]
    response = _flush_urls(server, objects, environment="production")
    assert response.status_code == 201
    assert response.headers["Content-Type"] == "application/json; charset=utf-8"
    body = response.json()
    assert body["urls"] == [
        "https://www.nhs.uk/conditions/",
        "https://campaignresources.dhsc.gov.uk/x",
        "http://nhs.uk/other",
        "https://WWW.NHS.UK/conditions/",
    ], "trimmed as JavaScript trims, de-duplicated as typed, not normalised"
    assert body["detail"] == "Request accepted"
    assert body["estimatedSeconds"] == 5
    assert body["httpStatus"] == 201
    assert uuid.UUID(body["purgeId"])
    assert re.fullmatch(r"17SY\d+-\d+", body["supportId"])


MISSING = "Request must contain a body with required properties: 'environment', 'objects'."


@pytest.mark.parametrize(
    "body",
    [
        None,
        {},
        [],
        {"environment": "staging"},
        {"objects": ["https://www.nhs.uk/"]},
        {"environment": "", "objects": ["https://www.nhs.uk/"]},
        {"environment": 0, "objects": ["https://www.nhs.uk/"]},
        {"environment": "staging", "objects": []},
        {"environment": "staging", "objects": "https://www.nhs.uk/"},
        {"environment": "staging", "objects": {"0": "https://www.nhs.uk/"}},
    ],
)
def test_missing_properties_are_400_with_the_exact_message(server: SimServer, body: Any) -> None:
    response = _flush(server, body)
    assert response.status_code == 400
    assert response.json() == {"message": MISSING}


def test_non_json_body_is_400(server: SimServer) -> None:
    response = server.http.post(server.flush_url, data="environment=staging", timeout=10)
    assert response.status_code == 400
    assert response.json() == {"message": MISSING}
    assert server.get("/sim/cache-flush/calls").json()["calls"][0]["body_error"]


@pytest.mark.parametrize(
    ("environment", "shown"),
    [("dev", "dev"), ("Staging", "Staging"), (1.0, "1"), (True, "true"), (["a", None], "a,")],
)
def test_bad_environment_is_400_with_the_exact_message(
    server: SimServer, environment: Any, shown: str
) -> None:
    response = _flush(server, {"environment": environment, "objects": ["https://www.nhs.uk/"]})
    assert response.status_code == 400
    assert response.json() == {
        "message": f"'{shown}' is not a valid option for environment. "
        "It must be one of: staging, production."
    }


def test_a_url_that_is_not_a_string_makes_the_service_fail_without_a_body(
    server: SimServer,
) -> None:
    response = _flush_urls(server, ["https://www.nhs.uk/", 7])
    assert response.status_code == 500
    assert response.content == b""


def test_unparseable_urls_are_400_with_the_urls(server: SimServer) -> None:
    objects = [
        "not a url",
        "https://www.nhs.uk/ok",
        "https://",
        "",
        "http://bad port.nhs.uk:x/",
        "https://www.nhs.uk:99999/",
        "www.nhs.uk/no-scheme",
    ]
    response = _flush_urls(server, objects)
    assert response.status_code == 400
    assert response.json() == {
        "message": "Some URLs are invalid as they are not parseable into a valid URL.",
        "urls": [url for url in objects if url != "https://www.nhs.uk/ok"],
    }


def test_hosts_are_checked_as_the_service_checks_them(server: SimServer) -> None:
    """The WHATWG host keeps a non-default port and a trailing dot; the test is a suffix test."""
    outside = [
        "https://example.com/a",
        "https://nhs.uk.evil.com/b",
        "https://www.nhs.uk:8443/c",
        "http://www.nhs.uk:443/c",
        "https://www.nhs.uk./e",
        "https://campaignresources.dhsc.gov.uk:444/f",
        "mailto:someone@nhs.uk",
    ]
    inside = [
        "https://www.nhs.uk/fine",
        "https://www.nhs.uk:443/default-port",
        "http://www.nhs.uk:80/default-port",
        "https://evilnhs.uk/suffix",
        "https://www.nhs.u\u212a/kelvin-sign",
        "https://www.nhs.uk\\back\\slashes",
        "https://user:pw@www.nhs.uk/credentials",
        "https://campaignresources.dhsc.gov.uk/x",
    ]
    response = _flush_urls(server, inside + outside)
    assert response.status_code == 403
    assert response.json() == {
        "message": "Some URLs can not be flushed from cache as they are not for the domain "
        "'nhs.uk'.",
        "urls": outside,
    }
    assert _flush_urls(server, inside).status_code == 201


def test_url_host_is_the_whatwg_host() -> None:
    assert url_host("https://WWW.NHS.UK/x") == "www.nhs.uk"
    assert url_host("https://www.nhs.uk:443/x") == "www.nhs.uk"
    assert url_host("http://www.nhs.uk:443/x") == "www.nhs.uk:443"
    assert url_host("https://www.nhs.uk:8080/x") == "www.nhs.uk:8080"
    assert url_host("https://www.nhs.uk./x") == "www.nhs.uk."
    assert url_host("https://user:pw@www.nhs.uk/x") == "www.nhs.uk"
    assert url_host("https://\u00f1.nhs.uk/") == "xn--ida.nhs.uk"
    assert url_host("https://www.nhs.uk/\ud800") == "www.nhs.uk"
    assert url_host("mailto:someone@nhs.uk") == ""
    assert url_host("www.nhs.uk/no-scheme") is None
    assert url_host("https://www.nhs.uk:99999/") is None


def test_an_akamai_error_is_passed_through_with_its_status_and_the_urls(
    server: SimServer,
) -> None:
    body = {"environment": "staging", "objects": ["https://www.nhs.uk/a", "https://www.nhs.uk/a"]}
    server.post("/sim/cache-flush/akamai-errors", {"status": 403})
    forbidden = _flush(server, body)
    assert forbidden.status_code == 403
    problem = forbidden.json()
    assert problem["httpStatus"] == 403
    assert problem["title"] == "unauthorized arl"
    assert problem["detail"] == "https://www.nhs.uk/a is not authorized"
    assert problem["supportId"]
    assert problem["urls"] == ["https://www.nhs.uk/a"]

    limited = {"httpStatus": 429, "title": "Rate limit exceeded", "detail": "slow down"}
    server.post("/sim/cache-flush/akamai-errors", {"body": limited, "times": 2})
    assert server.get("/sim/cache-flush/akamai-errors").json()["faults"][0]["remaining"] == 2
    invalid = _flush_urls(server, ["https://example.com/"])
    assert invalid.status_code == 403, "validation comes before the call to Akamai"
    first, second, third = (_flush(server, body) for _ in range(3))
    assert (first.status_code, second.status_code, third.status_code) == (429, 429, 201)
    assert first.json() == {**limited, "urls": ["https://www.nhs.uk/a"]}
    calls = server.get("/sim/cache-flush/calls").json()["calls"]
    assert [call["answer"]["status"] for call in calls] == [403, 403, 429, 429, 201]
    assert calls[0]["akamai_error"] == {"status": 403}

    server.post("/sim/cache-flush/akamai-errors", {"status": 500})
    server.http.delete(server.base_url + "/sim/cache-flush/akamai-errors", timeout=10)
    assert _flush(server, body).status_code == 201
    assert server.post("/sim/cache-flush/akamai-errors", {"delay": 1}).status_code == 400


def test_faults_status_body_then_normal(server: SimServer) -> None:
    body = {"environment": "staging", "objects": ["https://www.nhs.uk/"]}
    server.post("/sim/cache-flush/faults", {"times": 2, "status": 503, "body": {"message": "cold"}})
    first, second, third = (_flush(server, body) for _ in range(3))
    assert (first.status_code, second.status_code, third.status_code) == (503, 503, 201)
    assert first.json() == {"message": "cold"}
    server.post("/sim/cache-flush/faults", {"status": 500})
    failed = _flush(server, body).json()
    assert failed["message"] == "An error has occurred during cache flush."
    assert set(failed["error"]) == {"message", "name"}


def test_fault_non_json_delay_and_drop(server: SimServer) -> None:
    body = {"environment": "staging", "objects": ["https://www.nhs.uk/"]}
    server.post("/sim/cache-flush/faults", {"non_json": True, "status": 502})
    page = _flush(server, body)
    assert page.status_code == 502
    assert page.headers["Content-Type"].startswith("text/html")

    server.post("/sim/cache-flush/faults", {"delay": 0.3})
    began = time.monotonic()
    assert _flush(server, body).status_code == 201
    assert time.monotonic() - began >= 0.3

    server.post("/sim/cache-flush/faults", {"drop": True})
    with pytest.raises(requests.ConnectionError):
        _flush(server, body)
    outcomes = [call["answer"] for call in server.get("/sim/cache-flush/calls").json()["calls"]]
    assert [answer["status"] for answer in outcomes] == [502, 201, None]
    assert outcomes[2]["dropped"] is True


def test_faults_are_cleared_and_reset_forgets_calls(server: SimServer) -> None:
    body = {"environment": "staging", "objects": ["https://www.nhs.uk/"]}
    server.post("/sim/cache-flush/faults", {"status": 500, "times": 3})
    assert server.get("/sim/cache-flush/faults").json()["faults"][0]["remaining"] == 3
    server.http.delete(server.base_url + "/sim/cache-flush/faults", timeout=10)
    assert _flush(server, body).status_code == 201
    assert server.post("/sim/cache-flush/faults", {"error": "x"}).status_code == 400
    server.post("/sim/cache-flush/reset")
    assert server.get("/sim/cache-flush/calls").json()["calls"] == []


def test_records_and_logs_never_contain_the_key(
    server: SimServer, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    key = _key(server)
    objects = ["https://www.nhs.uk/"]
    _flush_urls(server, objects)
    server.http.post(
        server.base_url + "/sim/cache-flush",
        json={"environment": "production", "objects": objects},
        headers={"x-functions-key": key},
        timeout=10,
    )
    server.http.post(server.base_url + "/sim/cache-flush?code=wrong", json={}, timeout=10)
    server.command("U0TESTUSR1")
    server.api("chat.postMessage", {"channel": "U0TESTUSR1", "text": "x"})
    calls = server.get("/sim/cache-flush/calls").json()["calls"]
    assert [call["answer"]["status"] for call in calls] == [201, 201, 401]
    assert calls[0]["environment"] == "staging"
    assert calls[0]["objects"] == objects
    for path in ("/sim/cache-flush/calls", "/sim/events"):
        assert key not in server.get(path).text
    ours = "\n".join(r.getMessage() for r in caplog.records if r.name.startswith("devhost"))
    assert "cache-flush simulator" in ours
    assert "Slack simulator" in ours
    for secret in (key, server.token, server.environ["SLACK_SIGNING_SECRET"]):
        assert secret not in ours


def test_the_configured_delay_holds_valid_requests_only() -> None:
    async def timed() -> tuple[float, float]:
        app = web.Application()
        CacheFlushSimulator({DELAY_SETTING: "0.4"}, EventLog()).register(app)
        async with TestClient(TestServer(app, host="127.0.0.1")) as client:
            began = time.monotonic()
            valid = await client.post(
                "/sim/cache-flush", json={"environment": "staging", "objects": ["https://nhs.uk/"]}
            )
            assert valid.status == 201
            middle = time.monotonic()
            refused = await client.post("/sim/cache-flush", json={"environment": "staging"})
            assert refused.status == 400
            return middle - began, time.monotonic() - middle

    valid_seconds, refused_seconds = asyncio.run(timed())
    assert valid_seconds >= 0.4
    assert refused_seconds < 0.4


@pytest.mark.parametrize("value", ["-1", "soon", "nan", "inf", "121"])
def test_a_bad_delay_setting_is_refused_by_name(value: str) -> None:
    with pytest.raises(ValueError, match=DELAY_SETTING):
        CacheFlushSimulator({DELAY_SETTING: value}, EventLog())


def test_the_delay_defaults_to_zero(server: SimServer) -> None:
    assert DELAY_SETTING not in server.environ
    body = {"environment": "staging", "objects": ["https://www.nhs.uk/"]}
    began = time.monotonic()
    assert _flush(server, body).status_code == 201
    assert time.monotonic() - began < 1.0


def test_a_throttling_fault_sends_retry_after_and_akamai_s_429_does_not(
    server: SimServer,
) -> None:
    body = {"environment": "staging", "objects": ["https://www.nhs.uk/a"]}
    server.post("/sim/cache-flush/faults", {"retry_after": 120})
    throttled = _flush(server, body)
    assert throttled.status_code == 429
    assert throttled.headers["Retry-After"] == "120"
    server.post("/sim/cache-flush/faults", {"status": 503, "retry_after": 30, "non_json": True})
    unavailable = _flush(server, body)
    assert (unavailable.status_code, unavailable.headers["Retry-After"]) == (503, "30")

    server.post("/sim/cache-flush/akamai-errors", {"status": 429})
    limited = _flush(server, body)
    assert limited.status_code == 429
    assert "Retry-After" not in limited.headers, "cache-flush passes on Akamai's body only"
    assert limited.json()["title"] == "Rate Limit exceeded"
    assert limited.json()["rateLimitRemaining"] == 0
