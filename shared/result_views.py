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
        status = f"*Status:* no response ({views.escape(result.error or 'unknown error')[:500]})"
    else:
        status = f"*Status:* not sent ({views.escape(result.error or 'unknown error')[:500]})"
    if attempts > 1:
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
) -> views.Message:
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
        views.section(f":x: {_what_happened(result, cause, urls, unconfirmed_earlier)}"),
        views.section(
            f"{_approved_line(approved_by)}*Environment:* {views.escape(environment)}\n"
            f"*URLs ({len(urls)}):*"
        ),
        *views.list_blocks(urls),
        views.section(_status(result, attempts)),
        views.section(
            f"*What to do:* {failure_advice(result, urls, contact, unconfirmed_earlier)}"
        ),
        _details(result),
    ]
    return views.message_of(FAILURE_TEXT, blocks)
