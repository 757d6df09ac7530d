"""Block Kit for approvals: the awaiting view, the request to approvers, and each ending.

Like `shared.views`, every function builds a fresh object within Slack's limits, and text
from users is escaped for mrkdwn (doc/behaviour.md, "Approvals and user groups").

Approvers see every URL exactly as it will be flushed: as plain text (never cut, never
turned into emoji), the first ones in the request message (`REQUEST_PAGE`) and the rest in
replies in its thread (`REPLY_PAGE` each). A list that would need more than `MAX_REPLIES`
replies is refused when the form is submitted (`shows_every_url`).
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from typing import NamedTuple

from shared.approval import (
    APPROVE_ACTION,
    CANCEL_ACTION,
    REJECT_ACTION,
    Decision,
    Stage,
)
from shared.handoffs import ApprovalPlan, FlushAttempts, FlushRequest
from shared.views import (
    Block,
    Message,
    SlackTime,
    View,
    button,
    contact_text,
    escape,
    list_blocks,
    message_of,
    modal,
    person,
    section,
)

REQUEST_TEXT = "Cache flush approval requested"
APPROVED_TEXT = "Cache flush approved"
REJECTED_TEXT = "Cache flush rejected"
CANCELLED_TEXT = "Cache flush cancelled"
EXPIRED_TEXT = "Cache flush request expired"
REQUEST_FAILED_TEXT = "Cache flush approval request failed"
PENDING_TEXT = "Cache flush approval pending"
NOT_ALLOWED_TEXT = "Cache flush not run"
THREAD_TEXT = "URLs to approve"
APPROVAL_BLOCK = "approval_decision"
CANCEL_BLOCK = "approval_cancel"
ENDING_TEXTS = {
    Stage.APPROVED: APPROVED_TEXT,
    Stage.REJECTED: REJECTED_TEXT,
    Stage.CANCELLED: CANCELLED_TEXT,
    Stage.EXPIRED: EXPIRED_TEXT,
    Stage.NOT_ALLOWED: NOT_ALLOWED_TEXT,
}
OUTCOME_EMOJI = {
    Stage.APPROVED: ":white_check_mark:",
    Stage.REJECTED: ":no_entry:",
    Stage.CANCELLED: ":leftwards_arrow_with_hook:",
    Stage.EXPIRED: ":hourglass:",
    Stage.NOT_ALLOWED: ":white_check_mark:",
}


class PageLimits(NamedTuple):
    """The most URLs one message lists, and the most plain-text sections it holds them in."""

    urls: int
    sections: int


# The request message itself, and each reply in its thread (Slack allows 50 blocks; the
# rest of the message needs at most 6).
REQUEST_PAGE = PageLimits(urls=20, sections=30)
REPLY_PAGE = PageLimits(urls=100, sections=45)
# The form holds at most 3000 characters (Slack's limit for a text input), so at most about
# 270 URLs: far fewer than these replies hold. A longer list is refused, never cut.
MAX_REPLIES = 10
# At most this many characters in each plain-text section of URLs (Slack allows 3000).
URL_SECTION_CHARS = 3000
BULLET = "• "
_CHANNEL_ID = re.compile(r"[CG][A-Z0-9]{2,40}")


def _counted(number: str, unit: str) -> str:
    return f"{number} {unit}" + ("" if number == "1" else "s")


def minutes_text(minutes: float) -> str:
    """A number of minutes for people: "1 minute", "1.5 minutes", "0.5 minutes (30 seconds)".

    Always in minutes, as the setting is; under one, the seconds follow, as a short timeout
    (a demo's) reads better so.
    """
    number = f"{minutes:g}"
    text = _counted(number, "minute")
    if 0 < minutes < 1 and number != "1":
        text += f" ({_counted(f'{round(minutes * 60, 3):g}', 'second')})"
    return text


def channel_text(channel: str) -> str:
    """A channel as mrkdwn: a link for a channel ID, `#name` for a name."""
    if _CHANNEL_ID.fullmatch(channel):
        return f"<#{channel}>"
    return "#" + escape(channel.lstrip("#"))


@dataclass(frozen=True)
class UrlPage:
    """A run of the request's URLs shown in one message: where it starts, and its sections."""

    first: int
    count: int
    blocks: tuple[Block, ...]


def _url_section(lines: Sequence[str]) -> Block:
    """URLs as plain text, one per line: shown exactly, with no mrkdwn or emoji."""
    text = "\n".join(BULLET + line for line in lines)
    return {"type": "section", "text": {"type": "plain_text", "text": text, "emoji": False}}


def _page(urls: Sequence[str], first: int, limits: PageLimits) -> UrlPage:
    """As many URLs from `first` as the limits let one message list."""
    sections: list[Block] = []
    lines: list[str] = []
    size = 0
    index = first
    while index < len(urls) and index - first < limits.urls:
        line = urls[index]
        extra = len(BULLET) + len(line) + (1 if lines else 0)
        if lines and size + extra > URL_SECTION_CHARS:
            if len(sections) + 1 == limits.sections:
                break
            sections.append(_url_section(lines))
            lines, size, extra = [], 0, extra - 1
        lines.append(line)
        size += extra
        index += 1
    if lines:
        sections.append(_url_section(lines))
    return UrlPage(first, index - first, tuple(sections))


def url_pages(urls: Sequence[str]) -> list[UrlPage]:
    """The request's URLs by message: the request message's page, then one per thread reply.

    Every URL is in exactly one page, whole (a URL is at most 2048 characters, so one
    always fits a section).
    """
    pages = [_page(urls, 0, REQUEST_PAGE)]
    shown = pages[0].count
    while shown < len(urls):
        pages.append(_page(urls, shown, REPLY_PAGE))
        shown += pages[-1].count
    return pages


def shows_every_url(urls: Sequence[str]) -> bool:
    """Whether the request message and at most `MAX_REPLIES` replies can list every URL."""
    return len(url_pages(urls)) - 1 <= MAX_REPLIES


def too_many_urls_error() -> str:
    """The inline error for a list of URLs too long to show the approvers."""
    most = REQUEST_PAGE.urls + MAX_REPLIES * REPLY_PAGE.urls
    return (
        "Too many URLs to show the approvers: the request and its thread can list "
        f"{most} short URLs at most (fewer long ones). Split them over several requests."
    )


def thread_replies(request: FlushRequest) -> list[Message]:
    """The replies that list the URLs the request message has no room for, in order."""
    total = len(request.urls)
    return [
        message_of(
            f"{THREAD_TEXT}: {page.first + 1} to {page.first + page.count} of {total}",
            [
                section(f"*URLs {page.first + 1} to {page.first + page.count} of {total}:*"),
                *page.blocks,
            ],
        )
        for page in url_pages(request.urls)[1:]
    ]


def awaiting_approval_view(plan: ApprovalPlan, instance_id: str) -> View:
    """The modal after a submission that needs approval, with a Cancel request button.

    The button's `value` is the orchestration's instance ID.
    """
    return modal(
        [
            section(":hourglass_flowing_sand: *Your request is waiting for approval.*"),
            section(
                "Flushing this environment needs a second person's approval. The request "
                f"has been sent to {channel_text(plan.channel)}; you cannot approve it "
                "yourself."
            ),
            section(f"*Who may approve:* {plan.approvers}"),
            section(
                f"If nobody decides within {minutes_text(plan.timeout_minutes)}, the request "
                "expires and nothing is flushed. You can close this view safely: the app also "
                "sends you a direct message with *Cancel request*, and the outcome will appear "
                "here and in a direct message."
            ),
            {
                "type": "actions",
                "block_id": CANCEL_BLOCK,
                "elements": [button("Cancel request", CANCEL_ACTION, instance_id, "danger")],
            },
        ]
    )


def _header() -> Block:
    return section(":raised_hand: *A cache flush needs approval*")


def _urls_heading(urls: Sequence[str]) -> str:
    pages = url_pages(urls)
    if len(pages) == 1:
        return f"*URLs ({len(urls)}):*"
    replies = len(pages) - 1
    return (
        f"*URLs ({len(urls)}):* the first {pages[0].count} here, the rest in "
        f"{replies} {'reply' if replies == 1 else 'replies'} in this message's thread"
    )


def _details(request: FlushRequest, deadline: SlackTime) -> list[Block]:
    return [
        section(
            f"*Requested by:* {person(request.user_name, request.user_id)}\n"
            f"*Environment:* {escape(request.environment)}\n"
            f"*Deadline:* {deadline.mrkdwn()}\n"
            f"{_urls_heading(request.urls)}"
        ),
        *url_pages(request.urls)[0].blocks,
    ]


def request_message(
    request: FlushRequest,
    plan: ApprovalPlan,
    instance_id: str,
    deadline: SlackTime,
    *,
    live: bool = True,
) -> Message:
    """The request posted to the approvers' channel, with Approve and Reject buttons.

    Each button's `value` is the orchestration's instance ID. Not `live`, the message says
    the buttons come once every URL is listed: it is posted that way first, and updated
    with the buttons after the replies in its thread.
    """
    decide: Block = (
        {
            "type": "actions",
            "block_id": APPROVAL_BLOCK,
            "elements": [
                button("Approve", APPROVE_ACTION, instance_id, "primary"),
                button("Reject", REJECT_ACTION, instance_id, "danger"),
            ],
        }
        if live
        else section(
            ":hourglass_flowing_sand: _Approve and Reject appear here once every URL is listed._"
        )
    )
    return message_of(
        REQUEST_TEXT,
        [
            _header(),
            *_details(request, deadline),
            section(
                f"*Who may approve:* {plan.approvers} (not the requester). Without a "
                f"decision within {minutes_text(plan.timeout_minutes)}, nothing is flushed."
            ),
            decide,
        ],
    )


def withdrawn_message(request: FlushRequest, deadline: SlackTime) -> Message:
    """The request message when its URLs could not all be listed: no buttons, nothing flushed."""
    text = "Withdrawn: the URLs could not all be listed here, so nothing will be flushed"
    return message_of(text, [_header(), *_details(request, deadline), section(f":x: *{text}.*")])


def outcome_text(stage: Stage, decision: Decision | None, plan: ApprovalPlan) -> str:
    """How the request ended, in words: "Approved by <@U…>", "Expired: nobody approved…"."""
    by = f"<@{decision.user_id}>" if decision else "someone"
    texts = {
        Stage.APPROVED: f"Approved by {by}",
        Stage.NOT_ALLOWED: f"Approved by {by}",
        Stage.REJECTED: f"Rejected by {by}",
        Stage.CANCELLED: "Cancelled by the requester",
        Stage.EXPIRED: f"Expired: nobody approved within {minutes_text(plan.timeout_minutes)}",
    }
    return texts[stage]


def not_allowed_text(request: FlushRequest, unavailable: bool) -> str:
    """Why an approved flush did not run: "not flushed: <name> is no longer allowed to flush"."""
    who = escape(request.user_name)
    if unavailable:
        return f"not flushed: the access of {who} could not be checked"
    return f"not flushed: {who} is no longer allowed to flush"


def flush_outcome_text(flushed: FlushAttempts) -> str:
    """The flush's result for the approvers: "Flush succeeded" with the purge ID, or failed.

    The status is that of the last answer received. A failure claims that nothing was
    flushed only "as far as the app knows" when an attempt got no answer from cache-flush
    itself, since that attempt may have reached Akamai.
    """
    result = flushed.last
    if result.ok:
        purge = result.purge_id
        shown = f" (purge ID `{escape(purge)}`)" if purge else ""
        return f":white_check_mark: *Flush succeeded*{shown}"
    if result.status is not None:
        status = f"HTTP {result.status}"
    else:
        status = "no response" if result.transient else "not sent"
    return f":x: *Flush failed* ({status}); nothing was flushed" + (
        ", as far as the app knows" if flushed.uncertain else ""
    )


def outcome_message(
    request: FlushRequest,
    plan: ApprovalPlan,
    deadline: SlackTime,
    stage: Stage,
    decision: Decision | None,
    *,
    after: str | None = None,
) -> Message:
    """The request message once decided or expired: its details, the outcome, no buttons.

    `after` is mrkdwn for what followed an approval: the flush's outcome, or why it did not
    run. The fallback text is the outcome itself, so a notification of the edit says it too.
    """
    outcome = outcome_text(stage, decision, plan)
    blocks = [
        _header(),
        *_details(request, deadline),
        section(f"{OUTCOME_EMOJI[stage]} *{outcome}*"),
    ]
    if after:
        blocks.append(section(after))
    return message_of(outcome, blocks)


def pending_message(
    request: FlushRequest, plan: ApprovalPlan, instance_id: str, deadline: SlackTime
) -> Message:
    """The requester's DM once the request is posted: its details and a Cancel request button."""
    first = url_pages(request.urls)[0]
    more = len(request.urls) - first.count
    return message_of(
        PENDING_TEXT,
        [
            section(
                ":hourglass_flowing_sand: *Your cache flush is waiting for approval.* "
                f"The request is in {channel_text(plan.channel)}; you cannot approve it yourself."
            ),
            section(
                f"*Environment:* {escape(request.environment)}\n"
                f"*Deadline:* {deadline.mrkdwn()}\n*Who may approve:* {plan.approvers}\n"
                f"*URLs ({len(request.urls)}):*"
            ),
            *first.blocks,
            *([section(f"… and {more} more, listed in the request's thread")] if more else []),
            {
                "type": "actions",
                "block_id": CANCEL_BLOCK,
                "elements": [button("Cancel request", CANCEL_ACTION, instance_id, "danger")],
            },
        ],
    )


def _what(request: FlushRequest) -> list[Block]:
    return [
        section(f"*Environment:* {escape(request.environment)}\n*URLs ({len(request.urls)}):*"),
        *list_blocks(request.urls),
    ]


def requester_message(
    request: FlushRequest,
    plan: ApprovalPlan,
    stage: Stage,
    decision: Decision | None,
    *,
    unavailable: bool = False,
) -> Message:
    """What the requester is told of the ending, in the modal and by direct message.

    For `Stage.NOT_ALLOWED`, `unavailable` says access could not be read (not that it is gone).
    """
    by = person(decision.user_name, decision.user_id) if decision else "someone"
    why = (
        "Your access could not be checked when it was about to run (the app never flushes "
        "when it cannot tell)."
        if unavailable
        else "You were removed from those who may flush after you asked."
    )
    news = {
        Stage.NOT_ALLOWED: (
            f":no_entry_sign: *Your cache flush was approved* by {by}, but "
            f"{not_allowed_text(request, unavailable)}. {why} Nothing was flushed."
        ),
        Stage.APPROVED: (
            f":white_check_mark: *Your cache flush was approved* by {by}. It is running now; "
            "the result will follow here and in a direct message."
        ),
        Stage.REJECTED: f":no_entry: *Your cache flush was rejected* by {by}. Nothing was flushed.",
        Stage.CANCELLED: (
            ":leftwards_arrow_with_hook: *You cancelled your cache flush request.* "
            "Nothing was flushed."
        ),
        Stage.EXPIRED: (
            ":hourglass: *Your cache flush request expired:* nobody approved it within "
            f"{minutes_text(plan.timeout_minutes)}, so nothing was flushed. Run `/flush` "
            "again to ask again."
        ),
    }
    return message_of(ENDING_TEXTS[stage], [section(news[stage]), *_what(request)])


def request_failed_message(request: FlushRequest) -> Message:
    """What the requester is told when the request could not reach the approvers.

    Names the support contact from the orchestration input, like every failure notice.
    """
    return message_of(
        REQUEST_FAILED_TEXT,
        [
            section(
                ":x: *Your cache flush could not be sent for approval.* The approval request "
                "could not be posted in full, so nobody can approve it and nothing was flushed. "
                f"Please tell {contact_text(request.support_contact)}."
            ),
            *_what(request),
        ],
    )
