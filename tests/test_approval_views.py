"""How the approval request lists its URLs: every one, whole, within Slack's limits."""

from __future__ import annotations

import pytest

from shared.approval_views import (
    MAX_REPLIES,
    REPLY_PAGE,
    REQUEST_PAGE,
    minutes_text,
    shows_every_url,
    url_pages,
)

SECTION_LIMIT = 3000
MESSAGE_BLOCKS = 50


def lines(pages: list) -> list[str]:
    return [
        line.removeprefix("• ")
        for page in pages
        for block in page.blocks
        for line in block["text"]["text"].split("\n")
    ]


@pytest.mark.parametrize(
    "urls",
    [
        pytest.param(["https://www.nhs.uk/a"], id="one"),
        pytest.param([f"https://www.nhs.uk/{i}" for i in range(250)], id="many-short"),
        pytest.param([f"https://www.nhs.uk/{'x' * 2020}{i}" for i in range(30)], id="longest"),
        pytest.param(
            [f"https://www.nhs.uk/{'y' * (i * 37 % 1900)}" for i in range(300)], id="mixed"
        ),
    ],
)
def test_every_url_is_listed_once_whole_in_order_within_slack_s_limits(urls: list[str]) -> None:
    pages = url_pages(urls)
    assert lines(pages) == urls
    assert pages[0].count <= REQUEST_PAGE.urls
    assert all(page.count <= REPLY_PAGE.urls for page in pages[1:])
    # The request message has 6 other blocks at most; a reply, one heading.
    assert len(pages[0].blocks) + 6 <= MESSAGE_BLOCKS
    assert all(len(page.blocks) + 1 <= MESSAGE_BLOCKS for page in pages[1:])
    for page in pages:
        for block in page.blocks:
            assert block["text"] == {**block["text"], "type": "plain_text", "emoji": False}
            assert len(block["text"]["text"]) <= SECTION_LIMIT


def test_a_url_with_mrkdwn_characters_is_shown_as_it_is() -> None:
    url = "https://www.nhs.uk/a?b=1&c=<2>*bold*_x_~y~:smile:"
    [page] = url_pages([url])
    assert lines([page]) == [url]


def test_the_bound_is_the_request_and_ten_replies() -> None:
    most = REQUEST_PAGE.urls + MAX_REPLIES * REPLY_PAGE.urls
    assert shows_every_url([f"https://www.nhs.uk/{i}" for i in range(most)])
    assert not shows_every_url([f"https://www.nhs.uk/{i}" for i in range(most + 1)])


@pytest.mark.parametrize(
    ("minutes", "said"),
    [
        (0.5, "0.5 minutes (30 seconds)"),
        (0.1, "0.1 minutes (6 seconds)"),
        (0.02, "0.02 minutes (1.2 seconds)"),
        (1 / 60, "0.0166667 minutes (1 second)"),
        (0.001, "0.001 minutes (0.06 seconds)"),
        (0.99999, "0.99999 minutes (59.999 seconds)"),
        (0.9999999, "1 minute"),
        (1, "1 minute"),
        (1.5, "1.5 minutes"),
        (60, "60 minutes"),
        (10_080, "10080 minutes"),
    ],
)
def test_timeouts_are_worded_in_minutes_with_seconds_under_one(minutes: float, said: str) -> None:
    assert minutes_text(minutes) == said
