"""flush_orchestrator through azure-functions-durable's replay engine, over built histories."""

from __future__ import annotations

import ast
import json
import logging
import os
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

import flush_orchestrator
from shared.handoffs import FlushResult
from shared.orchestration import ACTIVITY_FAILED, NOTIFY_FAILED, PUBLISH_HOME_ACTIVITY
from tests.support.blocks import block_texts
from tests.support.histories import TIMESTAMP, History, activity_calls, replay, timers

FLUSH = "call_cache_flush_activity"
NOTIFY = "notify_user_activity"
HOME = PUBLISH_HOME_ACTIVITY
# The requester's Home tab, published again as each flush ends.
OWNER = {"team_id": "T0001", "user_id": "U0001"}
# The instance ID the app starts a flush of request_input() under (team, user, view).
INSTANCE = "flush-T0001-U0001-V0001"
NOTIFY_RETRY = {"firstRetryIntervalInMilliseconds": 5000, "maxNumberOfAttempts": 3}
DELIVERED = {"delivered": True, "reason": None, "channel": None, "ts": None}
POSTED = {"delivered": True, "reason": None, "channel": "D0001", "ts": "1700000000.000100"}
OUTCOME_DELIVERED = {"delivered": True, "reason": None}
# The summary of a successful flush told to the modal, by DM and in the channel.
FLUSHED_AND_TOLD = {
    "flush": {"ok": True, "status": 201},
    "error": None,
    "notifications": {
        "modal": OUTCOME_DELIVERED,
        "dm": OUTCOME_DELIVERED,
        "channel": OUTCOME_DELIVERED,
    },
}
ROOT = Path(__file__).resolve().parents[1]
URLS = ["https://www.nhs.uk/a", "https://www.nhs.uk/b"]
START = datetime.fromisoformat(TIMESTAMP.replace("Z", "+00:00"))
# The advice a failure gives, by cause (shared/views.py).
FAULT_IN_THE_APP = "this is a fault in this app"
TRY_AGAIN = "Try again in a few minutes"
MISCONFIGURED = "Trying again will not help"


def request_input(channel: str | None = "cache-flush-notices", **changes: Any) -> dict[str, Any]:
    data = {
        "user_id": "U0001",
        "user_name": "jo_bloggs",
        "team_id": "T0001",
        "view_id": "V0001",
        "environment": "production",
        "urls": URLS,
        "channel": channel,
        "retry_interval_ms": 5000,
    }
    data.update(changes)
    return data


def answered(status: int, body: Any = None) -> dict[str, Any]:
    return FlushResult.answered(status, body).to_dict()


def no_response(error: str) -> dict[str, Any]:
    return FlushResult.no_response(error).to_dict()


ACCEPTED = answered(201, {"estimatedSeconds": 9, "purgeId": "purge-1", "supportId": "s-1"})


def run(history: History) -> dict[str, Any]:
    return replay(flush_orchestrator.main, history)


def notify_inputs(state: dict[str, Any]) -> list[dict[str, Any]]:
    return [json.loads(a["input"]) for a in activity_calls(state) if a["functionName"] == NOTIFY]


def flush_calls(state: dict[str, Any]) -> list[dict[str, Any]]:
    return [a for a in activity_calls(state) if a["functionName"] == FLUSH]


def texts(payload: dict[str, Any]) -> str:
    return block_texts(
        payload["view"]["blocks"] if payload["kind"] == "update_view" else payload["blocks"]
    )


def modal_and_dm_texts(state: dict[str, Any]) -> list[str]:
    """The texts of the modal and the DM, the only notifications so far."""
    modal, dm = notify_inputs(state)
    return [texts(modal), texts(dm)]


def home_calls(state: dict[str, Any]) -> list[dict[str, Any]]:
    return [a for a in activity_calls(state) if a["functionName"] == HOME]


def flush_again_values(payload: dict[str, Any]) -> list[str]:
    """The values of the payload's Flush again buttons (a message, or a modal's view)."""
    blocks = payload["view"]["blocks"] if payload["kind"] == "update_view" else payload["blocks"]
    return [
        element["value"]
        for block in blocks
        if block["type"] == "actions"
        for element in block["elements"]
        if element["action_id"] == "flush_again"
    ]


def flush_answers(history: History, *answers: dict[str, Any] | str) -> dict[str, Any]:
    """Replay the flush attempts: each answer is a result dict, or a string the activity raised.

    Between attempts the orchestrator must wait on a durable timer of the retry interval.
    Returns the state after the last answer.
    """
    state = run(history)
    for attempt, answer in enumerate(answers):
        task_id, timer_id = attempt * 2, attempt * 2 + 1
        assert len(flush_calls(state)) == attempt + 1, "one more call per attempt"
        history.new_episode().scheduled(task_id, FLUSH)
        if isinstance(answer, str):
            history.failed(task_id, answer)
        else:
            history.completed(task_id, answer)
        state = run(history)
        if attempt < len(answers) - 1:
            assert notify_inputs(state) == []
            assert len(timers(state)) == attempt + 1, "one timer before each retry"
            timer = timers(state)[-1]
            assert datetime.fromisoformat(timer["fireAt"]) == START + timedelta(seconds=5)
            history.new_episode().timer(timer_id).fired(timer_id)
            state = run(history)
    return state


def finish_notifications(
    history: History, first_id: int, *results: dict[str, Any]
) -> dict[str, Any]:
    history.new_episode()
    for offset in range(len(results)):
        history.scheduled(first_id + offset, NOTIFY)
    for offset, result in enumerate(results):
        history.completed(first_id + offset, result)
    return run(history)


def finish_home(history: History, event_id: int) -> dict[str, Any]:
    """The ending's last call, publishing the requester's Home tab (`event_id`), completes.

    Checks that the orchestration waits for it, asked once and after every other call, for
    the requester under the notifications' retry policy; returns the final state.
    """
    waiting = run(history)
    assert waiting["isDone"] is False, "not done before the Home tab is published again"
    last = activity_calls(waiting)[-1]
    assert home_calls(waiting) == [last], "published once, after every other call"
    assert json.loads(last["input"]) == OWNER
    assert last["retryOptions"] == NOTIFY_RETRY
    history.new_episode().scheduled(event_id, HOME).completed(event_id, True)
    done = run(history)
    assert done["isDone"] is True
    return done


def modal_and_dm_then_home(history: History, first_id: int) -> dict[str, Any]:
    """The modal and the DM (from `first_id`) are told, then the Home tab; the final state."""
    finish_notifications(history, first_id, DELIVERED, POSTED)
    return finish_home(history, first_id + 2)


# --- the call and its retries ---------------------------------------------------------------


def test_first_episode_calls_cache_flush_once_without_a_host_retry_policy() -> None:
    state = run(History("flush_orchestrator", request_input()))
    assert state["isDone"] is False
    [call] = activity_calls(state)
    assert call["functionName"] == FLUSH
    assert json.loads(call["input"]) == {"environment": "production", "urls": URLS}
    assert "retryOptions" not in call, "the orchestrator retries, keeping each answer"


def test_success_updates_the_modal_dms_the_user_and_posts_to_the_channel() -> None:
    history = History("flush_orchestrator", request_input())
    state = flush_answers(history, ACCEPTED)
    modal, dm, channel = notify_inputs(state)
    assert modal["kind"] == "update_view"
    assert modal["view_id"] == "V0001"
    assert dm["kind"] == "post_message"
    assert dm["channel"] == "U0001"
    assert dm["text"] == "Cache flush succeeded"
    assert channel["channel"] == "cache-flush-notices"
    for payload in (modal, dm, channel):
        text = texts(payload)
        assert "about 9 seconds" in text
        assert "purge-1" in text
        assert "https://www.nhs.uk/b" in text
        assert "<@U0001>" in text
    notify_calls = [a for a in activity_calls(state) if a["functionName"] == NOTIFY]
    assert all(a["retryOptions"] == NOTIFY_RETRY for a in notify_calls)

    finish_notifications(history, 1, DELIVERED, POSTED, POSTED)
    done = finish_home(history, 4)
    assert done["isDone"] is True
    assert done["output"] == FLUSHED_AND_TOLD


def test_success_without_a_channel_posts_no_channel_message() -> None:
    history = History("flush_orchestrator", request_input(channel=None))
    state = flush_answers(history, answered(201, {}))
    assert [p["kind"] for p in notify_inputs(state)] == ["update_view", "post_message"]
    done = modal_and_dm_then_home(history, 1)
    assert set(done["output"]["notifications"]) == {"modal", "dm"}


@pytest.mark.parametrize(
    ("status", "body", "expected", "advice"),
    [
        (
            400,
            {"message": "Missing properties: environment"},
            "Missing properties",
            FAULT_IN_THE_APP,
        ),
        (
            403,
            {"message": "URLs not allowed", "urls": ["https://x.com/"]},
            "https://x.com/",
            FAULT_IN_THE_APP,
        ),
        (500, {"message": "Akamai failed", "error": {"name": "E"}}, "Akamai", TRY_AGAIN),
        (401, "", "HTTP 401", MISCONFIGURED),
        (404, {"message": "no such function"}, "no such function", MISCONFIGURED),
    ],
)
def test_final_answers_are_shown_once_and_not_posted_to_the_channel(
    status: int, body: Any, expected: str, advice: str
) -> None:
    history = History("flush_orchestrator", request_input())
    state = flush_answers(history, answered(status, body))
    modal, dm = notify_inputs(state)
    for payload in (modal, dm):
        text = texts(payload)
        assert f"HTTP {status}" in text
        assert expected in text
        assert advice in text
        assert "production" in text
        assert all(url in text for url in URLS)
    assert dm["text"] == "Cache flush failed"
    done = modal_and_dm_then_home(history, 1)
    assert done["output"]["flush"] == {"ok": False, "status": status}


def test_three_503s_report_the_last_status_and_its_body() -> None:
    history = History("flush_orchestrator", request_input())
    state = flush_answers(
        history,
        answered(503, {"message": "warming up"}),
        answered(503, {"message": "still warming up"}),
        answered(503, {"message": "cold start", "detail": "host not ready"}),
    )
    assert len(flush_calls(state)) == 3
    for text in modal_and_dm_texts(state):
        assert "HTTP 503" in text
        assert "the last of 3 attempts" in text
        assert "cold start" in text
        assert '"detail": "host not ready"' in text, "the body is pretty-printed"
        assert "still warming up" not in text, "only the last answer is shown"
        assert "no response" not in text
        assert "*Environment:* production" in text
        assert all(url in text for url in URLS)
        assert TRY_AGAIN in text
        assert "*Nothing was flushed.* cache-flush, or Akamai behind it, is unavailable" in text
        assert "as far as the app knows" not in text, "every attempt had cache-flush's answer"
    done = modal_and_dm_then_home(history, 5)
    assert done["isDone"] is True
    assert done["output"]["flush"] == {"ok": False, "status": 503}


@pytest.mark.parametrize(
    "unanswered",
    [
        no_response("cache-flush did not answer within 30 s"),
        answered(504, "<html>gateway timeout</html>"),
        answered(502, "<html>bad gateway</html>"),
    ],
    ids=["timeout", "gateway-504", "gateway-502"],
)
@pytest.mark.parametrize("last", [500, 503])
def test_an_earlier_unanswered_attempt_keeps_the_failure_uncertain(
    unanswered: dict[str, Any], last: int
) -> None:
    history = History("flush_orchestrator", request_input())
    state = flush_answers(history, unanswered, answered(503, {}), answered(last, {"message": "x"}))
    for text in modal_and_dm_texts(state):
        assert "*Nothing was flushed, as far as the app knows.*" in text
        assert "An earlier attempt got no answer from cache-flush itself" in text
        assert "flushing the same URLs again is harmless" in text
        assert f"*Status:* HTTP {last}, the last of 3 attempts" in text
    done = modal_and_dm_then_home(history, 5)
    assert done["output"]["flush"] == {"ok": False, "status": last}


TIMED_OUT = no_response("cache-flush did not answer within 30 s")
RATE_LIMITED = FlushResult.answered(
    429, {"title": "Too many requests"}, retry_after_seconds=120
).to_dict()


@pytest.mark.parametrize(
    ("answers", "said", "status"),
    [
        pytest.param(
            (
                answered(503, {"message": "first"}),
                answered(503, {"message": "second"}),
                no_response("timed out after 30 s"),
            ),
            (
                "*Status:* HTTP 503, the last answer received (attempt 2 of 3); "
                "attempt 3 went unanswered: timed out after 30 s",
                '*Details:* HTTP 503 {"message": "second"}',
                "A later attempt got no answer at all, so it may have gone through.",
            ),
            503,
            id="the-last-attempt-unanswered",
        ),
        pytest.param(
            (
                answered(503, {"message": "Akamai is busy", "detail": "the 503"}),
                TIMED_OUT,
                TIMED_OUT,
            ),
            (
                "*Status:* HTTP 503, the last answer received (attempt 1 of 3); "
                "attempts 2 and 3 went unanswered: cache-flush did not answer within 30 s",
                '"detail": "the 503"',
                "*Nothing was flushed, as far as the app knows.* cache-flush, or Akamai",
                "Later attempts got no answer at all, so one of them may have gone",
                TRY_AGAIN,
                "flushing the same URLs again is harmless",
            ),
            503,
            id="a-503-then-two-timeouts",
        ),
        pytest.param(
            (RATE_LIMITED, TIMED_OUT, TIMED_OUT),
            (
                "*Status:* HTTP 429, the last answer received (attempt 1 of 3)",
                "Akamai is limiting how many flushes it takes right now.",
                "Try again in 2 minutes: flushing the same URLs again is harmless.",
                '"title": "Too many requests"',
            ),
            429,
            id="a-rate-limit-then-timeouts-keeps-its-advice",
        ),
        pytest.param(
            (
                answered(503, {}),
                answered(504, "<html>gateway timeout</html>"),
                no_response("could not reach cache-flush (ConnectionError)"),
            ),
            (
                "*Status:* HTTP 504, the last answer received (attempt 2 of 3)",
                "The gateway in front of cache-flush answered instead of it",
                "A later attempt got no answer at all",
                "gateway timeout",
            ),
            504,
            id="a-gateway-answer-then-no-connection",
        ),
        pytest.param(
            (TIMED_OUT, answered(503, {"message": "busy"}), TIMED_OUT),
            (
                "*Status:* HTTP 503, the last answer received (attempt 2 of 3)",
                "attempt 3 went unanswered",
                "Other attempts got no answer from cache-flush itself",
            ),
            503,
            id="an-answer-between-unanswered-attempts",
        ),
    ],
)
def test_the_last_answer_received_is_reported_when_later_attempts_go_unanswered(
    answers: tuple[dict[str, Any], ...], said: tuple[str, ...], status: int
) -> None:
    history = History("flush_orchestrator", request_input())
    state = flush_answers(history, *answers)
    for text in modal_and_dm_texts(state):
        assert "*Nothing was flushed, as far as the app knows.*" in text
        assert "no response" not in text
        assert "An earlier attempt" not in text
        for words in said:
            assert words in text
    done = modal_and_dm_then_home(history, 5)
    assert done["output"]["flush"] == {"ok": False, "status": status}
    assert done["output"]["error"] is None


def test_a_429_then_a_201_succeeds_on_the_second_attempt() -> None:
    history = History("flush_orchestrator", request_input())
    state = flush_answers(history, answered(429, {"title": "rate limited"}), ACCEPTED)
    assert [p["kind"] for p in notify_inputs(state)] == [
        "update_view",
        "post_message",
        "post_message",
    ]
    finish_notifications(history, 3, DELIVERED, POSTED, POSTED)
    done = finish_home(history, 6)
    assert done["output"]["flush"] == {"ok": True, "status": 201}


def test_a_timeout_then_a_201_succeeds() -> None:
    history = History("flush_orchestrator", request_input())
    state = flush_answers(history, no_response("cache-flush did not answer within 30 s"), ACCEPTED)
    assert "Cache flush accepted" in texts(notify_inputs(state)[0])
    finish_notifications(history, 3, DELIVERED, POSTED, POSTED)
    done = finish_home(history, 6)
    assert done["output"]["flush"] == {"ok": True, "status": 201}
    assert done["output"]["error"] is None


def test_no_response_three_times_says_so_with_the_network_error() -> None:
    history = History("flush_orchestrator", request_input())
    error = "could not reach cache-flush (ConnectionError)"
    state = flush_answers(history, no_response(error), no_response(error), no_response(error))
    for text in modal_and_dm_texts(state):
        assert f"no response ({error})" in text
        assert "HTTP" not in text
        assert TRY_AGAIN in text
    done = modal_and_dm_then_home(history, 5)
    assert done["output"]["flush"] == {"ok": False, "status": None}
    assert done["output"]["error"] == error


def test_a_401_is_final_and_says_the_app_is_misconfigured() -> None:
    history = History("flush_orchestrator", request_input())
    state = flush_answers(history, answered(401, ""))
    assert timers(state) == []
    modal, _ = notify_inputs(state)
    text = texts(modal)
    assert "HTTP 401" in text
    assert MISCONFIGURED in text
    assert "Try again" not in text


def test_an_unexpected_activity_failure_is_a_failed_result_not_a_retry() -> None:
    history = History("flush_orchestrator", request_input())
    reason = "Activity function 'call_cache_flush_activity' failed: KeyError: 'urls'"
    state = flush_answers(history, reason)
    assert timers(state) == []
    for text in modal_and_dm_texts(state):
        assert f"not sent ({ACTIVITY_FAILED})" in text
        assert "KeyError" not in text, "the exception's text is not shown or parsed"
        assert "This is a fault in this app" in text
    done = modal_and_dm_then_home(history, 1)
    assert done["output"]["flush"] == {"ok": False, "status": None}
    assert done["output"]["error"] == ACTIVITY_FAILED


# --- notifications --------------------------------------------------------------------------


def test_one_failed_notification_does_not_stop_the_others() -> None:
    history = History("flush_orchestrator", request_input())
    flush_answers(history, answered(201, {}))
    history.new_episode().scheduled(1, NOTIFY).scheduled(2, NOTIFY).scheduled(3, NOTIFY)
    history.completed(1, DELIVERED).failed(
        2, "Activity function 'notify_user_activity' failed: DeliveryError: channel_not_found"
    )
    next_id = 4
    for _ in range(2):
        assert run(history)["isDone"] is False
        history.new_episode().timer(next_id).fired(next_id)
        assert run(history)["isDone"] is False
        history.new_episode().scheduled(next_id + 1, NOTIFY).failed(
            next_id + 1, "Activity function 'notify_user_activity' failed: DeliveryError"
        )
        next_id += 2
    assert run(history)["isDone"] is False
    history.new_episode().timer(next_id).fired(next_id)
    assert run(history)["isDone"] is False, "must wait for the channel post"
    history.new_episode().completed(3, POSTED)
    done = finish_home(history, 9)
    assert done["isDone"] is True
    assert done["output"]["notifications"] == {
        "modal": OUTCOME_DELIVERED,
        "dm": {
            "delivered": False,
            "reason": NOTIFY_FAILED.format(method="chat.postMessage", attempts=3),
        },
        "channel": OUTCOME_DELIVERED,
    }


def test_a_closed_modal_is_reported_in_the_summary() -> None:
    history = History("flush_orchestrator", request_input())
    flush_answers(history, answered(201, {}))
    closed = {"delivered": False, "reason": "not_found", "channel": None, "ts": None}
    finish_notifications(history, 1, closed, POSTED, POSTED)
    done = finish_home(history, 4)
    assert done["output"]["notifications"]["modal"] == {"delivered": False, "reason": "not_found"}


@pytest.mark.parametrize(
    ("answer", "channel_posts"),
    [
        pytest.param(ACCEPTED, 1, id="success"),
        pytest.param(answered(403, {"message": "URLs not allowed"}), 0, id="failure"),
    ],
)
def test_the_modal_and_the_dm_offer_flush_again_and_the_channel_post_does_not(
    answer: dict[str, Any], channel_posts: int
) -> None:
    history = History("flush_orchestrator", request_input(), instance_id=INSTANCE)
    modal, dm, *channel = notify_inputs(flush_answers(history, answer))
    assert len(channel) == channel_posts
    for payload in (modal, dm):
        assert flush_again_values(payload) == [INSTANCE], "the value is this flush's instance ID"
    blocks = modal["view"]["blocks"]
    assert blocks[-1] == {
        "type": "actions",
        "elements": [
            {
                "type": "button",
                "text": {"type": "plain_text", "text": "Flush again", "emoji": True},
                "action_id": "flush_again",
                "value": INSTANCE,
            }
        ],
    }, "the button comes after the result"
    assert dm["blocks"][-1] == blocks[-1]
    assert dm["blocks"][:-1] == blocks[:-1], "the same result in both"
    for payload in channel:
        assert flush_again_values(payload) == []
        assert all(block["type"] != "actions" for block in payload["blocks"])


# --- how it ended: custom status and the Home tab -------------------------------------------


@pytest.mark.parametrize(
    ("answer", "status"),
    [
        pytest.param(ACCEPTED, {"stage": "flushed", "purge_id": "purge-1"}, id="purge-id"),
        pytest.param(answered(201, {}), {"stage": "flushed"}, id="no-purge-id"),
        pytest.param(
            answered(201, {"purgeID": "purge-2", "estimatedSeconds": 5}),
            {"stage": "flushed", "purge_id": "purge-2"},
            id="purgeID",
        ),
        pytest.param(answered(403, {"message": "no"}), {"stage": "flush_failed"}, id="final"),
        pytest.param(
            "Activity function 'call_cache_flush_activity' failed: KeyError",
            {"stage": "flush_failed"},
            id="activity-failed",
        ),
    ],
)
def test_the_ending_is_the_custom_status_before_anyone_is_told(
    answer: dict[str, Any] | str, status: dict[str, Any]
) -> None:
    history = History("flush_orchestrator", request_input(channel=None))
    state = flush_answers(history, answer)
    assert state["customStatus"] == status
    assert len(notify_inputs(state)) == 2
    assert home_calls(state) == [], "the Home tab waits until everyone is told"
    assert modal_and_dm_then_home(history, 1)["customStatus"] == status


def test_the_home_tab_is_published_after_the_last_notification_answers() -> None:
    history = History("flush_orchestrator", request_input())
    flush_answers(history, ACCEPTED)
    history.new_episode().scheduled(1, NOTIFY).scheduled(2, NOTIFY).scheduled(3, NOTIFY)
    history.completed(1, DELIVERED).completed(3, POSTED)
    assert home_calls(run(history)) == [], "the DM is not answered yet"
    history.new_episode().completed(2, POSTED)
    done = finish_home(history, 4)
    assert done["output"] == FLUSHED_AND_TOLD


HOME_FAILED = "Activity function 'publish_home_activity' failed: SlackApiError: not_authed"


def fail_every_attempt(history: History, event_id: int, name: str, reason: str) -> dict[str, Any]:
    """All three attempts at activity `name` (from `event_id`) fail; return the last state.

    Each retry waits on a durable timer of the request's interval; after the last attempt
    the SDK waits one more interval, then gives up.
    """
    history.new_episode().scheduled(event_id, name).failed(event_id, reason)
    for timer_id in (event_id + 1, event_id + 3):
        assert run(history)["isDone"] is False
        history.new_episode().timer(timer_id).fired(timer_id)
        assert run(history)["isDone"] is False
        history.new_episode().scheduled(timer_id + 1, name).failed(timer_id + 1, reason)
    assert run(history)["isDone"] is False
    history.new_episode().timer(event_id + 5).fired(event_id + 5)
    return run(history)


def fail_home(history: History, event_id: int) -> dict[str, Any]:
    """Every attempt to publish the Home tab (from `event_id`) fails; return the last state."""
    return fail_every_attempt(history, event_id, HOME, HOME_FAILED)


@pytest.mark.parametrize(
    ("answer", "told"),
    [
        pytest.param(ACCEPTED, (DELIVERED, POSTED, POSTED), id="flushed"),
        pytest.param(answered(500, {"message": "Akamai failed"}), (DELIVERED, POSTED), id="failed"),
    ],
)
def test_a_home_tab_that_cannot_be_published_changes_nothing_else(
    answer: dict[str, Any], told: tuple[dict[str, Any], ...], caplog: pytest.LogCaptureFixture
) -> None:
    published = History("flush_orchestrator", request_input())
    flush_answers(published, answer)
    finish_notifications(published, 1, *told)
    expected = finish_home(published, 1 + len(told))

    history = History("flush_orchestrator", request_input())
    flush_answers(history, answer)
    finish_notifications(history, 1, *told)
    with caplog.at_level(logging.WARNING):
        done = fail_home(history, 1 + len(told))
    assert done["isDone"] is True
    assert len(home_calls(done)) == 1, "one call, retried by its policy"
    assert done["output"] == expected["output"]
    assert done["customStatus"] == expected["customStatus"]
    warnings = [r.getMessage() for r in caplog.records if "Home tab" in r.getMessage()]
    assert warnings == [f"The Home tab was not published again: {HOME_FAILED}"], "logged once"


# --- replay safety --------------------------------------------------------------------------


def test_replay_is_deterministic_and_needs_no_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    def full_run() -> str:
        history = History("flush_orchestrator", request_input())
        flush_answers(history, answered(502, "<html>bad gateway</html>"), ACCEPTED)
        finish_notifications(history, 3, DELIVERED, POSTED, POSTED)
        return json.dumps(finish_home(history, 6))

    with_environment = full_run()
    for name in list(os.environ):
        monkeypatch.delenv(name)
    assert full_run() == with_environment


NON_DETERMINISTIC = {"time", "random", "os", "uuid", "secrets", "requests", "socket"}
# From datetime only the pure arithmetic type may be imported: never a clock.
DATETIME_ALLOWED = {"timedelta"}


def _runtime_nodes(tree: ast.AST) -> list[ast.AST]:
    """Every node but those under `if TYPE_CHECKING:`, whose imports never run."""
    found: list[ast.AST] = []
    pending = [tree]
    while pending:
        node = pending.pop()
        found.append(node)
        if isinstance(node, ast.If) and ast.unparse(node.test) == "TYPE_CHECKING":
            pending.extend(node.orelse)
            continue
        pending.extend(ast.iter_child_nodes(node))
    return found


def imports(path: Path) -> tuple[set[str], set[str]]:
    """The top-level modules a file imports when it runs, and the names it takes from datetime."""
    tree = ast.parse(path.read_text())
    modules: set[str] = set()
    from_datetime: set[str] = set()
    for node in _runtime_nodes(tree):
        if isinstance(node, ast.Import):
            modules.update(alias.name.split(".")[0] for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module:
            modules.add(node.module.split(".")[0])
            if node.module == "datetime":
                from_datetime.update(alias.name for alias in node.names)
    return modules, from_datetime


def test_type_only_imports_are_told_apart_from_those_that_run() -> None:
    source = "from typing import TYPE_CHECKING\nif TYPE_CHECKING:\n    import time\nimport os\n"
    modules = {
        alias.name
        for node in _runtime_nodes(ast.parse(source))
        if isinstance(node, ast.Import)
        for alias in node.names
    }
    assert modules == {"os"}


@pytest.mark.parametrize(
    "source",
    [
        "flush_orchestrator/__init__.py",
        "shared/orchestration.py",
        "shared/approval.py",
        "shared/approval_flow.py",
        "shared/approval_views.py",
        "shared/handoffs.py",
        "shared/views.py",
        "shared/submission.py",
    ],
)
def test_orchestrator_code_imports_no_clock_randomness_environment_or_io(source: str) -> None:
    modules, from_datetime = imports(ROOT / source)
    assert modules.isdisjoint(NON_DETERMINISTIC)
    assert from_datetime <= DATETIME_ALLOWED
    if "datetime" in modules:
        assert from_datetime, "`import datetime` would give access to the clock"
