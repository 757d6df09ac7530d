"""HTTP-triggered functions through devhost: routing, conversions, invocation logging."""

from __future__ import annotations

import logging

import pytest

from tests.support.loop import LOOP_THREAD_NAME


def test_request_reaches_the_function_as_an_http_request(toy):
    response = toy.client.send(
        "POST",
        "/api/echo/Alice?a=1&b=two",
        data=b"raw body",
        headers={"X-Test": "header value", "Content-Type": "text/plain"},
    )
    assert response.status_code == 200
    assert response.headers["Content-Type"] == "application/json"
    seen = response.json()
    assert seen["method"] == "POST"
    assert seen["url"] == f"{toy.host.base_url}/api/echo/Alice?a=1&b=two"
    assert seen["params"] == {"a": "1", "b": "two"}
    assert seen["route"] == {"name": "Alice"}
    assert seen["body"] == "raw body"
    assert seen["x_test"] == "header value"
    assert seen["content_type"] == "text/plain"


def test_routes_match_without_regard_to_case(toy):
    response = toy.client.send("GET", "/API/Echo/Bob")
    assert response.status_code == 200
    assert response.json()["route"] == {"name": "Bob"}


def test_unknown_route_is_404_and_wrong_method_is_405(toy):
    assert toy.client.send("GET", "/api/no-such-route").status_code == 404
    assert toy.client.send("GET", "/api/echo/a/b").status_code == 404
    assert toy.client.send("GET", "/api/echo").status_code == 404
    wrong = toy.client.send("DELETE", "/api/echo/a")
    assert wrong.status_code == 405
    assert set(wrong.headers["Allow"].split(", ")) == {"GET", "POST", "PUT"}


def test_a_function_imports_shared_code_relatively_as_a_submodule_of_the_app(toy):
    answer = toy.client.send("GET", "/api/relative", params={"name": "Ann"})
    assert answer.status_code == 200, answer.text
    assert answer.text == "hello Ann from __app__.toy_relative"


def test_mimetype_and_charset_become_the_content_type(toy):
    response = toy.client.send("GET", "/api/html")
    assert response.headers["Content-Type"] == "text/html; charset=latin-1"
    assert response.content == "<p>café</p>".encode("latin-1")


@pytest.mark.parametrize(
    ("path", "status", "headers", "content"),
    [
        pytest.param("/api/none", 204, {}, b"", id="returning-none-answers-204-without-a-body"),
        pytest.param(
            "/api/text",
            200,
            {"Content-Type": "text/plain; charset=utf-8"},
            b"plain text",
            id="returning-a-string-answers-200-text",
        ),
        pytest.param(
            "/api/out", 201, {"X-Made": "yes"}, b"created", id="named-http-output-binding"
        ),
    ],
)
def test_what_a_function_returns_becomes_the_answer(toy, path, status, headers, content):
    response = toy.client.send("GET", path)
    assert response.status_code == status
    for name, value in headers.items():
        assert response.headers[name] == value
    assert response.content == content


def test_coroutine_functions_are_awaited_on_the_host_loop(toy, loop_thread):
    response = toy.client.send("GET", "/api/async")
    assert response.status_code == 200
    loop_thread_name = LOOP_THREAD_NAME
    assert response.text == f"async on {loop_thread_name}"


def test_function_without_route_or_methods_uses_its_folder_name_and_any_method(toy):
    for method in ("GET", "POST", "PATCH"):
        response = toy.client.send(method, "/api/toy_default")
        assert response.status_code == 200, method
        assert response.text == "plain text"


def test_context_argument_and_absolute_imports_from_the_app_root(toy):
    name, invocation_id = toy.client.send("GET", "/api/context").text.split("|")
    assert name == "toy_context"
    assert len(invocation_id) == 36
    assert toy.client.send("GET", "/api/shared", params={"name": "Bob"}).text == "hello Bob"


def test_failing_function_answers_500_and_is_logged_as_failed(toy, caplog):
    with caplog.at_level(logging.INFO, logger="devhost"):
        response = toy.client.send("GET", "/api/boom")
    assert response.status_code == 500
    assert response.content == b""
    messages = [r.getMessage() for r in caplog.records]
    executing = [m for m in messages if m.startswith("Executing 'Functions.toy_boom'")]
    executed = [m for m in messages if m.startswith("Executed 'Functions.toy_boom' (Failed")]
    assert len(executing) == 1
    assert len(executed) == 1
    invocation_id = executing[0].split("Id=")[1].rstrip(")")
    assert f"Id={invocation_id}, Duration=" in executed[0]
    failure = [m for m in messages if m.startswith("Exception while executing function")]
    assert len(failure) == 1
    assert "RuntimeError: kaboom" in failure[0]
    assert 'toy_boom/__init__.py", line' in failure[0]
    assert "devhost/invocation.py" not in failure[0]


@pytest.mark.parametrize("path", ["/api/echo/a", "/api/none"])
def test_successful_invocations_are_logged_like_the_functions_host(toy, caplog, path):
    with caplog.at_level(logging.INFO, logger="devhost"):
        toy.client.send("GET", path)
    messages = [r.getMessage() for r in caplog.records]
    reason = "Reason='This function was programmatically called via the host APIs.'"
    assert any(m.startswith("Executing 'Functions.") and reason in m for m in messages)
    assert any("(Succeeded, Id=" in m and "Duration=" in m for m in messages)
