"""Block Kit views and messages (doc/behaviour.md, "Views and messages").

Every function builds a fresh object, so concurrent requests never share state, and keeps
within Slack's limits: section text at most 3000 characters, at most 100 blocks in a
modal and 50 in a message. Text from users or from cache-flush is escaped for mrkdwn.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from typing import Any

from shared.handoffs import FlushResult
from shared.submission import (
    ENVIRONMENT_ACTION,
    ENVIRONMENT_BLOCK,
    ENVIRONMENTS,
    FORM_CALLBACK_ID,
    URLS_ACTION,
    URLS_BLOCK,
    rules_summary,
)

Block = dict[str, Any]
View = dict[str, Any]
Message = dict[str, Any]

TITLE = "Cache Flush"
SECTION_LIMIT = 3000
MODAL_BLOCK_LIMIT = 100
MESSAGE_BLOCK_LIMIT = 50
URL_LIST_BLOCKS = 10
ERROR_BODY_CHARS = 2500
DEFAULT_ESTIMATED_SECONDS = 5

SUCCESS_TEXT = "Cache flush succeeded"
FAILURE_TEXT = "Cache flush failed"
VIEW_CLOSED_TEXT = "View must be open"
NOT_ALLOWED_TEXT = "User not allowed"
OPEN_FAILED_TEXT = "Cache flush could not start"
PROCESSING_ERROR_TEXT = "Cache flush hit an unexpected error"

TRUNCATED_MARK = "\n… (truncated)"
CORRECT_REQUEST = "Correct the request as the message above says, then try again."
MISCONFIGURED = (
    "cache-flush refused the app's key or address, so the app is misconfigured and trying "
    "again will not help. Please contact the app developer."
)
CONTACT_DEVELOPER = (
    "The app could not complete this request, and trying again is unlikely to help. "
    "Please contact the app developer."
)
TRY_AGAIN = "Try again in a few minutes; if it keeps failing, contact the app developer."


def escape(text: str) -> str:
    """Escape the three characters Slack's mrkdwn treats as control characters."""
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def plain_text(text: str) -> dict[str, Any]:
    """A plain_text object."""
    return {"type": "plain_text", "text": text, "emoji": True}


def section(text: str) -> Block:
    """A mrkdwn section, cut to Slack's limit."""
    if len(text) > SECTION_LIMIT:
        text = text[: SECTION_LIMIT - 1] + "…"
    return {"type": "section", "text": {"type": "mrkdwn", "text": text}}


def modal(blocks: list[Block], **extra: Any) -> View:
    """A "Cache Flush" modal with a Close button, at most MODAL_BLOCK_LIMIT blocks."""
    view: View = {
        "type": "modal",
        "title": plain_text(TITLE),
        "close": plain_text("Close"),
        "blocks": blocks[:MODAL_BLOCK_LIMIT],
    }
    view.update(extra)
    return view


def message_of(text: str, blocks: list[Block]) -> Message:
    """A message: fallback `text` and at most MESSAGE_BLOCK_LIMIT blocks."""
    return {"text": text, "blocks": blocks[:MESSAGE_BLOCK_LIMIT]}


def person(name: str, user_id: str) -> str:
    """A Slack user as mrkdwn: the escaped name and a mention of the member ID."""
    return f"{escape(name)} (<@{user_id}>)"


def _approved_line(approved_by: str | None) -> str:
    return f"*Approved by:* {approved_by}\n" if approved_by else ""


def list_blocks(lines: Sequence[str], max_blocks: int = URL_LIST_BLOCKS) -> list[Block]:
    """Bullet the lines over as few sections as fit, ending with "… and N more" if cut."""
    blocks: list[Block] = []
    current: list[str] = []
    size = 0
    for index, line in enumerate(lines):
        bullet = "• " + escape(line)
        if len(bullet) > SECTION_LIMIT - 40:
            bullet = bullet[: SECTION_LIMIT - 41] + "…"
        if current and size + len(bullet) + 1 > SECTION_LIMIT - 40:
            if len(blocks) == max_blocks - 1:
                current.append(f"… and {len(lines) - index} more")
                blocks.append(section("\n".join(current)))
                return blocks
            blocks.append(section("\n".join(current)))
            current, size = [], 0
        current.append(bullet)
        size += len(bullet) + 1
    if current:
        blocks.append(section("\n".join(current)))
    return blocks


def checking_view() -> View:
    """The first view, opened at once while the request and the user are checked."""
    return modal(
        [
            section(
                ":hourglass_flowing_sand: Checking that this request came from Slack "
                "and that you may flush the cache…"
            ),
            section("The form appears here as soon as the checks are done."),
        ]
    )


def form_view(initial_urls: str, domains: Sequence[str], hosts: Sequence[str]) -> View:
    """The request form: environment and a multi-line list of URLs."""
    url_input: dict[str, Any] = {
        "type": "plain_text_input",
        "action_id": URLS_ACTION,
        "multiline": True,
        "placeholder": plain_text("one URL per line"),
    }
    if initial_urls:
        url_input["initial_value"] = initial_urls
    return modal(
        [
            section("Choose the environment and list the URLs to flush from the CDN cache."),
            {
                "type": "input",
                "block_id": ENVIRONMENT_BLOCK,
                "label": plain_text("Environment"),
                "element": {
                    "type": "static_select",
                    "action_id": ENVIRONMENT_ACTION,
                    "placeholder": plain_text("Pick the environment"),
                    "options": [{"text": plain_text(name), "value": name} for name in ENVIRONMENTS],
                },
            },
            {
                "type": "input",
                "block_id": URLS_BLOCK,
                "label": plain_text("URLs"),
                "element": url_input,
                "hint": plain_text(rules_summary(domains, hosts)[:2000]),
            },
        ],
        callback_id=FORM_CALLBACK_ID,
        submit=plain_text("Submit"),
        close=plain_text("Cancel"),
    )


def initial_urls(command_text: str) -> str:
    """The command's text as the URLs field's value: one whitespace-separated URL per line."""
    return "\n".join(command_text.split())[:3000]


def not_allowed_blocks(user_name: str, user_id: str, hint: str) -> list[Block]:
    """The no-access notice, the configured hint and a ready-to-paste access request."""
    request = f"Please add {user_name} ({user_id}) to the cache-flush Slack app's allowed users."
    return [
        section(":warning: *You do not have access to flush the cache.*"),
        section(hint),
        section(f"```{escape(request)}```"),
    ]


def not_allowed_view(user_name: str, user_id: str, hint: str) -> View:
    """The modal for a user who is not on the allowed-users list."""
    return modal(not_allowed_blocks(user_name, user_id, hint))


def not_allowed_message(user_name: str, user_id: str, hint: str) -> Message:
    """The same notice, as a direct message."""
    return message_of(NOT_ALLOWED_TEXT, not_allowed_blocks(user_name, user_id, hint))


def access_unavailable_view() -> View:
    """The modal when the allowed-users list cannot be read: fail closed."""
    return modal(
        [
            section(":warning: *Your access could not be checked right now.*"),
            section(
                "Please try again in a few minutes. If this keeps happening, "
                "contact the app developer."
            ),
        ]
    )


def processing_view() -> View:
    """The modal shown after a valid submission, while cache-flush is called."""
    return modal(
        [
            section(":hourglass_flowing_sand: *Your request is being processed.*"),
            section(
                "This can take several seconds. The result will appear in this view "
                "and in a direct message, so you can close this view safely."
            ),
        ]
    )


def result_view(message: Message) -> View:
    """A modal showing a result message's blocks."""
    return modal(list(message["blocks"]))


def success_message(
    user_name: str,
    user_id: str,
    environment: str,
    urls: Sequence[str],
    body: Any,
    *,
    approved_by: str | None = None,
) -> Message:
    """The result of an accepted flush, with the timing and IDs cache-flush returned.

    `approved_by` is the approver as mrkdwn (see `person`), for a flush that needed approval.
    """
    details = body if isinstance(body, dict) else {}
    seconds = details.get("estimatedSeconds")
    if not isinstance(seconds, int | float) or isinstance(seconds, bool) or seconds < 0:
        seconds = DEFAULT_ESTIMATED_SECONDS
    blocks = [
        section(
            f":white_check_mark: *Cache flush accepted.* The refresh should complete "
            f"in about {seconds:g} seconds."
        ),
        section(
            f"*Flushed by:* {person(user_name, user_id)}\n"
            f"{_approved_line(approved_by)}"
            f"*Environment:* {escape(environment)}\n"
            f"*URLs ({len(urls)}):*"
        ),
        *list_blocks(urls),
    ]
    ids = [
        f"*{label}:* `{escape(str(value))[:200]}`"
        for label, value in (
            ("Purge ID", details.get("purgeId") or details.get("purgeID")),
            ("Support ID", details.get("supportId")),
        )
        if value
    ]
    if ids:
        blocks.append(section("\n".join(ids)))
    return message_of(SUCCESS_TEXT, blocks)


def _pretty(body: Any) -> str:
    """The body as indented JSON; text that is not JSON as it is."""
    if isinstance(body, str):
        try:
            body = json.loads(body)
        except ValueError:
            return str(body)
    return json.dumps(body, indent=2, ensure_ascii=False)


def _fit(text: str, limit: int) -> str:
    """`text` escaped for mrkdwn, cut (never inside an entity) to at most `limit` characters."""
    escaped = escape(text)
    if len(escaped) <= limit:
        return escaped
    kept: list[str] = []
    size = len(TRUNCATED_MARK)
    for char in text:
        piece = escape(char)
        if size + len(piece) > limit:
            break
        kept.append(piece)
        size += len(piece)
    return "".join(kept) + TRUNCATED_MARK


def _reason(body: Any) -> str | None:
    """The human-readable message of an error body: cache-flush's `message` or Akamai's `detail`."""
    if not isinstance(body, dict):
        return None
    for key in ("message", "detail", "title"):
        value = body.get(key)
        if isinstance(value, str) and value.strip():
            return value.strip()
    return None


def failure_advice(result: FlushResult) -> str:
    """What the user can do about a failed flush, by the last status received."""
    status = result.status
    if status is None:
        return TRY_AGAIN if result.transient else CONTACT_DEVELOPER
    if status in (400, 403) and _reason(result.body):
        return CORRECT_REQUEST
    if status in (401, 404):
        return MISCONFIGURED
    if status == 429 or status >= 500:
        return TRY_AGAIN
    return CONTACT_DEVELOPER


def _outcome(result: FlushResult, attempts: int) -> str:
    if result.status is not None:
        outcome = f"*Status:* HTTP {result.status}"
    elif result.transient:
        outcome = f"*Status:* no response ({escape(result.error or 'unknown error')[:500]})"
    else:
        outcome = f"*Status:* not sent ({escape(result.error or 'unknown error')[:500]})"
    if attempts > 1:
        outcome += f", the last of {attempts} attempts"
    reason = _reason(result.body)
    if reason:
        outcome += f"\n*Message:* {escape(reason)[:500]}"
    elif result.status is not None and result.error:
        outcome += f"\n*Note:* {escape(result.error)[:500]}"
    return outcome


def failure_message(
    result: FlushResult,
    environment: str,
    urls: Sequence[str],
    attempts: int = 1,
    *,
    approved_by: str | None = None,
) -> Message:
    """The result of a flush that did not run.

    Names the environment and the URLs (a user may have several requests in their DMs), the
    status of the last answer with its body pretty-printed, and advice that fits the status;
    and the approver, for a flush that needed approval.
    """
    blocks = [
        section(":x: *The cache flush did not run.*"),
        section(
            f"{_approved_line(approved_by)}*Environment:* {escape(environment)}\n"
            f"*URLs ({len(urls)}):*"
        ),
        *list_blocks(urls),
        section(_outcome(result, attempts)),
    ]
    if result.body not in (None, "", {}):
        blocks.append(section(f"```{_fit(_pretty(result.body), ERROR_BODY_CHARS)}```"))
    blocks.append(section(failure_advice(result)))
    return message_of(FAILURE_TEXT, blocks)


def view_closed_message() -> Message:
    """DM when the modal was closed before the request could continue."""
    return message_of(
        VIEW_CLOSED_TEXT,
        [
            section(
                "The cache flush view was closed before your request could continue. "
                "Ignore this if you meant to close it; otherwise run `/flush` again and "
                "keep the view open until the form appears."
            )
        ],
    )


def open_failed_message(error: str) -> Message:
    """DM when the first view could not be opened."""
    return message_of(
        OPEN_FAILED_TEXT,
        [
            section(
                f"The cache flush view could not be opened (Slack said `{escape(error)[:200]}`). "
                "Please contact the app developer."
            )
        ],
    )


def processing_error_message(error: str) -> Message:
    """DM for an unexpected error after the modal opened."""
    return message_of(
        PROCESSING_ERROR_TEXT,
        [
            section(
                f"Your cache flush request hit an unexpected error (`{escape(error)[:200]}`). "
                "Please contact the app developer."
            )
        ],
    )
