"""The cache-flush simulator follows the cache-flush contract (SPEC section 8)."""

from __future__ import annotations

import logging
import time
import uuid
from typing import Any
from urllib.parse import parse_qs, urlsplit

import pytest
import requests

from devhost.simulate.cache_flush import url_host
from tests.devhost_simulate.conftest import SimServer


def _key(server: SimServer) -> str:
    return parse_qs(urlsplit(server.flush_url).query)["code"][0]


def _flush(server: SimServer, body: Any, **kwargs: Any) -> requests.Response:
    return server.http.post(server.flush_url, json=body, timeout=10, **kwargs)


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
        " https://www.nhs.uk/conditions/ ",
        "https://www.nhs.uk/conditions/",
        "",
        "https://campaignresources.dhsc.gov.uk/x",
        "http://nhs.uk/other",
    ]
    response = _flush(server, {"environment": "production", "objects": objects})
    assert response.status_code == 201
    assert response.headers["Content-Type"] == "application/json; charset=utf-8"
    body = response.json()
    assert body["urls"] == [
        "https://www.nhs.uk/conditions/",
        "https://campaignresources.dhsc.gov.uk/x",
        "http://nhs.uk/other",
    ]
    assert body["detail"] == "Request accepted"
    assert body["estimatedSeconds"] == 5
    assert body["httpStatus"] == 201
    assert uuid.UUID(body["purgeId"])
    assert body["supportId"]


@pytest.mark.parametrize(
    "body",
    [
        None,
        {},
        {"environment": "staging"},
        {"objects": ["https://www.nhs.uk/"]},
        {"environment": "staging", "objects": []},
        {"environment": "staging", "objects": "https://x"},
    ],
)
def test_missing_properties_are_400(server: SimServer, body: Any) -> None:
    response = _flush(server, body)
    assert response.status_code == 400
    assert set(response.json()) == {"message"}


def test_non_json_body_is_400(server: SimServer) -> None:
    response = server.http.post(server.flush_url, data="environment=staging", timeout=10)
    assert response.status_code == 400
    assert server.get("/sim/cache-flush/calls").json()["calls"][0]["body_error"]


def test_bad_environment_is_400(server: SimServer) -> None:
    response = _flush(server, {"environment": "dev", "objects": ["https://www.nhs.uk/"]})
    assert response.status_code == 400
    assert "dev" in response.json()["message"]


def test_unparseable_urls_are_400_with_the_urls(server: SimServer) -> None:
    objects = ["not a url", "https://www.nhs.uk/ok", "https://", "http://bad port.nhs.uk:x/"]
    response = _flush(server, {"environment": "staging", "objects": objects})
    assert response.status_code == 400
    assert response.json()["urls"] == ["not a url", "https://", "http://bad port.nhs.uk:x/"]
    assert response.json()["message"]


def test_hosts_outside_the_domain_are_403_with_the_urls(server: SimServer) -> None:
    objects = [
        "https://www.nhs.uk/fine",
        "https://example.com/a",
        "https://nhs.uk.evil.com/b",
        "https://www.nhs.uk:8443/c",
        "https://evilnhs.uk/d",
    ]
    response = _flush(server, {"environment": "staging", "objects": objects})
    assert response.status_code == 403
    assert response.json()["urls"] == objects[1:3]


def test_url_host_is_the_lower_cased_host_name_without_the_port() -> None:
    assert url_host("https://WWW.NHS.UK/x") == "www.nhs.uk"
    assert url_host("https://www.nhs.uk:443/x") == "www.nhs.uk"
    assert url_host("https://user:pw@www.nhs.uk:8080/x") == "www.nhs.uk"
    assert url_host("mailto:someone@nhs.uk") == ""
    assert url_host("www.nhs.uk/no-scheme") is None
    assert url_host("https://www.nhs.uk:99999/") is None


def test_faults_status_body_then_normal(server: SimServer) -> None:
    body = {"environment": "staging", "objects": ["https://www.nhs.uk/"]}
    server.post("/sim/cache-flush/faults", {"times": 2, "status": 503, "body": {"message": "cold"}})
    first, second, third = (_flush(server, body) for _ in range(3))
    assert (first.status_code, second.status_code, third.status_code) == (503, 503, 201)
    assert first.json() == {"message": "cold"}
    server.post("/sim/cache-flush/faults", {"status": 500})
    failed = _flush(server, body).json()
    assert set(failed) == {"message", "error"}
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
    assert server.post("/sim/cache-flush/faults", {"retry_after": 1}).status_code == 400
    server.post("/sim/cache-flush/reset")
    assert server.get("/sim/cache-flush/calls").json()["calls"] == []


def test_records_and_logs_never_contain_the_key(
    server: SimServer, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    key = _key(server)
    objects = ["https://www.nhs.uk/"]
    _flush(server, {"environment": "staging", "objects": objects})
    server.http.post(
        server.base_url + "/sim/cache-flush",
        json={"environment": "production", "objects": objects},
        headers={"x-functions-key": key},
        timeout=10,
    )
    server.http.post(server.base_url + "/sim/cache-flush?code=wrong", json={}, timeout=10)
    server.command("U0TESTUSR1")
    server.api("auth.test")
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
