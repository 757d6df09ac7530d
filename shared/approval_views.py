"""Block Kit for approvals: the awaiting view, the request to approvers, and each ending.

Like `shared.views`, every function builds a fresh object within Slack's limits, and text
from users is escaped for mrkdwn (doc/behaviour.md, "Approvals and user groups").
"""

from __future__ import annotations

import re

from shared.approval import (
    APPROVE_ACTION,
    CANCEL_ACTION,
    REJECT_ACTION,
    ApprovalPlan,
    Deadline,
    Decision,
    Stage,
)
from shared.orchestration import FlushRequest
from shared.views import (
    Block,
    Message,
    View,
    escape,
    list_blocks,
    message_of,
    modal,
    person,
    plain_text,
    section,
)

REQUEST_TEXT = "Cache flush approval requested"
APPROVED_TEXT = "Cache flush approved"
REJECTED_TEXT = "Cache flush rejected"
CANCELLED_TEXT = "Cache flush cancelled"
EXPIRED_TEXT = "Cache flush request expired"
REQUEST_FAILED_TEXT = "Cache flush approval request failed"
APPROVAL_BLOCK = "approval_decision"
CANCEL_BLOCK = "approval_cancel"
ENDING_TEXTS = {
    Stage.APPROVED: APPROVED_TEXT,
    Stage.REJECTED: REJECTED_TEXT,
    Stage.CANCELLED: CANCELLED_TEXT,
    Stage.EXPIRED: EXPIRED_TEXT,
}
OUTCOME_EMOJI = {
    Stage.APPROVED: ":white_check_mark:",
    Stage.REJECTED: ":no_entry:",
    Stage.CANCELLED: ":leftwards_arrow_with_hook:",
    Stage.EXPIRED: ":hourglass:",
}
_CHANNEL_ID = re.compile(r"[CG][A-Z0-9]{2,40}")


def minutes_text(minutes: float) -> str:
    """A number of minutes for people: "1 minute", "0.5 minutes", "60 minutes"."""
    number = f"{minutes:g}"
    return f"{number} minute" + ("" if number == "1" else "s")


def channel_text(channel: str) -> str:
    """A channel as mrkdwn: a link for a channel ID, `#name` for a name."""
    if _CHANNEL_ID.fullmatch(channel):
        return f"<#{channel}>"
    return "#" + escape(channel.lstrip("#"))


def _button(text: str, action_id: str, value: str, style: str | None = None) -> Block:
    button: Block = {
        "type": "button",
        "action_id": action_id,
        "text": plain_text(text),
        "value": value,
    }
    if style:
        button["style"] = style
    return button


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
                "expires and nothing is flushed. You can close this view safely: the outcome "
                "will appear here and in a direct message."
            ),
            {
                "type": "actions",
                "block_id": CANCEL_BLOCK,
                "elements": [_button("Cancel request", CANCEL_ACTION, instance_id, "danger")],
            },
        ]
    )


def _header() -> Block:
    return section(":raised_hand: *A cache flush needs approval*")


def _details(request: FlushRequest, deadline: Deadline) -> list[Block]:
    return [
        section(
            f"*Requested by:* {person(request.user_name, request.user_id)}\n"
            f"*Environment:* {escape(request.environment)}\n"
            f"*Deadline:* {deadline.mrkdwn()}\n"
            f"*URLs ({len(request.urls)}):*"
        ),
        *list_blocks(request.urls),
    ]


def request_message(
    request: FlushRequest, plan: ApprovalPlan, instance_id: str, deadline: Deadline
) -> Message:
    """The request posted to the approvers' channel, with Approve and Reject buttons.

    Each button's `value` is the orchestration's instance ID.
    """
    return message_of(
        REQUEST_TEXT,
        [
            _header(),
            *_details(request, deadline),
            section(
                f"*Who may approve:* {plan.approvers} (not the requester). Without a "
                f"decision within {minutes_text(plan.timeout_minutes)}, nothing is flushed."
            ),
            {
                "type": "actions",
                "block_id": APPROVAL_BLOCK,
                "elements": [
                    _button("Approve", APPROVE_ACTION, instance_id, "primary"),
                    _button("Reject", REJECT_ACTION, instance_id, "danger"),
                ],
            },
        ],
    )


def outcome_text(stage: Stage, decision: Decision | None, plan: ApprovalPlan) -> str:
    """How the request ended, in words: "Approved by <@U…>", "Expired: nobody approved…"."""
    by = f"<@{decision.user_id}>" if decision else "someone"
    texts = {
        Stage.APPROVED: f"Approved by {by}",
        Stage.REJECTED: f"Rejected by {by}",
        Stage.CANCELLED: "Cancelled by the requester",
        Stage.EXPIRED: f"Expired: nobody approved within {minutes_text(plan.timeout_minutes)}",
    }
    return texts[stage]


def outcome_message(
    request: FlushRequest,
    plan: ApprovalPlan,
    deadline: Deadline,
    stage: Stage,
    decision: Decision | None,
) -> Message:
    """The request message once decided or expired: its details, the outcome, no buttons.

    The fallback text is the outcome itself, so a notification of the edit says it too.
    """
    outcome = outcome_text(stage, decision, plan)
    return message_of(
        outcome,
        [
            _header(),
            *_details(request, deadline),
            section(f"{OUTCOME_EMOJI[stage]} *{outcome}*"),
        ],
    )


def _what(request: FlushRequest) -> list[Block]:
    return [
        section(f"*Environment:* {escape(request.environment)}\n*URLs ({len(request.urls)}):*"),
        *list_blocks(request.urls),
    ]


def requester_message(
    request: FlushRequest, plan: ApprovalPlan, stage: Stage, decision: Decision | None
) -> Message:
    """What the requester is told of the ending, in the modal and by direct message."""
    by = person(decision.user_name, decision.user_id) if decision else "someone"
    news = {
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
    """What the requester is told when the request could not reach the approvers."""
    return message_of(
        REQUEST_FAILED_TEXT,
        [
            section(
                ":x: *Your cache flush could not be sent for approval.* The approval request "
                "could not be posted, so nobody can approve it and nothing was flushed. "
                "Please contact the app developer."
            ),
            *_what(request),
        ],
    )
