"""Block Kit views and messages (doc/behaviour.md, "Views and messages").

Every function builds a fresh object, so concurrent requests never share state, and keeps
within Slack's limits: section text at most 3000 characters, at most 100 blocks in a
modal and 50 in a message. Text from users or from cache-flush is escaped for mrkdwn.
"""

from __future__ import annotations

import calendar
import re
from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from datetime import datetime

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
INITIAL_VALUE_LIMIT = 3000

VIEW_CLOSED_TEXT = "View must be open"
NOT_ALLOWED_TEXT = "User not allowed"
OPEN_FAILED_TEXT = "Cache flush could not start"
PROCESSING_ERROR_TEXT = "Cache flush hit an unexpected error"

# Who the user is told to ask when no support contact is configured.
NO_CONTACT = "the team that runs this app"
CONTACT_CHARS = 200
FLUSH_AGAIN_ACTION = "flush_again"
TIME_FALLBACK_FORMAT = "%Y-%m-%d %H:%M UTC"
_SLACK_REFERENCE = re.compile(r"<[#@!][^<>\s]*>")


@dataclass(frozen=True)
class SlackTime:
    """A moment as Slack shows it: Unix seconds, and a UTC text for clients that cannot."""

    epoch: int
    fallback: str

    @classmethod
    def at(cls, moment: datetime) -> SlackTime:
        """The moment (aware, or naive in UTC as the orchestration's clock is)."""
        return cls(calendar.timegm(moment.utctimetuple()), moment.strftime(TIME_FALLBACK_FORMAT))

    def mrkdwn(self) -> str:
        """Slack's date token: each reader sees the time in their own time zone."""
        return f"<!date^{self.epoch}^{{date_short_pretty}} at {{time}}|{self.fallback}>"


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


def fitting_urls(urls: Sequence[str]) -> list[str]:
    """The first URLs, whole, that fit the URLs field together (one per line).

    A URL cut short would be flushed as a different URL, so none is ever cut.
    """
    kept: list[str] = []
    size = 0
    for url in urls:
        size += len(url) + (1 if kept else 0)
        if size > INITIAL_VALUE_LIMIT:
            break
        kept.append(url)
    return kept


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


def contact_text(contact: str | None) -> str:
    """Who to ask, as mrkdwn: the configured support contact, or a neutral wording.

    A Slack reference (`<#C…|name>`, `<@U…>`, `<!subteam^…>`) is kept so that it links;
    any other text is escaped.
    """
    named = (contact or "").strip()[:CONTACT_CHARS]
    if not named:
        return NO_CONTACT
    return named if _SLACK_REFERENCE.fullmatch(named) else escape(named)


def view_closed_message() -> Message:
    """DM when the modal was closed before the request could continue."""
    text = (
        "The cache flush view was closed before your request could continue. Ignore this if "
        "you meant to close it; otherwise run `/flush` again and keep the view open until the "
        "form appears."
    )
    return message_of(VIEW_CLOSED_TEXT, [section(text)])


def open_failed_message(error: str, contact: str | None = None) -> Message:
    """DM when the first view could not be opened; names the support contact."""
    text = (
        f"The cache flush view could not be opened (Slack said `{escape(error)[:200]}`). "
        f"Please tell {contact_text(contact)}."
    )
    return message_of(OPEN_FAILED_TEXT, [section(text)])


def processing_error_message(error: str, contact: str | None = None) -> Message:
    """DM for an unexpected error after the modal opened; names the support contact."""
    text = (
        f"Your cache flush request hit an unexpected error (`{escape(error)[:200]}`). "
        f"Nothing was flushed. Please tell {contact_text(contact)}."
    )
    return message_of(PROCESSING_ERROR_TEXT, [section(text)])
