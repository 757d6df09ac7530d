"""The `v0` signature check agrees with Slack's documented example and with slack-sdk.

The app checks signatures with the standard library (doc/adr/0020-the-first-call-without-
slack-sdk.md); slack-sdk's `SignatureVerifier` serves here as an independent reference.
"""

from __future__ import annotations

import pytest
from slack_sdk.signature import Clock, SignatureVerifier

from shared.slack_request import REPLAY_WINDOW_SECONDS, is_signed

# The example in Slack's guide to verifying requests.
SECRET = "8f742231b10e8888abcd99yyyzzz85a5"
TIMESTAMP = "1531420618"
BODY = (
    b"token=xyzz0WbapA4vBCDEFasx0q6G&team_id=T1DC2JH3J&team_domain=testteamnow&"
    b"channel_id=G8PSS9T3V&channel_name=foobar&user_id=U2CERLKJA&user_name=roadrunner&"
    b"command=%2Fwebhook-collect&text=&response_url=https%3A%2F%2Fhooks.slack.com%2Fcommands"
    b"%2FT1DC2JH3J%2F397700885554%2F96rGlfmibIGlgcZRskXaIFfN&"
    b"trigger_id=398738663015.47445629121.803a0bc887a14d10d2c447fce8b6703c"
)
SIGNATURE = "v0=a2114d57b48eac39b9ad189dd8316235a7b4a8d21a10bd27519666489c69b503"


class _At(Clock):
    def __init__(self, now: float) -> None:
        self._now = now

    def now(self) -> float:
        return self._now


def slack_sdk_says(body: bytes, timestamp: str, signature: str, now: float) -> bool:
    verifier = SignatureVerifier(SECRET, clock=_At(now))
    return verifier.is_valid(body=body, timestamp=timestamp, signature=signature)


def test_slacks_documented_example_is_signed() -> None:
    assert is_signed(BODY, TIMESTAMP, SIGNATURE, SECRET, float(TIMESTAMP) + 30)


@pytest.mark.parametrize(
    ("body", "timestamp", "signature", "seconds_later"),
    [
        pytest.param(BODY, TIMESTAMP, SIGNATURE, 0, id="as-sent"),
        pytest.param(BODY, TIMESTAMP, SIGNATURE, REPLAY_WINDOW_SECONDS, id="window-edge"),
        pytest.param(BODY, TIMESTAMP, SIGNATURE, REPLAY_WINDOW_SECONDS + 1, id="replayed"),
        pytest.param(BODY, TIMESTAMP, SIGNATURE, -REPLAY_WINDOW_SECONDS - 1, id="from-future"),
        pytest.param(BODY + b"&x=1", TIMESTAMP, SIGNATURE, 0, id="body-changed"),
        pytest.param(BODY, "1531420619", SIGNATURE, 0, id="timestamp-changed"),
        pytest.param(BODY, TIMESTAMP, SIGNATURE.upper(), 0, id="signature-upper-case"),
        pytest.param(BODY, TIMESTAMP, SIGNATURE.replace("v0=", "v1="), 0, id="other-version"),
        pytest.param(BODY, TIMESTAMP, SIGNATURE[:-1] + "4", 0, id="last-digit"),
        pytest.param(BODY, TIMESTAMP, "", 0, id="empty-signature"),
    ],
)
def test_the_check_agrees_with_slack_sdk(
    body: bytes, timestamp: str, signature: str, seconds_later: int
) -> None:
    now = float(TIMESTAMP) + seconds_later
    expected = slack_sdk_says(body, timestamp, signature, now)
    assert is_signed(body, timestamp, signature, SECRET, now) is expected
