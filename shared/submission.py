"""Validation of the modal's submission: environment and URL rules (SPEC section 9)."""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

ENVIRONMENTS = ("production", "staging")
ENVIRONMENT_BLOCK = "environment"
ENVIRONMENT_ACTION = "environment_input"
URLS_BLOCK = "urls"
URLS_ACTION = "urls_input"
FORM_CALLBACK_ID = "cache_flush_request"

MAX_URL_LENGTH = 2048
LISTED_IN_ERROR = 3
LISTED_URL_CHARS = 60
HOST_NAME = re.compile(r"[a-z0-9](?:[a-z0-9.-]*[a-z0-9])?")


@dataclass(frozen=True)
class Submission:
    """A valid request: the environment and the cleaned, de-duplicated URLs in order."""

    environment: str
    urls: tuple[str, ...]


def clean_urls(text: str) -> list[str]:
    """Split on line breaks, trim, drop blank lines and duplicates, keep the order."""
    return list(dict.fromkeys(line.strip() for line in text.splitlines() if line.strip()))


def host_allowed(host: str, domains: Sequence[str], hosts: Sequence[str]) -> bool:
    """Whether a lower-cased host equals or ends on a label boundary with an allowed domain."""
    return host in hosts or any(host == d or host.endswith("." + d) for d in domains)


def url_allowed(url: str, domains: Sequence[str], hosts: Sequence[str]) -> bool:
    """Whether the URL is absolute http(s), without credentials, on an allowed host.

    The host is compared lower-cased and without its port (SPEC section 9).
    """
    if len(url) > MAX_URL_LENGTH or any(ch.isspace() or ord(ch) < 32 for ch in url):
        return False
    if "\\" in url:
        return False
    try:
        parts = urlsplit(url)
        parts.port  # noqa: B018 (raises ValueError for a malformed port)
    except ValueError:
        return False
    scheme = parts.scheme.lower()
    host = (parts.hostname or "").lower()
    return (
        scheme in ("http", "https")
        and "@" not in parts.netloc
        and HOST_NAME.fullmatch(host) is not None
        and ".." not in host
        and host_allowed(host, domains, hosts)
    )


def _shorten(url: str) -> str:
    return url if len(url) <= LISTED_URL_CHARS else url[: LISTED_URL_CHARS - 1] + "…"


def describe_rejected(urls: Sequence[str]) -> str:
    """Name the first few rejected URLs, then how many more, in a short line."""
    named = ", ".join(_shorten(url) for url in urls[:LISTED_IN_ERROR])
    more = len(urls) - LISTED_IN_ERROR
    return named + (f" and {more} more" if more > 0 else "")


def rules_summary(domains: Sequence[str], hosts: Sequence[str]) -> str:
    """One sentence stating the URL rules with the configured domains and hosts."""
    allowed = [f"{d} (or a subdomain)" for d in domains] + list(hosts)
    return (
        "One absolute http:// or https:// URL per line, on "
        + ", ".join(allowed)
        + ". For example https://www.nhs.uk/path/to/flush"
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
    urls = clean_urls(_urls_text(values))
    rejected = [url for url in urls if not url_allowed(url, domains, hosts)]
    if not urls:
        errors[URLS_BLOCK] = "Enter at least one URL, one per line."
    elif rejected:
        errors[URLS_BLOCK] = (
            f"Not allowed: {describe_rejected(rejected)}. "
            f"Use http(s) URLs on {', '.join((*domains, *hosts))}."
        )
    if errors or environment is None:
        return errors
    return Submission(environment=environment, urls=tuple(urls))
