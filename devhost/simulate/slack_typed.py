"""What Slack stores when a person types a message: mrkdwn `text` and a `rich_text` block.

The Slack client turns what was typed into both forms: web addresses become links (a full
`https://…` address as `<https://…>`, a bare `www.…` one as `<http://www.…|www.…>`), and `&`,
`<` and `>` are escaped in the mrkdwn text, as Slack does. Trailing punctuation (a full stop
ending the sentence, a closing bracket) stays outside the link.
"""

from __future__ import annotations

import re
from typing import Any

_ADDRESS = re.compile(r"(?<![\w/@.])(?:https?://|www\.)[^\s<>]+", re.IGNORECASE)
_TRAILING = ".,;:!?'\")]}"


def escape(text: str) -> str:
    """Escape `&`, `<` and `>` as Slack does in the text it sends."""
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def _split(typed: str) -> list[tuple[str, str | None]]:
    """Split typed text into (text, None) runs and (label, url) links, in order."""
    parts: list[tuple[str, str | None]] = []
    last = 0
    for match in _ADDRESS.finditer(typed):
        label = match.group(0)
        while label and label[-1] in _TRAILING:
            # A closing bracket that belongs to the address (it opened one) stays in it.
            if label[-1] == ")" and label.count("(") >= label.count(")"):
                break
            label = label[:-1]
        if not label or label.lower() in ("http://", "https://", "www."):
            continue
        start, end = match.start(), match.start() + len(label)
        if start > last:
            parts.append((typed[last:start], None))
        url = label if label.lower().startswith(("http://", "https://")) else "http://" + label
        parts.append((label, url))
        last = end
    if last < len(typed):
        parts.append((typed[last:], None))
    return parts


def typed_message(typed: str) -> tuple[str, list[dict[str, Any]]]:
    """Return the mrkdwn `text` and the `blocks` Slack stores for a message a person typed."""
    text: list[str] = []
    elements: list[dict[str, Any]] = []
    for label, url in _split(typed):
        if url is None:
            text.append(escape(label))
            elements.append({"type": "text", "text": label})
        elif url == label:
            text.append(f"<{escape(url)}>")
            elements.append({"type": "link", "url": url})
        else:
            text.append(f"<{escape(url)}|{escape(label)}>")
            elements.append({"type": "link", "url": url, "text": label})
    block = {
        "type": "rich_text",
        "elements": [{"type": "rich_text_section", "elements": elements}],
    }
    return "".join(text), [block]
