"""Text as Slack sends it: its three escapes and its link tokens.

Slack treats `&`, `<` and `>` as control characters and always sends them escaped, as
`&amp;`, `&lt;` and `&gt;`, in a message's mrkdwn text and in a slash command's `text`
(the manifest's `should_escape: false` only stops Slack turning links, channels and users
into tokens). Only these three are undone, in one pass, so that `&amp;lt;` stays `&lt;` as
typed and an `&copy=` in a query string is never read as an HTML entity.
"""

from __future__ import annotations

import re

_ESCAPED = re.compile(r"&(amp|lt|gt);")
_CHARACTERS = {"amp": "&", "lt": "<", "gt": ">"}
# `<url>` or `<url|label>`; mentions (`<@U…>`, `<#C…|name>`) have the same shape.
LINK_TOKEN = re.compile(r"<([^<>|\s]+)(?:\|[^<>]*)?>")
_WEB = re.compile(r"https?://", re.IGNORECASE)


def unescape(text: str) -> str:
    """The text with Slack's three escapes undone, and nothing else changed."""
    return _ESCAPED.sub(lambda match: _CHARACTERS[match.group(1)], text)


def is_web(url: str) -> bool:
    """Whether a link target is an http or https address."""
    return _WEB.match(url) is not None


def typed_text(text: str) -> str:
    """What a person typed, from text as Slack sends it: web link tokens become their URL."""

    def target(match: re.Match[str]) -> str:
        url = match.group(1)
        return url if is_web(url) else match.group(0)

    return unescape(LINK_TOKEN.sub(target, text))
