"""Injected Slack Web API faults: errors, rate limits, server errors, delays and drops."""

from __future__ import annotations

import time

import pytest
import requests
from slack_sdk import WebClient
from slack_sdk.http_retry.builtin_handlers import RateLimitErrorRetryHandler

from tests.devhost_simulate.conftest import SimServer, simple_view

USER = "U0TESTUSR1"
GROUP = "S0DEMOGROUP"


def _raw(server: SimServer, method: str) -> requests.Response:
    return server.http.post(
        f"{server.base_url}/sim/slack/api/{method}",
        json={"channel": USER, "text": "x", "usergroup": GROUP},
        headers={"Authorization": f"Bearer {server.token}"},
        timeout=10,
    )


def test_status_fault_applies_to_its_method_for_its_count(server: SimServer) -> None:
    added = server.post(
        "/sim/slack/faults", {"method": "chat.postMessage", "times": 2, "status": 500}
    )
    assert added.json()["faults"] == [{"method": "chat.postMessage", "status": 500, "remaining": 2}]
    assert _raw(server, "usergroups.users.list").status_code == 200
    first, second, third = (_raw(server, "chat.postMessage") for _ in range(3))
    assert (first.status_code, second.status_code, third.status_code) == (500, 500, 200)
    assert first.json() == {"ok": False, "error": "internal_error"}
    assert third.json()["ok"] is True
    calls = server.get("/sim/slack/calls", params={"method": "chat.postMessage"}).json()["calls"]
    assert [call["outcome"]["status"] for call in calls] == [500, 500, 200]
    assert calls[0]["fault"] == {"method": "chat.postMessage", "status": 500}
    assert server.get("/sim/slack/messages").json()["messages"][0]["message"]["text"] == "x"
    assert len(server.get("/sim/slack/messages").json()["messages"]) == 1


def test_rate_limit_fault_and_slack_sdk_retry(server: SimServer) -> None:
    server.post("/sim/slack/faults", {"status": 429, "retry_after": 7})
    limited = _raw(server, "usergroups.users.list")
    assert limited.status_code == 429
    assert limited.headers["Retry-After"] == "7"
    assert limited.json()["error"] == "ratelimited"

    server.post(
        "/sim/slack/faults", {"method": "usergroups.users.list", "status": 429, "retry_after": 0}
    )
    client = WebClient(
        token=server.token,
        base_url=server.environ["SLACK_API_URL"],
        timeout=5,
        retry_handlers=[RateLimitErrorRetryHandler(max_retry_count=1)],
    )
    assert client.usergroups_users_list(usergroup=GROUP)["ok"] is True
    outcomes = [
        call["outcome"]["status"] for call in server.get("/sim/slack/calls").json()["calls"]
    ]
    assert outcomes == [429, 429, 200]


def test_error_fault_answers_ok_false(server: SimServer) -> None:
    view = server.open_view(simple_view())
    server.post("/sim/slack/faults", {"method": "views.update", "error": "not_found"})
    update = {"view_id": view["id"], "view": simple_view("Later")}
    assert server.api("views.update", update) == {"ok": False, "error": "not_found"}
    assert server.api("views.update", update)["ok"] is True


def test_delay_fault_slows_the_answer(server: SimServer) -> None:
    server.post("/sim/slack/faults", {"delay": 0.3})
    began = time.monotonic()
    answer = server.api("usergroups.users.list", {"usergroup": GROUP})
    assert time.monotonic() - began >= 0.3
    assert answer["ok"] is True


def test_drop_fault_closes_the_connection(server: SimServer) -> None:
    server.post("/sim/slack/faults", {"method": "chat.postMessage", "drop": True})
    with pytest.raises(requests.ConnectionError):
        _raw(server, "chat.postMessage")
    assert server.get("/sim/slack/messages").json()["messages"] == []
    [call] = server.get("/sim/slack/calls").json()["calls"]
    assert call["outcome"] == {"status": None, "dropped": True}
    assert _raw(server, "chat.postMessage").status_code == 200


def test_faults_can_be_listed_cleared_and_are_validated(server: SimServer) -> None:
    server.post("/sim/slack/faults", {"status": 500, "times": 5})
    assert len(server.get("/sim/slack/faults").json()["faults"]) == 1
    assert server.http.delete(server.base_url + "/sim/slack/faults", timeout=10).json() == {
        "faults": []
    }
    assert server.api("usergroups.users.list", {"usergroup": GROUP})["ok"] is True
    for bad in ({}, {"times": 0, "status": 500}, {"status": 99}, {"bogus": 1}, {"drop": "yes"}):
        response = server.post("/sim/slack/faults", bad)
        assert response.status_code == 400, bad
        assert response.json()["error"]
    assert server.post("/sim/slack/faults", {"non_json": True}).status_code == 400
