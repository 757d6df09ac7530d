"""The links in a Slack message, for the "Flush links in this message" shortcut.

Slack writes a link in a message's mrkdwn `text` as `<url|label>` or `<url>` (a URL a person
types becomes `<https://…>`), and in `rich_text` blocks as `link` elements (in sections,
lists, quotes and preformatted text). Only http(s) links count; mentions such as `<@U…>` or
`<#C…>` and other schemes (`mailto:`) are not links to flush; nor is a section's
`accessory`. Each link is kept once, in the
order it first appears: the blocks first (a person's message has its words as rich text),
then the text, which usually repeats them.
"""

from __future__ import annotations

import html
import re
from collections.abc import Iterator, Mapping
from typing import Any

_MRKDWN_LINK = re.compile(r"<([^<>|\s]+)(?:\|[^<>]*)?>")
_SCHEMES = ("http://", "https://")
MAX_DEPTH = 8


def _is_web(url: str) -> bool:
    return url.lower().startswith(_SCHEMES)


def _text_links(text: str) -> Iterator[str]:
    for match in _MRKDWN_LINK.finditer(text):
        yield html.unescape(match.group(1))


def _rich_links(element: Any, depth: int = 0) -> Iterator[str]:
    """The `url` of every `link` element, depth first, in document order."""
    if depth > MAX_DEPTH:
        return
    if isinstance(element, Mapping):
        url = element.get("url")
        if element.get("type") == "link" and isinstance(url, str):
            yield url
        for key in ("elements", "blocks"):
            yield from _rich_links(element.get(key), depth + 1)
    elif isinstance(element, list):
        for item in element:
            yield from _rich_links(item, depth + 1)


def _block_links(block: Mapping[str, Any]) -> Iterator[str]:
    """Links of one block: rich text's link elements, or a section's mrkdwn text and fields."""
    if block.get("type") == "rich_text":
        yield from _rich_links(block.get("elements"))
        return
    texts = [block.get("text"), *(block.get("fields") or [])]
    for text in texts:
        if isinstance(text, Mapping) and text.get("type") == "mrkdwn":
            yield from _text_links(str(text.get("text", "")))


def links_in(message: Mapping[str, Any]) -> list[str]:
    """The message's http(s) links, de-duplicated, in order: its blocks first, then its text."""
    blocks = message.get("blocks")
    text = message.get("text")
    found: list[str] = []
    for block in blocks if isinstance(blocks, list) else []:
        if isinstance(block, Mapping):
            found.extend(_block_links(block))
    if isinstance(text, str):
        found.extend(_text_links(text))
    return list(dict.fromkeys(url.strip() for url in found if _is_web(url.strip())))
