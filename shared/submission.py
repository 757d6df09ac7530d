"""Validation of the modal's submission: environment and URL rules (doc/behaviour.md).

URLs are parsed as the cache-flush service parses them, with a WHATWG URL parser (ada, the
parser inside Node.js; doc/adr/0008-parse-urls-with-ada-url.md), so that every URL the form
accepts is one cache-flush accepts. What the Submission carries is the parser's normalised
URL (IDNA host, percent-encoded path and query): that is what is sent, shown and logged.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from enum import Enum
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from ada_url import URL

ENVIRONMENTS = ("production", "staging")
ENVIRONMENT_BLOCK = "environment"
ENVIRONMENT_ACTION = "environment_input"
URLS_BLOCK = "urls"
URLS_ACTION = "urls_input"
FORM_CALLBACK_ID = "cache_flush_request"

SCHEMES = ("http:", "https:")
MAX_URL_LENGTH = 2048
LISTED_IN_ERROR = 3
LISTED_URL_CHARS = 60
MAX_ERROR_CHARS = 300
# Trimmed from both ends of each URL: the invisible characters that copying from a page or
# a document leaves behind (BOM, zero-width space and joiners). White space separates URLs.
INVISIBLE = "\ufeff\u200b\u200c\u200d"
_SCHEME = re.compile(r"[A-Za-z][A-Za-z0-9+.-]*:")
_URL_START = re.compile(r"https?://", re.IGNORECASE)
_ANY_URL_START = re.compile(r"[A-Za-z][A-Za-z0-9+.-]*://")
# Dotted labels of letters, digits and hyphens ending in a label of two letters or more.
_HOST_NAME = re.compile(r"(?:[^\W_][\w-]*\.)+[^\W\d_]{2,}")
_UNPRINTABLE = frozenset({"Cc", "Cf", "Co", "Cs", "Cn", "Zl", "Zp"})


class Problem(Enum):
    """Why a URL is refused, in the order the advice is given."""

    RUN_TOGETHER = "two URLs run together; put a space or a new line between them"
    WRAPPED = "remove the characters around the address"
    NOT_A_URL = "is not a URL"
    NO_SCHEME = "add https:// at the start"
    SCHEME = "use https:// or http://"
    UNPARSEABLE = "not a valid URL; check it for typos"
    NOT_ALLOWED = ""
    TRAILING_DOT = "remove the dot at the end of the host name"
    PORT = "remove the port (the :number after the host name)"
    CREDENTIALS = "remove the user name and password"
    TOO_LONG = f"too long (over {MAX_URL_LENGTH} characters)"


@dataclass(frozen=True)
class Submission:
    """A valid request: the environment and the normalised, de-duplicated URLs in order."""

    environment: str
    urls: tuple[str, ...]


def split_urls(text: str) -> list[str]:
    """The URLs in text as people paste it, in order, each once.

    Any white space separates URLs (new lines, spaces, tabs, no-break and other Unicode
    spaces); trailing commas and invisible characters around each piece are dropped, then
    empty pieces and repeats. Every way into the form splits its text with this function.
    """
    pieces = (piece.lstrip(INVISIBLE).rstrip(INVISIBLE + ",") for piece in text.split())
    return list(dict.fromkeys(piece for piece in pieces if piece))


def runs_together(text: str) -> bool:
    """Whether a piece is two URLs run together, never to be sent as one.

    It is when a second `http://` or `https://` follows something that is itself the start
    of a URL: a scheme and `//` (`https://a.nhs.uk/https://b.nhs.uk/`) or a dotted host name
    whose last label has two letters or more (`www.nhs.uk/ahttps://…`). Punctuation, words or
    invisible characters in front (`"https://…"`, `•https://…`, `e.g.https://…`) are not a
    URL: such a piece is simply not one.
    """
    before = text[: max((match.start() for match in _URL_START.finditer(text)), default=0)]
    return _ANY_URL_START.search(before) is not None or _HOST_NAME.search(before) is not None


def host_allowed(host: str, domains: Sequence[str], hosts: Sequence[str]) -> bool:
    """Whether a lower-cased host equals or ends on a label boundary with an allowed domain."""
    return host in hosts or any(host == d or host.endswith("." + d) for d in domains)


def _parsed(text: str) -> URL | None:
    """The WHATWG parser's http(s) URL for text, or None when it is not one."""
    # The slash-command path imports this module for the form's hint, and must open the
    # modal without loading the parser first.
    from ada_url import URL  # noqa: PLC0415 - loaded when validating, not at import

    try:
        url = URL(text)
    except (ValueError, UnicodeError):
        return None
    return url if url.protocol in SCHEMES else None


def _problem_of(url: URL, domains: Sequence[str], hosts: Sequence[str]) -> Problem | None:
    """Why a parsed http(s) URL is refused, or None when cache-flush accepts it."""
    hostname = url.hostname
    if not host_allowed(hostname.removesuffix("."), domains, hosts):
        return Problem.NOT_ALLOWED
    if hostname.endswith("."):
        return Problem.TRAILING_DOT
    if url.port:
        return Problem.PORT
    if url.username or url.password:
        return Problem.CREDENTIALS
    if len(url.href) > MAX_URL_LENGTH:
        return Problem.TOO_LONG
    return None


def normalise_url(text: str, domains: Sequence[str], hosts: Sequence[str]) -> str | Problem:
    """Return the URL as the WHATWG parser normalises it, or why it is refused."""
    url = _parsed(text)
    if url is None:
        return _unparsed_problem(text, domains, hosts)
    problem = _problem_of(url, domains, hosts)
    return url.href if problem is None else problem


def _unparsed_problem(text: str, domains: Sequence[str], hosts: Sequence[str]) -> Problem:
    """Why a piece that is not an http(s) URL is refused.

    "add https://" only when `https://` and the piece make a URL on an allowed host with no
    user name; a piece with an http(s) address after other characters is told to remove
    them; "use https:// or http://" only for another scheme followed by `//`; anything else
    (words, `Note:`, `tel:…`, `e.g.`) is not a URL.
    """
    scheme = _SCHEME.match(text)
    if scheme is not None and scheme.group().lower() in SCHEMES:
        return Problem.UNPARSEABLE
    if _URL_START.search(text, 1):
        return Problem.WRAPPED
    if _ANY_URL_START.match(text):
        return Problem.SCHEME
    prefixed = _parsed("https://" + text)
    if prefixed is not None and _problem_of(prefixed, domains, hosts) not in (
        Problem.NOT_ALLOWED,
        Problem.CREDENTIALS,
    ):
        return Problem.NO_SCHEME
    return Problem.NOT_A_URL


def either(items: Sequence[str]) -> str:
    """Join items as a natural-language choice: "a", "a or b", "a, b or c"."""
    if len(items) <= 1:
        return "".join(items)
    return ", ".join(items[:-1]) + " or " + items[-1]


def _shown(url: str) -> str:
    """The URL as typed, shortened, with invisible and control characters made visible."""
    short = url if len(url) <= LISTED_URL_CHARS else url[: LISTED_URL_CHARS - 1] + "…"
    return "".join(
        (f"\\u{ord(ch):04x}" if ord(ch) <= 0xFFFF else f"\\U{ord(ch):08x}")
        if unicodedata.category(ch) in _UNPRINTABLE
        else ch
        for ch in short
    )


def describe_rejected(urls: Sequence[str]) -> str:
    """Name the first few rejected URLs, then how many more, in a short line."""
    named = ", ".join(_shown(url) for url in urls[:LISTED_IN_ERROR])
    more = len(urls) - LISTED_IN_ERROR
    return named + (f" and {more} more" if more > 0 else "")


def _allowed_places(domains: Sequence[str], hosts: Sequence[str]) -> str:
    return either([*domains, *(host for host in hosts if host not in domains)])


def _advice(problem: Problem, urls: Sequence[str], allowed: str) -> str:
    if problem is Problem.NOT_ALLOWED:
        return f"Not allowed: {describe_rejected(urls)}. Use URLs on {allowed}."
    named = describe_rejected(urls)
    if problem is Problem.NOT_A_URL:
        return f"{named} is not a URL." if len(urls) == 1 else f"These are not URLs: {named}."
    if problem is Problem.WRAPPED:
        if len(urls) == 1:
            return f"{named} is not a URL; {problem.value}."
        return f"These are not URLs: {named}; remove the characters around each address."
    # A name that ends with a colon already reads as a label: no second colon.
    return f"{named}{'' if named.endswith(':') else ':'} {problem.value}."


def describe_problems(
    refused: Sequence[tuple[str, Problem]], domains: Sequence[str], hosts: Sequence[str]
) -> str:
    """A short list, one line per problem, naming the refused URLs and what to fix."""
    by_problem: dict[Problem, list[str]] = {}
    for url, problem in refused:
        by_problem.setdefault(problem, []).append(url)
    allowed = _allowed_places(domains, hosts)
    sentences: list[str] = []
    left = len(refused)
    for problem, urls in by_problem.items():
        sentence = _advice(problem, urls, allowed)
        if sentences and len("\n".join([*sentences, sentence])) > MAX_ERROR_CHARS - 40:
            break
        sentences.append(sentence)
        left -= len(urls)
    if left:
        sentences.append(f"{left} more {'URL needs' if left == 1 else 'URLs need'} fixing.")
    message = "\n".join(sentences)
    return message if len(message) <= MAX_ERROR_CHARS else message[: MAX_ERROR_CHARS - 1] + "…"


def rules_summary(domains: Sequence[str], hosts: Sequence[str]) -> str:
    """The URL rules with the configured domains and hosts, and an example (the form's hint)."""
    places = []
    if domains:
        places.append(
            f"on {either(domains)} or a subdomain of {'it' if len(domains) == 1 else 'them'}"
        )
    if hosts:
        places.append(f"on {either(hosts)}")
    example = f"https://www.{domains[0]}" if domains else f"https://{hosts[0]}" if hosts else ""
    return (
        f"One URL per line (or separated by spaces), starting with https:// or http://, "
        f"{', or '.join(places)}. "
        f"No port, no user name. For example {example}/path/to/flush"
    )


def _selected_environment(values: Mapping[str, Any]) -> str | None:
    block = values.get(ENVIRONMENT_BLOCK)
    action = block.get(ENVIRONMENT_ACTION) if isinstance(block, Mapping) else None
    option = action.get("selected_option") if isinstance(action, Mapping) else None
    value = option.get("value") if isinstance(option, Mapping) else None
    return value if isinstance(value, str) else None


def _urls_text(values: Mapping[str, Any]) -> str:
    block = values.get(URLS_BLOCK)
    action = block.get(URLS_ACTION) if isinstance(block, Mapping) else None
    value = action.get("value") if isinstance(action, Mapping) else None
    return value if isinstance(value, str) else ""


def validate_submission(
    values: Mapping[str, Any], domains: Sequence[str], hosts: Sequence[str]
) -> Submission | dict[str, str]:
    """Return the Submission, or the inline errors keyed by block ID."""
    errors: dict[str, str] = {}
    environment = _selected_environment(values)
    if environment not in ENVIRONMENTS:
        errors[ENVIRONMENT_BLOCK] = "Pick production or staging."
    normalised: list[str] = []
    refused: list[tuple[str, Problem]] = []
    texts = split_urls(_urls_text(values))
    for text in texts:
        checked = (
            Problem.RUN_TOGETHER if runs_together(text) else normalise_url(text, domains, hosts)
        )
        if isinstance(checked, Problem):
            refused.append((text, checked))
        else:
            normalised.append(checked)
    if not texts:
        errors[URLS_BLOCK] = "Enter at least one URL, one per line."
    elif refused:
        errors[URLS_BLOCK] = describe_problems(refused, domains, hosts)
    if errors or environment is None:
        return errors
    return Submission(environment=environment, urls=tuple(dict.fromkeys(normalised)))
