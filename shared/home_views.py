"""The app's Home tab in Slack: a New flush button, requests to decide, and recent flushes.

Block Kit for `views.publish` (a view of type "home", at most 100 blocks). Times are Slack
date tokens, so each reader sees them in their own time zone. What goes in comes from
`shared.history`; who may see what is decided by the caller (`shared.home`).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from shared.approval import APPROVE_ACTION, CANCEL_ACTION, REJECT_ACTION
from shared.history import Flush, State
from shared.views import (
    Block,
    SlackTime,
    View,
    button,
    context,
    escape,
    flush_again_button,
    not_allowed_blocks,
    person,
    plain_text,
    section,
)

OPEN_FORM_ACTION = "open_flush_form"
HOME_BLOCK_LIMIT = 100
URLS_SHOWN = 3
URL_CHARS = 200
LISTED_REQUESTS = 10
# A flush that ended in one of these with a decider was approved by them.
APPROVED_STATES = frozenset({State.FLUSHED, State.FAILED, State.NOT_ALLOWED})
STATE_EMOJI = {
    State.WAITING: ":hourglass_flowing_sand:",
    State.RUNNING: ":hourglass_flowing_sand:",
    State.FLUSHED: ":white_check_mark:",
    State.FAILED: ":x:",
    State.REJECTED: ":no_entry_sign:",
    State.CANCELLED: ":heavy_multiplication_x:",
    State.EXPIRED: ":alarm_clock:",
    State.NOT_ALLOWED: ":no_entry_sign:",
    State.REQUEST_FAILED: ":x:",
    State.STOPPED: ":warning:",
}


@dataclass(frozen=True)
class HomeContent:
    """What one person's Home tab shows.

    Only the person's member ID is known (an Events API delivery carries no name).
    `may_flush` is None when access could not be checked. `recent` is None when the history
    could not be read. `to_decide` holds other people's requests the person may approve.
    """

    user_id: str
    may_flush: bool | None
    recent: Sequence[Flush] | None
    pending: Sequence[Flush] = ()
    to_decide: Sequence[Flush] = ()
    retention_days: float = 90.0
    access_hint: str = ""
    contact: str | None = None


def urls_text(urls: Sequence[str]) -> str:
    """How many URLs, and the first few of them."""
    shown = [escape(url[:URL_CHARS]) for url in urls[:URLS_SHOWN]]
    more = len(urls) - len(shown)
    lines = [f"*URLs ({len(urls)}):*", *(f"• {url}" for url in shown)]
    if more > 0:
        lines.append(f"… and {more} more")
    return "\n".join(lines)


def _days(days: float) -> str:
    whole = f"{days:g}"
    return f"{whole} day" if whole == "1" else f"{whole} days"


def _outcome(flush: Flush) -> str:
    return f"{STATE_EMOJI[flush.state]} *{flush.state.value.capitalize()}*"


def _flush_text(flush: Flush, *, who: bool = False) -> str:
    """One flush: outcome, when, environment, who (for approvers), URLs, purge ID, decider."""
    request = flush.request
    lines = [f"{_outcome(flush)} · {SlackTime.at(flush.created).mrkdwn()}"]
    if who:
        lines.append(f"*Asked by:* {person(request.user_name, request.user_id)}")
    lines.append(f"*Environment:* {escape(request.environment)}")
    ended = flush.ended
    if ended and ended.purge_id:
        lines.append(f"*Purge ID:* `{escape(ended.purge_id)}`")
    if ended and ended.decided_by:
        label = "Approved by" if flush.state in APPROVED_STATES else "Decided by"
        lines.append(f"*{label}:* {person(ended.decided_by_name or '', ended.decided_by)}")
    lines.append(urls_text(request.urls))
    return "\n".join(lines)


def _entry(flush: Flush, *buttons: Block, who: bool = False) -> list[Block]:
    return [section(_flush_text(flush, who=who)), {"type": "actions", "elements": list(buttons)}]


def _header(text: str) -> Block:
    return {"type": "header", "text": plain_text(text)}


def _start(content: HomeContent) -> list[Block]:
    if content.may_flush:
        return [
            section("Flush pages from the CDN cache: pick an environment and paste the URLs."),
            {
                "type": "actions",
                "elements": [button("New flush", OPEN_FORM_ACTION, style="primary")],
            },
        ]
    if content.may_flush is None:
        return [section(":warning: *Your access could not be checked right now.* Try again soon.")]
    return not_allowed_blocks("", content.user_id, content.access_hint, content.contact)


def home_view(content: HomeContent) -> View:
    """The Home tab for one person."""
    blocks: list[Block] = [_header("Cache Flush"), *_start(content)]
    if content.to_decide:
        blocks += [{"type": "divider"}, _header("Waiting for your approval")]
        for flush in content.to_decide[:LISTED_REQUESTS]:
            approve = button("Approve", APPROVE_ACTION, flush.instance_id, "primary")
            reject = button("Reject", REJECT_ACTION, flush.instance_id, "danger")
            blocks += _entry(flush, approve, reject, who=True)
    if content.pending:
        blocks += [{"type": "divider"}, _header("Your pending requests")]
        for flush in content.pending[:LISTED_REQUESTS]:
            blocks += _entry(flush, button("Cancel request", CANCEL_ACTION, flush.instance_id))
    blocks += [{"type": "divider"}, _header("Your recent flushes")]
    if content.recent is None:
        blocks.append(section(":warning: Your flush history could not be read just now."))
    elif not content.recent:
        blocks.append(section(f"No flushes in the last {_days(content.retention_days)}."))
    for flush in content.recent or ():
        blocks += _entry(flush, flush_again_button(flush.instance_id))
    blocks.append(
        context(
            f"Flushes are kept for {_days(content.retention_days)}. "
            "Only you see your own flushes here."
        )
    )
    return {"type": "home", "blocks": blocks[:HOME_BLOCK_LIMIT]}
