"""Block Kit views and messages (doc/behaviour.md, "Views and messages").

Every function builds a fresh object, so concurrent requests never share state, and keeps
within Slack's limits: section text at most 3000 characters, at most 100 blocks in a
modal and 50 in a message. Text from users or from cache-flush is escaped for mrkdwn.
"""

from __future__ import annotations

import json
import math
import re
from collections.abc import Sequence
from enum import Enum
from http import HTTPStatus
from typing import Any
from urllib.parse import urlsplit

from shared.handoffs import GATEWAY_STATUSES, FlushResult
from shared.submission import (
    ENVIRONMENT_ACTION,
    ENVIRONMENT_BLOCK,
    ENVIRONMENTS,
    FORM_CALLBACK_ID,
    URLS_ACTION,
    URLS_BLOCK,
    either,
    rules_summary,
    split_urls,
)

Block = dict[str, Any]
View = dict[str, Any]
Message = dict[str, Any]

TITLE = "Cache Flush"
SECTION_LIMIT = 3000
MODAL_BLOCK_LIMIT = 100
MESSAGE_BLOCK_LIMIT = 50
URL_LIST_BLOCKS = 10
DEFAULT_ESTIMATED_SECONDS = 5
INITIAL_VALUE_LIMIT = 3000

SUCCESS_TEXT = "Cache flush succeeded"
FAILURE_TEXT = "Cache flush failed"
VIEW_CLOSED_TEXT = "View must be open"
NOT_ALLOWED_TEXT = "User not allowed"
OPEN_FAILED_TEXT = "Cache flush could not start"
PROCESSING_ERROR_TEXT = "Cache flush hit an unexpected error"

TRUNCATED_MARK = " … (truncated)"
# Who the user is told to ask when no support contact is configured.
NO_CONTACT = "the team that runs this app"
CONTACT_CHARS = 200
DETAILS_CHARS = 500
LISTED_HOSTS = 3
DEFAULT_RETRY_MINUTES = 1
UNCONFIRMED = "*Nothing was flushed, as far as the app knows.*"
UNCONFIRMED_EARLIER = (
    "An earlier attempt got no answer from cache-flush itself, so that one may have gone through."
)
HARMLESS = "flushing the same URLs again is harmless"
FLUSH_AGAIN_ACTION = "flush_again"
_SLACK_REFERENCE = re.compile(r"<[#@!][^<>\s]*>")


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


def context(text: str) -> Block:
    """A context block: one line of small mrkdwn text."""
    return {"type": "context", "elements": [{"type": "mrkdwn", "text": text}]}


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


def button(text: str, action_id: str, value: str = "", style: str | None = None) -> Block:
    """A button element; `style` is "primary" or "danger" when given."""
    element: Block = {
        "type": "button",
        "text": plain_text(text),
        "action_id": action_id,
        "value": value,
    }
    if style:
        element["style"] = style
    return element


def flush_again_button(instance_id: str) -> Block:
    """The Flush again button of a flush's result; its value is the flush's instance ID."""
    return button("Flush again", FLUSH_AGAIN_ACTION, instance_id)


def with_flush_again(message: Message, instance_id: str) -> Message:
    """The message with a Flush again button after its blocks."""
    actions = {"type": "actions", "elements": [flush_again_button(instance_id)]}
    return message_of(message["text"], [*message["blocks"][: MESSAGE_BLOCK_LIMIT - 1], actions])


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


def form_view(
    initial_urls: str,
    domains: Sequence[str],
    hosts: Sequence[str],
    *,
    environment: str | None = None,
    note: str | None = None,
) -> View:
    """The request form: environment and a multi-line list of URLs, either prefilled.

    `note` (mrkdwn) is shown above the fields, e.g. why a prefilled list is empty.
    """
    url_input: dict[str, Any] = {
        "type": "plain_text_input",
        "action_id": URLS_ACTION,
        "multiline": True,
        "placeholder": plain_text("one URL per line"),
    }
    if initial_urls:
        url_input["initial_value"] = initial_urls
    options = [{"text": plain_text(name), "value": name} for name in ENVIRONMENTS]
    select: dict[str, Any] = {
        "type": "static_select",
        "action_id": ENVIRONMENT_ACTION,
        "placeholder": plain_text("Pick the environment"),
        "options": options,
    }
    if environment in ENVIRONMENTS:
        select["initial_option"] = options[ENVIRONMENTS.index(environment)]
    intro = [section("Choose the environment and list the URLs to flush from the CDN cache.")]
    if note:
        intro.append(context(note))
    return modal(
        [
            *intro,
            {
                "type": "input",
                "block_id": ENVIRONMENT_BLOCK,
                "label": plain_text("Environment"),
                "element": select,
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
    """The command's text as the URLs field's value: one URL per line, split as on submit."""
    return urls_field(split_urls(command_text))


def urls_field(urls: Sequence[str]) -> str:
    """URLs as the URLs field's value, one per line, as many whole URLs as fit its limit.

    A URL cut short would be flushed as a different URL, so none is ever cut.
    """
    kept: list[str] = []
    size = 0
    for url in urls:
        size += len(url) + (1 if kept else 0)
        if size > INITIAL_VALUE_LIMIT:
            break
        kept.append(url)
    return "\n".join(kept)


def not_allowed_blocks(
    user_name: str, user_id: str, hint: str, contact: str | None = None
) -> list[Block]:
    """The no-access notice, the configured hint, a ready-to-paste request and who to ask.

    Without a name (the Home tab's event carries only the member ID) the request names the
    Slack member by ID alone.
    """
    who = f"{user_name} ({user_id})" if user_name else f"Slack member {user_id}"
    request = f"Please add {who} to the cache-flush Slack app's allowed users."
    return [
        section(":warning: *You do not have access to flush the cache.*"),
        section(hint),
        section(f"```{escape(request)}```"),
        context(f"Not sure where to send it? Ask {contact_text(contact)}."),
    ]


def not_allowed_view(user_name: str, user_id: str, hint: str, contact: str | None = None) -> View:
    """The modal for a user who is not on the allowed-users list."""
    return modal(not_allowed_blocks(user_name, user_id, hint, contact))


def not_allowed_message(
    user_name: str, user_id: str, hint: str, contact: str | None = None
) -> Message:
    """The same notice, as a direct message."""
    return message_of(NOT_ALLOWED_TEXT, not_allowed_blocks(user_name, user_id, hint, contact))


def access_unavailable_view(contact: str | None = None) -> View:
    """The modal when the allowed-users list cannot be read: fail closed.

    `contact` is the support contact, named as who to tell (see `contact_text`).
    """
    return modal(
        [
            section(":warning: *Your access could not be checked right now.*"),
            section(
                "Please try again in a few minutes. If this keeps happening, "
                f"tell {contact_text(contact)}."
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


def _compact(body: Any) -> str:
    """The body on one line: JSON as compact JSON, text that is not JSON as it is."""
    if isinstance(body, str):
        try:
            body = json.loads(body)
        except ValueError:
            return " ".join(body.split())
    return json.dumps(body, ensure_ascii=False, separators=(", ", ": "))


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


def contact_text(contact: str | None) -> str:
    """Who to ask, as mrkdwn: the configured support contact, or a neutral wording.

    A Slack reference (`<#C…|name>`, `<@U…>`, `<!subteam^…>`) is kept so that it links;
    any other text is escaped.
    """
    named = (contact or "").strip()[:CONTACT_CHARS]
    if not named:
        return NO_CONTACT
    return named if _SLACK_REFERENCE.fullmatch(named) else escape(named)


class FailureCause(Enum):
    """Why a flush did not run, as the last answer from cache-flush tells it."""

    AKAMAI_NOT_AUTHORISED = "akamai_not_authorised"
    REJECTED = "rejected"
    MISCONFIGURED = "misconfigured"
    RATE_LIMITED = "rate_limited"
    UNAVAILABLE = "unavailable"
    NOT_SENT = "not_sent"


def _from_akamai(body: Any) -> bool:
    """Whether an error body is Akamai's problem document passed through by cache-flush.

    cache-flush's own refusals carry a `message`; Akamai's answers a `title` and a `detail`.
    """
    return (
        isinstance(body, dict)
        and not isinstance(body.get("message"), str)
        and any(isinstance(body.get(key), str) for key in ("title", "detail"))
    )


def failure_cause(result: FlushResult) -> FailureCause:
    """The cause of a failed flush, from the last status received and its body."""
    status = result.status
    if status is None:
        return FailureCause.UNAVAILABLE if result.transient else FailureCause.NOT_SENT
    if status == HTTPStatus.TOO_MANY_REQUESTS:
        return FailureCause.RATE_LIMITED
    if status >= HTTPStatus.INTERNAL_SERVER_ERROR:
        return FailureCause.UNAVAILABLE
    if status in (HTTPStatus.UNAUTHORIZED, HTTPStatus.NOT_FOUND) or 300 <= status < 400:
        return FailureCause.MISCONFIGURED
    if status == HTTPStatus.FORBIDDEN and _from_akamai(result.body):
        return FailureCause.AKAMAI_NOT_AUTHORISED
    return FailureCause.REJECTED


def _hosts(urls: Sequence[str]) -> str:
    """The distinct hosts of the URLs, the first few by name, as mrkdwn."""
    hosts = list(dict.fromkeys(urlsplit(url).hostname or url for url in urls))
    named = either([escape(host) for host in hosts[:LISTED_HOSTS]])
    more = len(hosts) - LISTED_HOSTS
    return named + (f" and {more} more" if more > 0 else "")


def retry_minutes(result: FlushResult) -> int:
    """Minutes to wait after a rate limit: what the answer asked for, else a default."""
    seconds = result.retry_after_seconds
    if seconds is None:
        return DEFAULT_RETRY_MINUTES
    return max(1, math.ceil(seconds / 60))


_HEADLINES = {
    FailureCause.REJECTED: "cache-flush rejected the request.",
    FailureCause.MISCONFIGURED: (
        "cache-flush did not accept the app's key or address: the app is misconfigured."
    ),
    FailureCause.RATE_LIMITED: "Akamai is limiting how many flushes it takes right now.",
    FailureCause.UNAVAILABLE: "cache-flush, or Akamai behind it, is unavailable right now.",
    FailureCause.NOT_SENT: "The app could not send the request to cache-flush.",
}
_ADVICE = {
    FailureCause.REJECTED: (
        "The form checks URLs as cache-flush does, so this is a fault in this app and "
        "trying again will not help. Please report it to {who}, with the details below."
    ),
    FailureCause.MISCONFIGURED: (
        "Trying again will not help. Please tell {who}, with the details below."
    ),
    FailureCause.UNAVAILABLE: (
        f"Try again in a few minutes: {HARMLESS}. If it keeps failing, tell {{who}}."
    ),
    FailureCause.NOT_SENT: (
        "This is a fault in this app, and trying again is unlikely to help. "
        "Please report it to {who}."
    ),
}


def _what_happened(
    result: FlushResult, cause: FailureCause, urls: Sequence[str], unconfirmed_earlier: bool
) -> str:
    """The headline: that nothing was flushed, and why, in the user's terms.

    Only "as far as the app knows" when this or an earlier attempt may have reached Akamai
    unanswered; Akamai refusing the app's credentials would have refused any attempt.
    """
    if cause is FailureCause.AKAMAI_NOT_AUTHORISED:
        return (
            "*Nothing was flushed.* Akamai has not authorised this app to flush "
            f"{_hosts(urls)}, so it refused the whole request."
        )
    if result.status is None and result.transient:
        return f"{UNCONFIRMED} cache-flush did not answer, so nothing confirmed the flush."
    if result.status in GATEWAY_STATUSES:
        return (
            f"{UNCONFIRMED} The gateway in front of cache-flush answered instead of it, "
            "so nothing confirmed the flush."
        )
    if unconfirmed_earlier:
        return f"{UNCONFIRMED} {_HEADLINES[cause]} {UNCONFIRMED_EARLIER}"
    return f"*Nothing was flushed.* {_HEADLINES[cause]}"


def failure_advice(
    result: FlushResult,
    urls: Sequence[str] = (),
    contact: str | None = None,
    unconfirmed_earlier: bool = False,
) -> str:
    """What the user can do about a failed flush, by its cause; names who to ask.

    After a rate limit, says that flushing again is harmless when an earlier attempt may
    have gone through (`unconfirmed_earlier`).
    """
    cause = failure_cause(result)
    who = contact_text(contact)
    if cause is FailureCause.AKAMAI_NOT_AUTHORISED:
        through = "" if who == NO_CONTACT else f" (through {who})"
        hosts = _hosts(urls) if urls else "these hosts"
        return (
            f"Ask the web team's CDN owner{through} to authorise the app's Akamai "
            f"credentials for {hosts}, then flush again. Trying again before that will not help."
        )
    if cause is FailureCause.RATE_LIMITED:
        minutes = retry_minutes(result)
        harmless = f": {HARMLESS}" if unconfirmed_earlier else ""
        return (
            f"Try again in {minutes} minute{'' if minutes == 1 else 's'}{harmless}. "
            f"If it keeps happening, tell {who}."
        )
    return _ADVICE[cause].format(who=who)


def _status(result: FlushResult, attempts: int) -> str:
    if result.status is not None:
        status = f"*Status:* HTTP {result.status}"
    elif result.transient:
        status = f"*Status:* no response ({escape(result.error or 'unknown error')[:500]})"
    else:
        status = f"*Status:* not sent ({escape(result.error or 'unknown error')[:500]})"
    if attempts > 1:
        status += f", the last of {attempts} attempts"
    if result.status is not None and result.error:
        status += f"\n*Note:* {escape(result.error)[:500]}"
    return status


def _details(result: FlushResult) -> Block:
    """A context line with the raw answer from cache-flush: status and body, cut short."""
    if result.status is None:
        answer = f"no answer: {result.error or 'unknown error'}"
    elif result.body in (None, "", {}):
        answer = f"HTTP {result.status}, no body"
    else:
        answer = f"HTTP {result.status} {_compact(result.body)}"
    return context(f"*Details:* {_fit(answer, DETAILS_CHARS)}")


def failure_message(
    result: FlushResult,
    environment: str,
    urls: Sequence[str],
    attempts: int = 1,
    *,
    approved_by: str | None = None,
    contact: str | None = None,
    unconfirmed_earlier: bool = False,
) -> Message:
    """The result of a flush that did not run.

    Says that nothing was flushed and why, names the environment and the URLs (a user may
    have several requests in their DMs) and the status of the last answer, advises by cause
    (naming `contact`, the support contact, wherever the user should ask someone), and folds
    the raw answer into a short "Details" line; names the approver, for a flush that needed
    approval. `unconfirmed_earlier` (an earlier attempt got no answer from cache-flush
    itself) makes "nothing was flushed" only as far as the app knows.
    """
    cause = failure_cause(result)
    blocks = [
        section(f":x: {_what_happened(result, cause, urls, unconfirmed_earlier)}"),
        section(
            f"{_approved_line(approved_by)}*Environment:* {escape(environment)}\n"
            f"*URLs ({len(urls)}):*"
        ),
        *list_blocks(urls),
        section(_status(result, attempts)),
        section(f"*What to do:* {failure_advice(result, urls, contact, unconfirmed_earlier)}"),
        _details(result),
    ]
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


def open_failed_message(error: str, contact: str | None = None) -> Message:
    """DM when the first view could not be opened; names the support contact."""
    return message_of(
        OPEN_FAILED_TEXT,
        [
            section(
                f"The cache flush view could not be opened (Slack said `{escape(error)[:200]}`). "
                f"Please tell {contact_text(contact)}."
            )
        ],
    )


def processing_error_message(error: str, contact: str | None = None) -> Message:
    """DM for an unexpected error after the modal opened; names the support contact."""
    return message_of(
        PROCESSING_ERROR_TEXT,
        [
            section(
                f"Your cache flush request hit an unexpected error (`{escape(error)[:200]}`). "
                f"Nothing was flushed. Please tell {contact_text(contact)}."
            )
        ],
    )
