"""Validated configuration read from environment variables (doc/behaviour.md, Configuration)."""

from __future__ import annotations

import ipaddress
import logging
import math
import os
import re
from collections.abc import Mapping
from dataclasses import dataclass
from urllib.parse import urlsplit

from shared.errors import AppError

logger = logging.getLogger(__name__)

AZURE_STORAGE_CONNECTION_STRING = "AZURE_STORAGE_CONNECTION_STRING"
ALLOWED_USERS_BLOB_ENDPOINT = "ALLOWED_USERS_BLOB_ENDPOINT"
CACHE_FLUSH_URL = "CACHE_FLUSH_FUNCTION_APP_FULL_URL_WITH_PATH_AND_CODE"
SLACK_BOT_TOKEN = "SLACK_BOT_USER_OAUTH_ACCESS_TOKEN"  # noqa: S105 (a variable name)
SLACK_SIGNING_SECRET = "SLACK_SIGNING_SECRET"  # noqa: S105 (a variable name)
SLACK_CHANNEL_NAME = "SLACK_CHANNEL_NAME"
SLACK_API_URL = "SLACK_API_URL"
ALLOWED_USERS_CONTAINER = "ALLOWED_USERS_CONTAINER"
ALLOWED_USERS_BLOB = "ALLOWED_USERS_BLOB"
ALLOWED_USERS_CACHE_SECONDS = "ALLOWED_USERS_CACHE_SECONDS"
FLUSH_ALLOWED_DOMAINS = "FLUSH_ALLOWED_DOMAINS"
FLUSH_ALLOWED_HOSTS = "FLUSH_ALLOWED_HOSTS"
CACHE_FLUSH_TIMEOUT_SECONDS = "CACHE_FLUSH_TIMEOUT_SECONDS"
CACHE_FLUSH_RETRY_INTERVAL_SECONDS = "CACHE_FLUSH_RETRY_INTERVAL_SECONDS"
ACCESS_REQUEST_HINT = "ACCESS_REQUEST_HINT"
APPROVAL_REQUIRED_ENVIRONMENTS = "APPROVAL_REQUIRED_ENVIRONMENTS"
APPROVAL_CHANNEL = "APPROVAL_CHANNEL"
APPROVAL_TIMEOUT_MINUTES = "APPROVAL_TIMEOUT_MINUTES"
ALLOWED_USERGROUPS = "ALLOWED_USERGROUPS"
APPROVER_USERGROUPS = "APPROVER_USERGROUPS"
SUPPORT_CONTACT = "SUPPORT_CONTACT"
HISTORY_RETENTION_DAYS = "HISTORY_RETENTION_DAYS"

REQUIRED = (
    AZURE_STORAGE_CONNECTION_STRING,
    CACHE_FLUSH_URL,
    SLACK_BOT_TOKEN,
    SLACK_SIGNING_SECRET,
)
OPTIONAL_DEFAULTS: Mapping[str, str | None] = {
    ALLOWED_USERS_BLOB_ENDPOINT: None,
    SLACK_CHANNEL_NAME: None,
    SLACK_API_URL: "https://slack.com/api/",
    ALLOWED_USERS_CONTAINER: "cache-flush-slack-app",
    ALLOWED_USERS_BLOB: "allowed-users.csv",
    ALLOWED_USERS_CACHE_SECONDS: "60",
    FLUSH_ALLOWED_DOMAINS: "nhs.uk",
    FLUSH_ALLOWED_HOSTS: "campaignresources.dhsc.gov.uk",
    CACHE_FLUSH_TIMEOUT_SECONDS: "30",
    CACHE_FLUSH_RETRY_INTERVAL_SECONDS: "5",
    ACCESS_REQUEST_HINT: (
        "To ask for access, post the request below in the team's support channel."
    ),
    APPROVAL_REQUIRED_ENVIRONMENTS: "",
    APPROVAL_CHANNEL: None,
    APPROVAL_TIMEOUT_MINUTES: "60",
    ALLOWED_USERGROUPS: "",
    APPROVER_USERGROUPS: "",
    SUPPORT_CONTACT: None,
    HISTORY_RETENTION_DAYS: "90",
}
ALL_VARIABLES = (*REQUIRED, *OPTIONAL_DEFAULTS)

ENVIRONMENTS = ("production", "staging")
USERGROUP_ID = re.compile(r"S[A-Z0-9]{2,}")

# Inclusive ranges of the numeric settings: (lowest, highest).
CACHE_SECONDS_RANGE = (0.0, 86_400.0)
TIMEOUT_SECONDS_RANGE = (0.1, 600.0)
RETRY_INTERVAL_SECONDS_RANGE = (0.001, 3_600.0)
APPROVAL_MINUTES_RANGE = (0.001, 10_080.0)
RETENTION_DAYS_RANGE = (1.0, 3_650.0)

_reported: set[str] = set()


class ConfigurationError(AppError):
    """The app's configuration is missing or invalid; the message names the variables."""


@dataclass(frozen=True)
class Settings:
    """Everything the app reads from its environment, parsed and checked.

    A dataclass, not a NamedTuple like the other records on the way to `views.open`: it holds
    the secrets, which a tuple would give away to anything that iterates or serialises it.
    """

    storage_connection_string: str | None
    allowed_users_blob_endpoint: str | None
    cache_flush_url: str
    slack_bot_token: str
    slack_signing_secret: str
    slack_channel: str | None
    slack_api_url: str
    allowed_users_container: str
    allowed_users_blob: str
    allowed_users_cache_seconds: float
    flush_allowed_domains: tuple[str, ...]
    flush_allowed_hosts: tuple[str, ...]
    cache_flush_timeout_seconds: float
    retry_interval_seconds: float
    access_request_hint: str
    approval_required_environments: tuple[str, ...] = ()
    approval_channel: str | None = None
    approval_timeout_minutes: float = 60.0
    allowed_usergroups: tuple[str, ...] = ()
    approver_usergroups: tuple[str, ...] = ()
    support_contact: str | None = None
    history_retention_days: float = 90.0

    def __repr__(self) -> str:
        """Name the non-secret settings only, so a stray log of the object leaks nothing."""
        return (
            f"Settings(slack_api_url={self.slack_api_url!r}, "
            f"slack_channel={self.slack_channel!r}, "
            f"allowed_users={self.allowed_users_container}/{self.allowed_users_blob})"
        )

    def approval_channel_for(self, environment: str) -> str | None:
        """Where a flush of this environment asks for approval; None if it needs none.

        `load_settings` refuses approvals turned on without a channel.
        """
        if environment not in self.approval_required_environments:
            return None
        return self.approval_channel


# One label of a host name as URLs carry it: ASCII, internationalised names in their xn-- form.
_HOST_LABEL = re.compile(r"[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?")


def _names(raw: str) -> tuple[str, ...]:
    return tuple(part.strip().lower() for part in raw.split(",") if part.strip())


def _is_host_name(entry: str) -> bool:
    """Whether a domain or host entry is a bare host name (no scheme, path, port or stray dot)."""
    return all(_HOST_LABEL.fullmatch(label) for label in entry.split("."))


def _ids(raw: str) -> tuple[str, ...]:
    return tuple(dict.fromkeys(part.strip() for part in raw.split(",") if part.strip()))


def _value(environ: Mapping[str, str], name: str) -> str | None:
    raw = environ.get(name, "").strip()
    if raw:
        return raw
    return OPTIONAL_DEFAULTS.get(name)


def _number(
    environ: Mapping[str, str], name: str, bounds: tuple[float, float], problems: list[str]
) -> float:
    """A finite number within `bounds` (inclusive), or a problem naming the variable."""
    low, high = bounds
    raw = _value(environ, name) or ""
    try:
        value = float(raw)
    except ValueError:
        value = math.nan
    if not (math.isfinite(value) and low <= value <= high):
        problems.append(f"{name} must be a number from {low:g} to {high:g}")
        return low
    return value


def is_local_host(host: str) -> bool:
    """Whether a URL host is this machine, where plain http is acceptable.

    That is `localhost` or a loopback address (127.0.0.0/8, ::1).
    """
    name = host.lower().strip("[]")
    if name == "localhost":
        return True
    try:
        return ipaddress.ip_address(name).is_loopback
    except ValueError:
        return False


def _check_https(environ: Mapping[str, str], name: str, problems: list[str]) -> str:
    """The URL setting, which must be https unless it points at this machine."""
    url = _value(environ, name) or ""
    try:
        parts = urlsplit(url)
        host = parts.hostname or ""
    except ValueError:
        parts, host = urlsplit(""), ""
    if not host:
        problems.append(f"{name} must be an absolute URL")
    elif parts.scheme.lower() != "https" and not (
        parts.scheme.lower() == "http" and is_local_host(host)
    ):
        problems.append(f"{name} must use https (plain http only for localhost or loopback)")
    return url


def _usergroups(environ: Mapping[str, str], name: str, problems: list[str]) -> tuple[str, ...]:
    groups = _ids(_value(environ, name) or "")
    if any(USERGROUP_ID.fullmatch(group) is None for group in groups):
        problems.append(f"{name} must list Slack user group IDs (S…), separated by commas")
    return groups


def load_settings(environ: Mapping[str, str] | None = None) -> Settings:
    """Read and validate the settings; raise ConfigurationError naming every problem.

    Each distinct problem is logged once per process, so a misconfigured app does not
    flood the log on every request.
    """
    env = os.environ if environ is None else environ
    endpoint = _value(env, ALLOWED_USERS_BLOB_ENDPOINT)
    required = [n for n in REQUIRED if not (n == AZURE_STORAGE_CONNECTION_STRING and endpoint)]
    problems = [f"{name} is not set" for name in required if not env.get(name, "").strip()]
    cache_seconds = _number(env, ALLOWED_USERS_CACHE_SECONDS, CACHE_SECONDS_RANGE, problems)
    timeout = _number(env, CACHE_FLUSH_TIMEOUT_SECONDS, TIMEOUT_SECONDS_RANGE, problems)
    retry_interval = _number(
        env, CACHE_FLUSH_RETRY_INTERVAL_SECONDS, RETRY_INTERVAL_SECONDS_RANGE, problems
    )
    approval_minutes = _number(env, APPROVAL_TIMEOUT_MINUTES, APPROVAL_MINUTES_RANGE, problems)
    retention_days = _number(env, HISTORY_RETENTION_DAYS, RETENTION_DAYS_RANGE, problems)
    domains = _names(_value(env, FLUSH_ALLOWED_DOMAINS) or "")
    if not domains:
        problems.append(f"{FLUSH_ALLOWED_DOMAINS} must name at least one domain")
    hosts = _names(_value(env, FLUSH_ALLOWED_HOSTS) or "")
    for name, listed in ((FLUSH_ALLOWED_DOMAINS, domains), (FLUSH_ALLOWED_HOSTS, hosts)):
        problems += [
            f"{name} lists {entry!r}, which is not a host name"
            for entry in listed
            if not _is_host_name(entry)
        ]
    if env.get(CACHE_FLUSH_URL, "").strip():
        _check_https(env, CACHE_FLUSH_URL, problems)
    api_url = _check_https(env, SLACK_API_URL, problems)
    if endpoint:
        _check_https(env, ALLOWED_USERS_BLOB_ENDPOINT, problems)
    approval_environments = _names(_value(env, APPROVAL_REQUIRED_ENVIRONMENTS) or "")
    if any(name not in ENVIRONMENTS for name in approval_environments):
        problems.append(
            f"{APPROVAL_REQUIRED_ENVIRONMENTS} may list only {' and '.join(ENVIRONMENTS)}"
        )
    approval_channel = _value(env, APPROVAL_CHANNEL)
    if approval_environments and not approval_channel:
        problems.append(
            f"{APPROVAL_CHANNEL} is not set, but {APPROVAL_REQUIRED_ENVIRONMENTS} turns "
            "approvals on"
        )
    allowed_groups = _usergroups(env, ALLOWED_USERGROUPS, problems)
    approver_groups = _usergroups(env, APPROVER_USERGROUPS, problems)
    if problems:
        message = "The app is not configured correctly: " + "; ".join(problems)
        if message not in _reported:
            _reported.add(message)
            logger.error(message)
        raise ConfigurationError(message)
    return Settings(
        storage_connection_string=_value(env, AZURE_STORAGE_CONNECTION_STRING),
        allowed_users_blob_endpoint=endpoint,
        cache_flush_url=env[CACHE_FLUSH_URL].strip(),
        slack_bot_token=env[SLACK_BOT_TOKEN].strip(),
        slack_signing_secret=env[SLACK_SIGNING_SECRET].strip(),
        slack_channel=_value(env, SLACK_CHANNEL_NAME),
        slack_api_url=api_url if api_url.endswith("/") else api_url + "/",
        allowed_users_container=_value(env, ALLOWED_USERS_CONTAINER) or "",
        allowed_users_blob=_value(env, ALLOWED_USERS_BLOB) or "",
        allowed_users_cache_seconds=cache_seconds,
        flush_allowed_domains=domains,
        flush_allowed_hosts=hosts,
        cache_flush_timeout_seconds=timeout,
        retry_interval_seconds=retry_interval,
        access_request_hint=_value(env, ACCESS_REQUEST_HINT) or "",
        approval_required_environments=approval_environments,
        approval_channel=approval_channel,
        approval_timeout_minutes=approval_minutes,
        allowed_usergroups=allowed_groups,
        approver_usergroups=approver_groups,
        support_contact=_value(env, SUPPORT_CONTACT),
        history_retention_days=retention_days,
    )
