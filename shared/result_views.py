"""The result of a flush, as a message: accepted, or failed with its cause and what to do.

Built from cache-flush's last answer (`FlushResult`), for the modal, the direct message and
the channel (doc/behaviour.md, "Views and messages"). Kept apart from `shared.views` so the
`/flush` command loads none of it before `views.open`.
"""

from __future__ import annotations

import json
import math
from collections.abc import Sequence
from enum import Enum
from http import HTTPStatus
from typing import Any
from urllib.parse import urlsplit

from shared import views
from shared.handoffs import GATEWAY_STATUSES, FlushResult, purge_id_of
from shared.submission import either

SUCCESS_TEXT = "Cache flush succeeded"
FAILURE_TEXT = "Cache flush failed"
TRUNCATED_MARK = " … (truncated)"
DETAILS_CHARS = 500
LISTED_HOSTS = 3
DEFAULT_RETRY_MINUTES = 1
DEFAULT_ESTIMATED_SECONDS = 5
UNCONFIRMED = "*Nothing was flushed, as far as the app knows.*"
UNCONFIRMED_EARLIER = (
    "An earlier attempt got no answer from cache-flush itself, so that one may have gone through."
)
UNANSWERED_LATER = "A later attempt got no answer at all, so it may have gone through."
UNANSWERED_LATER_ALL = "Later attempts got no answer at all, so one of them may have gone through."
UNANSWERED_OTHERS = (
    "Other attempts got no answer from cache-flush itself, so one of them may have gone through."
)
HARMLESS = "flushing the same URLs again is harmless"


def _approved_line(approved_by: str | None) -> str:
    return f"*Approved by:* {approved_by}\n" if approved_by else ""


def result_view(message: views.Message) -> views.View:
    """A modal showing a result message's blocks."""
    return views.modal(list(message["blocks"]))


def success_message(
    user_name: str,
    user_id: str,
    environment: str,
    urls: Sequence[str],
    body: Any,
    *,
    approved_by: str | None = None,
) -> views.Message:
    """The result of an accepted flush, with the timing and IDs cache-flush returned.

    `approved_by` is the approver as mrkdwn (`views.person`), for a flush that needed approval.
    """
    details = body if isinstance(body, dict) else {}
    seconds = details.get("estimatedSeconds")
    if not isinstance(seconds, int | float) or isinstance(seconds, bool) or seconds < 0:
        seconds = DEFAULT_ESTIMATED_SECONDS
    blocks = [
        views.section(
            f":white_check_mark: *Cache flush accepted.* The refresh should complete "
            f"in about {seconds:g} seconds."
        ),
        views.section(
            f"*Flushed by:* {views.person(user_name, user_id)}\n"
            f"{_approved_line(approved_by)}"
            f"*Environment:* {views.escape(environment)}\n"
            f"*URLs ({len(urls)}):*"
        ),
        *views.list_blocks(urls),
    ]
    ids = [
        f"*{label}:* `{views.escape(str(value))[:200]}`"
        for label, value in (
            ("Purge ID", purge_id_of(details)),
            ("Support ID", details.get("supportId")),
        )
        if value
    ]
    if ids:
        blocks.append(views.section("\n".join(ids)))
    return views.message_of(SUCCESS_TEXT, blocks)


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
    escaped = views.escape(text)
    if len(escaped) <= limit:
        return escaped
    kept: list[str] = []
    size = len(TRUNCATED_MARK)
    for char in text:
        piece = views.escape(char)
        if size + len(piece) > limit:
            break
        kept.append(piece)
        size += len(piece)
    return "".join(kept) + TRUNCATED_MARK


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
    named = either([views.escape(host) for host in hosts[:LISTED_HOSTS]])
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


def _others_note(unconfirmed_earlier: bool, unanswered_later: int) -> str:
    """Which other attempts may have gone through unanswered, as a sentence (or nothing)."""
    if unconfirmed_earlier and unanswered_later:
        return f" {UNANSWERED_OTHERS}"
    if unconfirmed_earlier:
        return f" {UNCONFIRMED_EARLIER}"
    if unanswered_later:
        return f" {UNANSWERED_LATER if unanswered_later == 1 else UNANSWERED_LATER_ALL}"
    return ""


def _what_happened(
    result: FlushResult,
    cause: FailureCause,
    urls: Sequence[str],
    unconfirmed_earlier: bool,
    unanswered_later: int,
) -> str:
    """The headline: that nothing was flushed, and why, in the user's terms.

    Only "as far as the app knows" when this or another attempt may have reached Akamai
    unanswered; Akamai refusing the app's credentials would have refused any attempt.
    """
    if cause is FailureCause.AKAMAI_NOT_AUTHORISED:
        return (
            "*Nothing was flushed.* Akamai has not authorised this app to flush "
            f"{_hosts(urls)}, so it refused the whole request."
        )
    if result.status is None and result.transient:
        return f"{UNCONFIRMED} cache-flush did not answer, so nothing confirmed the flush."
    others = _others_note(unconfirmed_earlier, unanswered_later)
    if result.status in GATEWAY_STATUSES:
        return (
            f"{UNCONFIRMED} The gateway in front of cache-flush answered instead of it, "
            f"so nothing confirmed the flush.{_others_note(False, unanswered_later)}"
        )
    if others:
        return f"{UNCONFIRMED} {_HEADLINES[cause]}{others}"
    return f"*Nothing was flushed.* {_HEADLINES[cause]}"


def failure_advice(
    result: FlushResult,
    urls: Sequence[str] = (),
    contact: str | None = None,
    uncertain: bool = False,
) -> str:
    """What the user can do about a failed flush, by its cause; names who to ask.

    After a rate limit, says that flushing again is harmless when another attempt may have
    gone through unanswered (`uncertain`).
    """
    cause = failure_cause(result)
    who = views.contact_text(contact)
    if cause is FailureCause.AKAMAI_NOT_AUTHORISED:
        through = "" if who == views.NO_CONTACT else f" (through {who})"
        hosts = _hosts(urls) if urls else "these hosts"
        return (
            f"Ask the web team's CDN owner{through} to authorise the app's Akamai "
            f"credentials for {hosts}, then flush again. Trying again before that will not help."
        )
    if cause is FailureCause.RATE_LIMITED:
        minutes = retry_minutes(result)
        harmless = f": {HARMLESS}" if uncertain else ""
        return (
            f"Try again in {minutes} minute{'' if minutes == 1 else 's'}{harmless}. "
            f"If it keeps happening, tell {who}."
        )
    return _ADVICE[cause].format(who=who)


def _attempt_numbers(first: int, last: int) -> str:
    """Attempts `first` to `last` by number: "attempt 3", "attempts 2 and 3"."""
    if first == last:
        return f"attempt {first}"
    return f"attempts {', '.join(str(n) for n in range(first, last))} and {last}"


def _status(
    result: FlushResult, attempts: int, unanswered_later: int, later_error: str | None
) -> str:
    """The status of the last answer received, which attempt it was, and any unanswered after."""
    if result.status is not None:
        status = f"*Status:* HTTP {result.status}"
    elif result.transient:
        status = f"*Status:* no response ({views.escape(result.error or 'unknown error')[:500]})"
    else:
        status = f"*Status:* not sent ({views.escape(result.error or 'unknown error')[:500]})"
    answered_at = attempts - unanswered_later
    if unanswered_later:
        later = _attempt_numbers(answered_at + 1, attempts)
        status += (
            f", the last answer received (attempt {answered_at} of {attempts}); {later} went "
            f"unanswered: {views.escape(later_error or 'unknown error')[:500]}"
        )
    elif attempts > 1:
        status += f", the last of {attempts} attempts"
    if result.status is not None and result.error:
        status += f"\n*Note:* {views.escape(result.error)[:500]}"
    return status


def _details(result: FlushResult) -> views.Block:
    """A context line with the raw answer from cache-flush: status and body, cut short."""
    if result.status is None:
        answer = f"no answer: {result.error or 'unknown error'}"
    elif result.body in (None, "", {}):
        answer = f"HTTP {result.status}, no body"
    else:
        answer = f"HTTP {result.status} {_compact(result.body)}"
    return views.context(f"*Details:* {_fit(answer, DETAILS_CHARS)}")


def failure_message(
    result: FlushResult,
    environment: str,
    urls: Sequence[str],
    attempts: int = 1,
    *,
    approved_by: str | None = None,
    contact: str | None = None,
    unconfirmed_earlier: bool = False,
    unanswered_later: int = 0,
    later_error: str | None = None,
) -> views.Message:
    """The result of a flush that did not run.

    Says that nothing was flushed and why, names the environment and the URLs (a user may
    have several requests in their DMs) and the status of the last answer, advises by cause
    (naming `contact`, the support contact, wherever the user should ask someone), and folds
    the raw answer into a short "Details" line; names the approver, for a flush that needed
    approval. `result` is the last answer received; `unanswered_later` attempts after it got
    no response (the final one failing with `later_error`). Those, or `unconfirmed_earlier`
    (an earlier attempt got no answer from cache-flush itself), make "nothing was flushed"
    only as far as the app knows.
    """
    cause = failure_cause(result)
    uncertain = unconfirmed_earlier or unanswered_later > 0
    headline = _what_happened(result, cause, urls, unconfirmed_earlier, unanswered_later)
    blocks = [
        views.section(f":x: {headline}"),
        views.section(
            f"{_approved_line(approved_by)}*Environment:* {views.escape(environment)}\n"
            f"*URLs ({len(urls)}):*"
        ),
        *views.list_blocks(urls),
        views.section(_status(result, attempts, unanswered_later, later_error)),
        views.section(f"*What to do:* {failure_advice(result, urls, contact, uncertain)}"),
        _details(result),
    ]
    return views.message_of(FAILURE_TEXT, blocks)
