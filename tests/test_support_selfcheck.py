"""The test infrastructure itself works: stand-ins, Azurite through the proxy, helpers."""

from __future__ import annotations

import base64
import json
import logging
import os
import threading
import time
from urllib.parse import parse_qs

import pytest
import requests
from azure.core import MatchConditions
from azure.core.exceptions import HttpResponseError
from azure.durable_functions import DurableOrchestrationClient
from azure.storage.blob import BlobServiceClient
from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError
from slack_sdk.http_retry.builtin_handlers import RateLimitErrorRetryHandler
from slack_sdk.signature import SignatureVerifier

from devhost.management import WEBHOOK_PATH
from devhost.simulate.faults import Fault
from devhost.simulate.slack_workspace import stable_id
from devhost.standins.cache_flush import CacheFlushStub
from devhost.standins.durable_api import DurableApi
from devhost.standins.slack_requests import (
    new_trigger_id,
    slack_headers,
    slash_command_body,
    view_submission_body,
)
from devhost.standins.slack_stub import SlackStub
from devhost.standins.stub_server import Reply
from tests.support import constants
from tests.support.app_env import AppEnv
from tests.support.azurite import ACCOUNT_KEY, BlobProxy, upload_allowed_users
from tests.support.logs import LogCapture, assert_no_secrets
from tests.support.loop import run
from tests.support.requests import http_request


def _web_client(slack: SlackStub, token: str = constants.SLACK_BOT_TOKEN) -> WebClient:
    return WebClient(token=token, base_url=slack.base_url, timeout=5)


def test_blob_upload_and_download_through_the_proxy_are_recorded(
    blob_proxy: BlobProxy,
) -> None:
    container = "selfcheck-proxy"
    upload_allowed_users(blob_proxy.connection_string, container, "users.csv", "U1,ann\n")
    with BlobServiceClient.from_connection_string(blob_proxy.connection_string) as service:
        blob = service.get_blob_client(container, "users.csv")
        downloaded = blob.download_blob()
        assert downloaded.readall() == b"U1,ann\n"
        etag = downloaded.properties.etag
        with pytest.raises(HttpResponseError) as not_modified:
            blob.download_blob(etag=etag, match_condition=MatchConditions.IfModified)
        assert not_modified.value.status_code == 304
        service.delete_container(container)

    recorded = [(r.method, r.path, r.response_status) for r in blob_proxy.requests()]
    assert recorded == [
        ("PUT", f"/devstoreaccount1/{container}", 201),
        ("PUT", f"/devstoreaccount1/{container}/users.csv", 201),
        ("GET", f"/devstoreaccount1/{container}/users.csv", 206),
        ("GET", f"/devstoreaccount1/{container}/users.csv", 304),
        ("DELETE", f"/devstoreaccount1/{container}", 202),
    ]
    assert all(r.header("Authorization").startswith("SharedKey ") for r in blob_proxy.requests())


def test_shared_key_signatures_are_checked_through_the_proxy(blob_proxy: BlobProxy) -> None:
    wrong_key = base64.b64encode(bytes(64)).decode()
    forged = blob_proxy.connection_string.replace(ACCOUNT_KEY, wrong_key)
    assert forged != blob_proxy.connection_string
    service = BlobServiceClient.from_connection_string(forged, retry_total=0)
    with service, pytest.raises(HttpResponseError) as raised:
        service.create_container("selfcheck-forged")
    assert raised.value.status_code == 403
    assert [r.response_status for r in blob_proxy.requests()] == [403]


def test_blob_proxy_can_answer_instead_of_storage(blob_proxy: BlobProxy) -> None:
    blob_proxy.reply(Reply(status=503))
    with BlobServiceClient.from_connection_string(
        blob_proxy.connection_string, retry_total=0
    ) as service:
        props = service.get_blob_client("missing", "x.csv")
        with pytest.raises(HttpResponseError) as raised:
            props.download_blob()
        assert raised.value.status_code == 503
    assert [r.response_status for r in blob_proxy.requests()] == [503]


def test_sequence_orders_requests_across_stand_ins(
    slack: SlackStub, cache_flush: CacheFlushStub
) -> None:
    client = _web_client(slack)
    client.chat_postMessage(channel="general", text="first")
    response = requests.post(
        cache_flush.url,
        json={"environment": "staging", "objects": ["https://www.nhs.uk/"]},
        timeout=5,
    )
    client.chat_postMessage(channel="general", text="second")

    assert response.status_code == 201
    first, second = slack.calls("chat.postMessage")
    (flush,) = cache_flush.requests()
    assert first.seq < flush.seq < second.seq


def test_slack_stub_answers_like_the_web_api(slack: SlackStub) -> None:
    client = _web_client(slack)
    view = {"type": "modal", "title": {"type": "plain_text", "text": "Cache Flush"}, "blocks": []}

    opened = client.views_open(trigger_id=new_trigger_id(), view=view)
    view_id = opened["view"]["id"]
    client.views_update(view_id=view_id, view={**view, "blocks": [{"type": "divider"}]})
    posted = client.chat_postMessage(channel="U0ALLOWED1", text="hello")

    assert view_id.startswith("V")
    assert posted["channel"] == stable_id("D", "U0ALLOWED1")
    assert slack.message(posted["channel"], posted["ts"])["text"] == "hello"
    assert [c.method for c in slack.calls()] == ["views.open", "views.update", "chat.postMessage"]
    update = slack.calls("views.update")[0]
    assert update.args["view_id"] == view_id
    assert update.args["view"]["blocks"] == [{"type": "divider"}]
    assert [block["type"] for block in slack.view(view_id)["blocks"]] == ["divider"]
    assert all(c.has_token(constants.SLACK_BOT_TOKEN) for c in slack.calls())
    assert constants.SLACK_BOT_TOKEN not in repr(slack.calls())


def test_slack_stub_decodes_json_strings_and_form_bodies(slack: SlackStub) -> None:
    client = _web_client(slack)
    view = {"type": "modal", "title": {"type": "plain_text", "text": "T"}, "blocks": []}
    client.api_call("views.update", data={"view_id": "V1", "view": json.dumps(view)})
    (call,) = slack.calls("views.update")
    assert call.args["view"] == view
    assert slack.view("V1")["title"] == view["title"]


def test_slack_stub_scripted_errors_and_auth(slack: SlackStub) -> None:
    slack.reply("views.update", Fault(error="not_found"))
    with pytest.raises(SlackApiError) as raised:
        _web_client(slack).views_update(view_id="V9", view={"type": "modal"})
    assert raised.value.response["error"] == "not_found"

    with pytest.raises(SlackApiError) as raised:
        _web_client(slack, token="xoxb-wrong").chat_postMessage(channel="general", text="hi")
    assert raised.value.response["error"] == "invalid_auth"
    assert not slack.calls("chat.postMessage")[0].has_token(constants.SLACK_BOT_TOKEN)


def test_slack_stub_rate_limit_is_retried_by_slack_sdk(slack: SlackStub) -> None:
    slack.reply("chat.postMessage", Fault(status=429, retry_after=0))
    client = _web_client(slack)
    client.retry_handlers.append(RateLimitErrorRetryHandler(max_retry_count=1))

    response = client.chat_postMessage(channel="C1", text="hi")

    assert response["ok"] is True
    assert len(slack.wait_for_calls(2, "chat.postMessage")) == 2


def test_slack_stub_drop_and_delay(slack: SlackStub) -> None:
    slack.reply("chat.postMessage", Fault(drop=True), Fault(delay=2.0))
    client = WebClient(
        token=constants.SLACK_BOT_TOKEN, base_url=slack.base_url, timeout=0.2, retry_handlers=[]
    )
    with pytest.raises(ConnectionError, match="Remote end closed connection without response"):
        client.chat_postMessage(channel="general", text="hi")
    with pytest.raises(TimeoutError):
        client.chat_postMessage(channel="general", text="hi")
    assert len(slack.calls("chat.postMessage")) == 2


def test_stop_releases_a_delayed_reply_promptly() -> None:
    stub = CacheFlushStub("k").start()
    stub.reply(Reply(status=201, delay=30.0))

    def stop_once_received() -> None:
        stub.wait_for_requests(1)
        stub.stop()

    stopper = threading.Thread(target=stop_once_received)
    started = time.monotonic()
    stopper.start()
    with pytest.raises(requests.ConnectionError):
        requests.post(stub.url, json={}, timeout=10)
    stopper.join(5)
    assert not stopper.is_alive()
    assert time.monotonic() - started < 5


def test_cache_flush_stub_checks_the_key_and_validates(cache_flush: CacheFlushStub) -> None:
    keyless = cache_flush.url.split("?")[0]
    body = {
        "environment": "production",
        "objects": ["https://www.nhs.uk/a", " https://www.nhs.uk/a"],
    }
    with requests.Session() as session:
        ok = session.post(keyless, json=body, headers={"x-functions-key": cache_flush.key})
        no_key = session.post(keyless, json=body)
        bad = session.post(cache_flush.url, json={"environment": "dev", "objects": ["x"]})
        cache_flush.reply(Reply(status=500, json={"message": "Akamai failed"}))
        failed = session.post(cache_flush.url, json=body)

    assert ok.status_code == 201
    assert ok.json()["urls"] == ["https://www.nhs.uk/a"]
    assert (no_key.status_code, no_key.content) == (401, b"")
    assert bad.status_code == 400
    assert (failed.status_code, failed.json()) == (500, {"message": "Akamai failed"})
    first = cache_flush.requests()[0]
    assert cache_flush.key_sent(first)
    assert "code" not in first.query
    assert first.json == body
    assert cache_flush.key not in repr(cache_flush.requests())


def test_durable_client_start_and_status(durable_api: DurableApi) -> None:
    client = DurableOrchestrationClient(durable_api.client_binding_json())

    assert not run(client.get_status("T1-V1"))
    instance_id = run(
        client.start_new("flush_orchestrator", "T1-V1", {"urls": ["https://www.nhs.uk/"]})
    )
    status = run(client.get_status("T1-V1"))

    assert instance_id == "T1-V1"
    assert status.runtime_status.value == "Pending"
    (start,) = durable_api.starts
    assert start.accepted
    assert start.input == {"urls": ["https://www.nhs.uk/"]}
    assert isinstance(start.input_json, str)
    assert json.loads(start.raw_body) == start.input_json

    with pytest.raises(Exception, match="with the status Pending already exists"):
        run(client.start_new("flush_orchestrator", "T1-V1", {"urls": []}))
    durable_api.set_status("T1-V1", "Completed", output={"ok": True})
    assert run(client.get_status("T1-V1")).output == {"ok": True}
    run(client.start_new("flush_orchestrator", "T1-V1", {"urls": []}))
    assert [s.accepted for s in durable_api.starts] == [True, False, True]


def test_durable_stub_models_two_submissions_racing() -> None:
    with DurableApi([constants.ORCHESTRATOR_NAME]) as durable_api:
        durable_api.refusal = "legacy"
        client = DurableOrchestrationClient(durable_api.client_binding_json())
        durable_api.set_status("T1-V2", "Running", visible=False)

        assert not run(client.get_status("T1-V2"))
        with pytest.raises(Exception, match="with the status Running already exists"):
            run(client.start_new("flush_orchestrator", "T1-V2", {}))
    assert durable_api.starts[0].accepted is False


def test_durable_api_start_answers_urls_that_point_at_it(durable_api: DurableApi) -> None:
    base = f"{durable_api.origin}{WEBHOOK_PATH}"
    started = requests.post(
        f"{base}/orchestrators/{constants.ORCHESTRATOR_NAME}/T1-URLS", json="{}", timeout=5
    )
    assert started.status_code == 202
    status_url = started.json()["statusQueryGetUri"]
    assert started.headers["Location"] == status_url
    assert status_url.startswith(f"{base}/instances/T1-URLS?")
    assert f"code={constants.DURABLE_SYSTEM_KEY}" in status_url
    assert requests.get(status_url, timeout=5).json()["runtimeStatus"] == "Pending"
    binding = json.loads(durable_api.client_binding_json())
    assert binding["rpcBaseUrl"] == f"{base}/"
    assert binding["requiredQueryStringParameters"] == f"code={constants.DURABLE_SYSTEM_KEY}"


def test_durable_api_knobs_act_on_one_route_and_one_instance(durable_api: DurableApi) -> None:
    client = DurableOrchestrationClient(durable_api.client_binding_json())
    durable_api.set_status("T1-SLOW", "Running", custom_status={"stage": "waiting"})
    durable_api.set_status("T1-FAST", "Running")
    durable_api.force("raise_event", 500, instance_id="T1-SLOW")
    durable_api.delay("status", 0.5, instance_id="T1-SLOW")

    with pytest.raises(Exception, match="unrecognized status code 500"):
        run(client.raise_event("T1-SLOW", "decision", {"action": "approve"}))
    run(client.raise_event("T1-FAST", "decision", {"action": "approve"}))
    started = time.monotonic()
    slow = run(client.get_status("T1-SLOW"))
    assert time.monotonic() - started >= 0.5
    assert slow.custom_status == {"stage": "waiting"}

    assert [(e.instance_id, e.status, e.data) for e in durable_api.events] == [
        ("T1-SLOW", 500, {"action": "approve"}),
        ("T1-FAST", 202, {"action": "approve"}),
    ]
    durable_api.forget("T1-SLOW")
    run(client.raise_event("T1-SLOW", "decision", {"action": "cancel"}))
    assert durable_api.events[-1].status == 202


def test_durable_api_answers_as_the_extension_for_finished_unknown_and_misnamed(
    durable_api: DurableApi,
) -> None:
    client = DurableOrchestrationClient(durable_api.client_binding_json())
    durable_api.set_status("T1-DONE", "Completed", input={"user_id": "U1"})

    with pytest.raises(Exception, match="is gone"):
        run(client.raise_event("T1-DONE", "decision", {}))
    with pytest.raises(Exception, match="No instance with ID T1-NONE found"):
        run(client.raise_event("T1-NONE", "decision", {}))
    assert [e.status for e in durable_api.events] == [410, 404]
    assert run(client.get_status("T1-DONE")).input_ == {"user_id": "U1"}
    with pytest.raises(Exception, match="doesn't exist, is disabled, or is not an orchestrator"):
        run(client.start_new("not_an_orchestrator", "T1-NEW", {}))
    assert durable_api.starts == []
    run(client.terminate("T1-DONE", "late"))
    durable_api.set_status("T1-LIVE", "Running")
    run(client.terminate("T1-LIVE", "enough"))
    assert run(client.get_status("T1-LIVE")).output == "enough"
    assert durable_api.status("T1-LIVE") == "Terminated"

    durable_api.clear()
    assert durable_api.status("T1-DONE") is None
    assert durable_api.requests() == []


def test_signing_helpers_produce_bodies_slack_sdk_accepts() -> None:
    body = slash_command_body(text="https://www.nhs.uk/a https://www.nhs.uk/b")
    headers = slack_headers(constants.SLACK_SIGNING_SECRET, body)
    verifier = SignatureVerifier(constants.SLACK_SIGNING_SECRET)

    assert verifier.is_valid_request(body, headers)
    assert not verifier.is_valid_request(body + b"&x=1", headers)
    old = slack_headers(constants.SLACK_SIGNING_SECRET, body, timestamp=int(time.time()) - 600)
    assert not verifier.is_valid_request(body, old)
    fields = parse_qs(body.decode())
    assert fields["command"] == ["/flush"]
    assert fields["trigger_id"] != parse_qs(slash_command_body().decode())["trigger_id"]

    submission = view_submission_body(environment=None, urls_text="https://www.nhs.uk/")
    payload = json.loads(parse_qs(submission.decode())["payload"][0])
    values = payload["view"]["state"]["values"]
    assert payload["type"] == "view_submission"
    assert values["environment"]["environment_input"]["selected_option"] is None
    assert values["urls"]["urls_input"]["value"] == "https://www.nhs.uk/"

    request = http_request("slash-start", body, headers)
    assert request.url == "http://localhost:7071/api/slash-start"
    assert request.get_body() == body
    assert request.headers["x-slack-signature"] == headers["X-Slack-Signature"]


def test_log_capture_sees_library_debug_logs_and_flags_secrets(
    captured_logs: LogCapture, slack: SlackStub
) -> None:
    _web_client(slack).chat_postMessage(channel="general", text="hi")
    logging.getLogger("selfcheck").info("url %s", f"http://x/?code={constants.CACHE_FLUSH_KEY}")

    assert any(line.startswith("DEBUG slack_sdk.web") for line in captured_logs.lines)
    with pytest.raises(AssertionError) as raised:
        captured_logs.assert_no_secrets()
    assert "cache-flush function key" in str(raised.value)
    assert constants.CACHE_FLUSH_KEY not in str(raised.value)
    assert_no_secrets(captured_logs.lines[:-1], constants.SECRETS)


def test_app_env_sets_the_environment_and_the_allowed_users(app_env: AppEnv) -> None:
    app_env.allow("U1", "U2")

    assert os.environ["SLACK_API_URL"] == app_env.slack.base_url
    assert os.environ["AZURE_STORAGE_CONNECTION_STRING"] == app_env.blob_proxy.connection_string
    with BlobServiceClient.from_connection_string(
        app_env.values["AZURE_STORAGE_CONNECTION_STRING"]
    ) as service:
        data = service.get_blob_client(app_env.container, app_env.blob).download_blob().readall()
    assert data == b"U1,user_u1\nU2,user_u2\n"
    assert [r.method for r in app_env.blob_proxy.requests()] == ["GET"]
