"""The Home tab's entries: how each listed flush says how it ended (`shared.home_views`)."""

from __future__ import annotations

import json
from datetime import UTC, datetime

import pytest

from shared.approval import Ended, Stage
from shared.handoffs import FlushRequest
from shared.history import Flush, State
from shared.home_views import HomeContent, home_view

REQUEST = FlushRequest(
    user_id="U0ASKER",
    user_name="asker",
    team_id="T0TEAM",
    view_id="V0VIEW",
    environment="production",
    urls=("https://www.nhs.uk/a/",),
    channel=None,
    retry_interval_ms=1000,
)


def recent_text(*flushes: Flush) -> str:
    """The Home tab's text for one person whose recent flushes are ``flushes``."""
    view = home_view(HomeContent(user_id="U0ASKER", may_flush=True, recent=flushes))
    return json.dumps(view["blocks"])


def flush(state: State, ended: Ended | None) -> Flush:
    """A flush of ``REQUEST`` that stands in ``state`` and ended as ``ended``."""
    return Flush("flush-1", datetime(2026, 12, 1, tzinfo=UTC), REQUEST, state, ended)


def test_a_flushed_entry_names_its_purge_id_and_its_approver() -> None:
    ended = Ended(Stage.FLUSHED, "p-77", "U0APPROVER", "approver")

    text = recent_text(flush(State.FLUSHED, ended))

    assert "*Purge ID:* `p-77`" in text
    assert "*Approved by:* approver (<@U0APPROVER>)" in text


@pytest.mark.parametrize(
    ("state", "stage"),
    [(State.FAILED, Stage.FLUSH_FAILED), (State.NOT_ALLOWED, Stage.NOT_ALLOWED)],
)
def test_an_approved_entry_that_did_not_flush_still_names_its_approver(
    state: State, stage: Stage
) -> None:
    text = recent_text(flush(state, Ended(stage, None, "U0APPROVER", "approver")))

    assert "*Approved by:* approver (<@U0APPROVER>)" in text
    assert "Decided by" not in text


@pytest.mark.parametrize("state", [State.REJECTED, State.CANCELLED])
def test_an_entry_stopped_by_someone_names_who_decided(state: State) -> None:
    ended = Ended(Stage(state.value), None, "U0APPROVER", "approver")

    text = recent_text(flush(state, ended))

    assert "*Decided by:* approver (<@U0APPROVER>)" in text
    assert "Approved by" not in text
    assert "Purge ID" not in text


def test_an_entry_flushed_without_approval_names_no_decider() -> None:
    text = recent_text(flush(State.FLUSHED, Ended(Stage.FLUSHED, "p-78")))

    assert "*Purge ID:* `p-78`" in text
    assert "Approved by" not in text
    assert "Decided by" not in text


def test_an_entry_that_has_not_ended_names_neither() -> None:
    text = recent_text(flush(State.RUNNING, None))

    assert "Purge ID" not in text
    assert "by:*" not in text
