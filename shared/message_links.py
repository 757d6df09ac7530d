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

from collections.abc import Iterator, Mapping
from typing import Any

from shared.slack_text import LINK_TOKEN, is_web, unescape

MAX_DEPTH = 8


def _text_links(text: str) -> Iterator[str]:
    for match in LINK_TOKEN.finditer(text):
        yield unescape(match.group(1))


def _rich_links(elements: Any, depth: int = 0) -> Iterator[str]:
    """The `url` of every `link` element in a list of rich text elements, depth first.

    Anything but a list counts as no elements, and an element that is not an object is
    skipped: a message of another shape gives the links it has, never an error.
    """
    if depth > MAX_DEPTH or not isinstance(elements, list):
        return
    for element in elements:
        if not isinstance(element, Mapping):
            continue
        url = element.get("url")
        if element.get("type") == "link" and isinstance(url, str):
            yield url
        for key in ("elements", "blocks"):
            yield from _rich_links(element.get(key), depth + 1)


def _block_links(block: Mapping[str, Any]) -> Iterator[str]:
    """Links of one block: rich text's link elements, or a section's mrkdwn text and fields."""
    if block.get("type") == "rich_text":
        yield from _rich_links(block.get("elements"))
        return
    fields = block.get("fields")
    for text in [block.get("text"), *(fields if isinstance(fields, list) else [])]:
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
    return list(dict.fromkeys(url.strip() for url in found if is_web(url.strip())))
