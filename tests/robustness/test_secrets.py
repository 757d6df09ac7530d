"""Secrets never leak: not to a log line, an answer, a durable status or a Slack message.

Every fuzzing and fault test in this folder ends with the same audit over what it produced;
the test below runs the remaining flows (success, refusals, forgeries, replays, a misconfigured
app) through devhost with recognisable secret values and audits everything at once. The first
tests show that the audit does catch a leak, in each form it looks for.
"""

from __future__ import annotations

import json
import logging
import time
from urllib.parse import quote, quote_plus

import pytest

from tests.robustness.checks import assert_secret_free
from tests.robustness.simhost import (
    BOT_TOKEN,
    FUNCTION_KEY,
    SECRETS,
    SIGNING_SECRET,
    STRANGER,
    SimApp,
    view_text,
)
from tests.support.azurite import ACCOUNT_KEY
from tests.support.logs import LogCapture

URL = "https://www.nhs.uk/conditions/"


@pytest.mark.parametrize("secret", [pytest.param(v, id=k) for k, v in SECRETS.items()])
@pytest.mark.parametrize(
    "form",
    [
        pytest.param(lambda s: s, id="plain"),
        pytest.param(lambda s: quote(s, safe=""), id="percent-encoded"),
        pytest.param(quote_plus, id="form-encoded"),
        pytest.param(lambda s: f"Authorization: Bearer {s}", id="in-a-header"),
    ],
)
def test_the_audit_finds_a_secret_in_a_log_line(captured_logs: LogCapture, secret, form) -> None:
    logging.getLogger("leaky").warning("calling with %s", form(secret))
    with pytest.raises(AssertionError, match="appears in log entry"):
        assert_secret_free(captured_logs, [], SECRETS)


@pytest.mark.parametrize("secret", [BOT_TOKEN, SIGNING_SECRET, FUNCTION_KEY, ACCOUNT_KEY])
def test_the_audit_finds_a_secret_in_an_answer(captured_logs: LogCapture, secret: str) -> None:
    with pytest.raises(AssertionError, match="appears"):
        assert_secret_free(captured_logs, [json.dumps({"body": f"x{secret}y"})], SECRETS)


def test_no_flow_leaks_a_secret(
    sim: SimApp, captured_logs: LogCapture, monkeypatch: pytest.MonkeyPatch
) -> None:
    # A flush that succeeds, from the command to the channel post.
    assert sim.command(text=URL)["status"] == 200
    answer = sim.submit_form(URL)
    assert sim.finished(answer["view_id"])["runtimeStatus"] == "Completed"
    # A user who is not allowed, and a submission the validator refuses.
    sim.command(user_id=STRANGER)
    assert "do not have access" in view_text(sim.current_view(STRANGER))
    sim.command(text="https://evil.example/")
    refused = sim.submit_form("https://evil.example/\nhttps://nhs.uk.evil.com/")
    assert refused["outcome"] == "errors_shown"
    # Forged and replayed requests, as Slack's side of the simulator can send them.
    assert sim.command(signing_secret="not-the-signing-secret")["status"] == 401
    assert sim.command(timestamp=int(time.time()) - 360)["status"] == 401
    # A misconfigured app names the missing setting, never a value.
    monkeypatch.delenv("SLACK_BOT_USER_OAUTH_ACCESS_TOKEN")
    misconfigured = sim.command()
    assert misconfigured["status"] == 500
    assert "not configured correctly" in misconfigured["body"]
    monkeypatch.undo()
    assert_secret_free(captured_logs, sim.observed(), SECRETS)
