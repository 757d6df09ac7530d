"""The whole app in a real devhost process, driven over HTTP as Slack drives it.

Each test starts ``python -m devhost --simulate`` on its own state directory and
allowed-users container, acts only through the simulator's user-side endpoints (or raw
HTTP to the app, for forged requests) and checks what Slack, cache-flush and the durable
management API saw.
"""

from __future__ import annotations

import json
import time
from concurrent.futures import ThreadPoolExecutor
from typing import Any

from devhost.simulate.client import DevhostClient, wait_until
from devhost.simulate.settings import NOTICES_CHANNEL_NAME
from devhost.standins.slack_requests import slack_headers, slash_command_body, view_submission_body
from tests.e2e.harness import (
    CHANNEL,
    SECRETS,
    SIGNING_SECRET,
    assert_flushed_with_the_modal_gone,
    block_texts,
    instance_for,
)
from tests.e2e.launcher import AppLauncher
from tests.support.azurite import ACCOUNT_KEY

ALICE = "U0E2EALICE"
BOB = "U0E2EBOBBY"
STRANGER = "U0E2ENOPE1"
URL_A = "https://www.nhs.uk/a"
URL_B = "https://www.nhs.uk/b"
# The real cache-flush API takes seconds; the simulated one answers at once unless told to
# wait. A short delay keeps the result after the submission's answer, as in production.
REALISTIC_FLUSH_DELAY = 0.5
STALE_SECONDS = 600


def open_form(slack: DevhostClient, user_id: str, text: str = "") -> dict[str, Any]:
    """Run ``/flush`` as ``user_id`` and return the view the modal then shows."""
    answer = slack.command(user_id, text, user_name=f"{user_id.lower()}_name")
    assert answer["status"] == 200, answer
    assert answer["body"] == "", answer
    return slack.only_view(user_id)


def submit(slack: DevhostClient, user_id: str, **fields: Any) -> dict[str, Any]:
    """Submit the user's open form; return the simulator's account of the app's answer."""
    answer = slack.submit(user_id, **fields)
    assert answer["status"] == 200, answer
    return answer


def finished_flush(slack: DevhostClient, view_id: str) -> dict[str, Any]:
    """Wait for the orchestration of a submitted view to end; return its status."""
    instance = wait_until(lambda: instance_for(slack, view_id), f"an orchestration for {view_id}")
    return slack.wait_status(instance["instanceId"])


def processing_answer(answer: dict[str, Any]) -> None:
    """Check that the app answered a submission with the processing view."""
    assert answer["response_action"] == "update", answer
    assert answer["outcome"] == "updated", answer
    view = json.loads(answer["body"])["view"]
    assert "being processed" in block_texts(view["blocks"]), view


def test_allowed_user_flushes_and_hears_back_everywhere(launcher: AppLauncher) -> None:
    launcher.allow(ALICE)
    app = launcher.start()
    slack = app.slack
    slack.flush_fault(delay=REALISTIC_FLUSH_DELAY)

    form = open_form(slack, ALICE, f"{URL_A} {URL_B}")

    calls = slack.calls()
    assert [c["method"] for c in calls] == ["views.open", "views.update"], calls
    checking = calls[0]["args"]["view"]
    assert "Checking" in block_texts(checking["blocks"]), checking
    assert calls[1]["args"]["view_id"] == form["id"]
    urls_element = next(
        b["element"] for b in calls[1]["args"]["view"]["blocks"] if b.get("block_id") == "urls"
    )
    assert urls_element["initial_value"] == f"{URL_A}\n{URL_B}"
    assert form["view"]["callback_id"] == "cache_flush_request"

    processing_answer(submit(slack, ALICE, environment="staging"))
    status = finished_flush(slack, form["id"])

    assert status["runtimeStatus"] == "Completed", status
    assert status["output"] == {
        "flush": {"ok": True, "status": 201},
        "error": None,
        "notifications": {
            "modal": {"delivered": True, "reason": None},
            "dm": {"delivered": True, "reason": None},
            "channel": {"delivered": True, "reason": None},
        },
    }
    flushes = slack.flush_calls()
    assert len(flushes) == 1, flushes
    assert flushes[0]["environment"] == "staging"
    assert flushes[0]["objects"] == [URL_A, URL_B]
    assert flushes[0]["answer"]["status"] == 201
    purge_id = flushes[0]["answer"]["body"]["purgeId"]

    modal = slack.only_view(ALICE)
    assert modal["open"], modal
    shown = block_texts(modal["view"]["blocks"])
    assert "Cache flush accepted" in shown, shown
    for expected in (URL_A, URL_B, purge_id):
        assert expected in shown, shown
    dms = slack.dms(ALICE)
    assert [m["text"] for m in dms] == ["Cache flush succeeded"], dms
    assert purge_id in block_texts(dms[0]["blocks"])
    posts = slack.messages(channel=CHANNEL)
    assert [m["message"]["text"] for m in posts] == ["Cache flush succeeded"], posts
    assert posts[0]["channel_name"] == CHANNEL

    # The secrets were in use (Slack, cache-flush and the signature checks all accepted
    # them); none of them may appear anywhere in devhost's output for the whole flow.
    instance_id = status["instanceId"]
    wait_until(
        lambda: f"instance '{instance_id}' completed" in app.process.output,
        "the completion log line",
    )
    output = app.process.output
    assert "Executed 'Functions.notify_user_activity' (Succeeded" in output
    leaked = [secret for secret in (*SECRETS, ACCOUNT_KEY) if secret in output]
    assert not leaked, f"secrets in devhost's output: {leaked}"


def test_user_not_on_the_list_is_told_and_nothing_is_flushed(launcher: AppLauncher) -> None:
    launcher.allow(ALICE)
    slack = launcher.start().slack

    view = open_form(slack, STRANGER)

    assert [c["method"] for c in slack.calls()] == [
        "views.open",
        "views.update",
        "chat.postMessage",
    ]
    shown = block_texts(view["view"]["blocks"])
    assert "do not have access" in shown, shown
    assert STRANGER in shown, shown
    assert not view["view"].get("submit"), view
    dms = slack.dms(STRANGER)
    assert [m["text"] for m in dms] == ["User not allowed"], dms
    assert STRANGER in block_texts(dms[0]["blocks"])
    assert slack.flush_calls() == []
    assert slack.instances() == []


def test_bad_url_is_rejected_inline_without_starting_anything(launcher: AppLauncher) -> None:
    launcher.allow(BOB)
    slack = launcher.start().slack
    form = open_form(slack, BOB)

    answer = submit(slack, BOB, environment="production", urls="https://evilnhs.uk/x")

    assert answer["response_action"] == "errors", answer
    assert answer["outcome"] == "errors_shown", answer
    errors = json.loads(answer["body"])["errors"]
    assert list(errors) == ["urls"], errors
    assert "evilnhs.uk" in errors["urls"], errors
    view = slack.only_view(BOB)
    assert view["open"], view
    assert view["id"] == form["id"], view
    assert view["errors"] == errors
    assert slack.instances() == []
    assert slack.flush_calls() == []
    assert slack.dms(BOB) == []


def test_cache_flush_refusal_is_reported_in_modal_and_dm_only(launcher: AppLauncher) -> None:
    launcher.allow(ALICE)
    slack = launcher.start().slack
    refusal = {"message": "URLs outside the allowed domain", "urls": [URL_A]}
    slack.flush_fault(status=403, body=refusal, delay=REALISTIC_FLUSH_DELAY)
    form = open_form(slack, ALICE, URL_A)

    processing_answer(submit(slack, ALICE, environment="production"))
    status = finished_flush(slack, form["id"])

    assert status["runtimeStatus"] == "Completed", status
    assert status["output"]["flush"] == {"ok": False, "status": 403}, status
    assert set(status["output"]["notifications"]) == {"modal", "dm"}, status
    assert len(slack.flush_calls()) == 1
    shown = block_texts(slack.only_view(ALICE)["view"]["blocks"])
    for expected in ("Nothing was flushed", "HTTP 403", "cache-flush rejected the request"):
        assert expected in shown, shown
    dms = slack.dms(ALICE)
    assert [m["text"] for m in dms] == ["Cache flush failed"], dms
    assert "HTTP 403" in block_texts(dms[0]["blocks"])
    assert [m for m in slack.messages() if not m["is_dm"]] == []


def test_transient_cache_flush_errors_are_retried_to_success(launcher: AppLauncher) -> None:
    launcher.allow(ALICE)
    slack = launcher.start().slack
    slack.flush_fault(times=2, status=503, body={"message": "cold start"})
    form = open_form(slack, ALICE, URL_A)

    processing_answer(submit(slack, ALICE, environment="staging"))
    status = finished_flush(slack, form["id"])

    assert status["runtimeStatus"] == "Completed", status
    assert status["output"]["flush"] == {"ok": True, "status": 201}, status
    flushes = slack.flush_calls()
    assert [f["answer"]["status"] for f in flushes] == [503, 503, 201], flushes
    assert all(f["objects"] == [URL_A] for f in flushes), flushes
    dms = slack.dms(ALICE)
    assert [m["text"] for m in dms] == ["Cache flush succeeded"], dms
    assert len(slack.channel_posts(CHANNEL)) == 1
    assert "Cache flush accepted" in block_texts(slack.only_view(ALICE)["view"]["blocks"])


def test_result_still_reaches_a_user_who_closed_the_modal(launcher: AppLauncher) -> None:
    launcher.allow(ALICE)
    slack = launcher.start().slack
    slack.flush_fault(delay=1.5)
    form = open_form(slack, ALICE, URL_A)

    processing_answer(submit(slack, ALICE, environment="staging"))
    closed = slack.close_view(ALICE)
    assert closed["view_id"] == form["id"], closed
    assert closed["closed"], closed
    status = finished_flush(slack, form["id"])

    assert_flushed_with_the_modal_gone(status)
    assert status["output"]["notifications"]["dm"] == {"delivered": True, "reason": None}
    view = slack.only_view(ALICE)
    assert not view["open"], view
    assert view["closed_by"] == "user", view
    updates = slack.calls("views.update")
    assert updates[-1]["outcome"]["error"] == "not_found", updates
    dms = slack.dms(ALICE)
    assert [m["text"] for m in dms] == ["Cache flush succeeded"], dms


def test_forged_and_replayed_requests_are_refused_without_side_effects(
    launcher: AppLauncher,
) -> None:
    launcher.allow(ALICE)
    slack = launcher.start().slack
    stale = int(time.time()) - STALE_SECONDS
    command = slash_command_body(user_id=ALICE, text=URL_A)
    submission = view_submission_body(user_id=ALICE, urls_text=URL_A)
    refused = {
        "forged slash command": ("/api/slash-start", command, slack_headers("forged", command)),
        "replayed slash command": (
            "/api/slash-start",
            command,
            slack_headers(SIGNING_SECRET, command, stale),
        ),
        "forged submission": (
            "/api/orchestrator-client",
            submission,
            slack_headers("forged", submission),
        ),
        "replayed submission": (
            "/api/orchestrator-client",
            submission,
            slack_headers(SIGNING_SECRET, submission, stale),
        ),
    }
    for what, (path, body, headers) in refused.items():
        response = slack.send("POST", path, data=body, headers=headers)
        assert response.status_code == 401, f"{what}: {response.status_code} {response.text}"
    for what, knobs in {
        "forged": {"signing_secret": "forged"},
        "replayed": {"timestamp": stale},
    }.items():
        answer = slack.command(ALICE, URL_A, **knobs)
        assert answer["status"] == 401, f"{what} command via Slack: {answer}"
    assert slack.calls() == []

    # A form opened for real, then forged and replayed submissions of it: still nothing.
    form = open_form(slack, ALICE, URL_A)
    calls_before = slack.calls()
    for knobs in ({"signing_secret": "forged"}, {"timestamp": stale}):
        answer = slack.submit(ALICE, environment="staging", **knobs)
        assert answer["status"] == 401, answer
        assert answer["outcome"].startswith("kept_open"), answer
    assert slack.calls() == calls_before
    assert slack.instances() == []
    assert slack.flush_calls() == []
    assert slack.only_view(ALICE)["id"] == form["id"]

    # The same hand-made requests signed correctly are accepted: the refusals above were
    # about the signature and the timestamp, nothing else.
    for path, body in (("/api/slash-start", command), ("/api/orchestrator-client", submission)):
        response = slack.send("POST", path, data=body, headers=slack_headers(SIGNING_SECRET, body))
        assert response.status_code == 200, f"{path}: {response.status_code} {response.text}"
    opened = slack.calls()[len(calls_before) :]
    assert opened[0]["method"] == "views.open", opened
    assert opened[0]["outcome"]["error"] == "invalid_trigger_id", opened
    started = wait_until(slack.instances, "the correctly signed submission's orchestration")
    assert slack.wait_status(started[0]["instanceId"])["runtimeStatus"] == "Completed"


def test_thirty_users_flushing_at_once_each_hear_back_once(launcher: AppLauncher) -> None:
    users = [f"U0E2EC{n:03d}" for n in range(30)]
    launcher.allow(*users)
    # This time devhost picks the port and the simulators make up the Slack and cache-flush
    # settings (secrets included), as with a bare `python -m devhost --simulate`.
    slack = launcher.start(known_secrets=False).slack

    def flush(user_id: str) -> str:
        form = open_form(slack, user_id, f"https://www.nhs.uk/{user_id.lower()}")
        assert form["view"]["callback_id"] == "cache_flush_request", form
        answer = submit(slack, user_id, environment="staging")
        assert answer["response_action"] == "update", answer
        return form["id"]

    with ThreadPoolExecutor(max_workers=len(users)) as pool:
        view_ids = list(pool.map(flush, users))

    for view_id in view_ids:
        status = finished_flush(slack, view_id)
        assert status["runtimeStatus"] == "Completed", status
        assert status["output"]["flush"] == {"ok": True, "status": 201}, status
    for user_id in users:
        dms = slack.dms(user_id)
        assert [m["text"] for m in dms] == ["Cache flush succeeded"], (user_id, dms)
        assert f"https://www.nhs.uk/{user_id.lower()}" in block_texts(dms[0]["blocks"])
    flushed = sorted(url for call in slack.flush_calls() for url in call["objects"])
    assert flushed == sorted(f"https://www.nhs.uk/{u.lower()}" for u in users)
    assert len(slack.channel_posts(NOTICES_CHANNEL_NAME)) == len(users)
    assert len(slack.instances()) == len(users)
