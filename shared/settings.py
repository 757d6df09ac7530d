"""Validated configuration read from environment variables (SPEC section 3)."""

from __future__ import annotations

import logging
import os
from collections.abc import Mapping
from dataclasses import dataclass

logger = logging.getLogger(__name__)

AZURE_STORAGE_CONNECTION_STRING = "AZURE_STORAGE_CONNECTION_STRING"
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

REQUIRED = (
    AZURE_STORAGE_CONNECTION_STRING,
    CACHE_FLUSH_URL,
    SLACK_BOT_TOKEN,
    SLACK_SIGNING_SECRET,
)
OPTIONAL_DEFAULTS: Mapping[str, str | None] = {
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
}
ALL_VARIABLES = (*REQUIRED, *OPTIONAL_DEFAULTS)

_reported: set[str] = set()


class ConfigurationError(Exception):
    """The app's configuration is missing or invalid; the message names the variables."""


@dataclass(frozen=True)
class Settings:
    """Everything the app reads from its environment, parsed and checked."""

    storage_connection_string: str
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

    def __repr__(self) -> str:
        """Name the non-secret settings only, so a stray log of the object leaks nothing."""
        return (
            f"Settings(slack_api_url={self.slack_api_url!r}, "
            f"slack_channel={self.slack_channel!r}, "
            f"allowed_users={self.allowed_users_container}/{self.allowed_users_blob})"
        )


def _names(raw: str) -> tuple[str, ...]:
    return tuple(part.strip().lower() for part in raw.split(",") if part.strip())


def _positive_number(environ: Mapping[str, str], name: str, problems: list[str]) -> float:
    raw = _value(environ, name) or ""
    try:
        value = float(raw)
    except ValueError:
        value = float("nan")
    if not value > 0:
        problems.append(f"{name} must be a positive number")
        return 1.0
    return value


def _value(environ: Mapping[str, str], name: str) -> str | None:
    raw = environ.get(name, "").strip()
    if raw:
        return raw
    return OPTIONAL_DEFAULTS.get(name)


def load_settings(environ: Mapping[str, str] | None = None) -> Settings:
    """Read and validate the settings; raise ConfigurationError naming every problem.

    Each distinct problem is logged once per process, so a misconfigured app does not
    flood the log on every request.
    """
    env = os.environ if environ is None else environ
    problems = [f"{name} is not set" for name in REQUIRED if not env.get(name, "").strip()]
    cache_seconds = _positive_number(env, ALLOWED_USERS_CACHE_SECONDS, problems)
    timeout = _positive_number(env, CACHE_FLUSH_TIMEOUT_SECONDS, problems)
    retry_interval = _positive_number(env, CACHE_FLUSH_RETRY_INTERVAL_SECONDS, problems)
    domains = _names(_value(env, FLUSH_ALLOWED_DOMAINS) or "")
    if not domains:
        problems.append(f"{FLUSH_ALLOWED_DOMAINS} must name at least one domain")
    if problems:
        message = "The app is not configured correctly: " + "; ".join(problems)
        if message not in _reported:
            _reported.add(message)
            logger.error(message)
        raise ConfigurationError(message)
    api_url = _value(env, SLACK_API_URL) or ""
    return Settings(
        storage_connection_string=env[AZURE_STORAGE_CONNECTION_STRING].strip(),
        cache_flush_url=env[CACHE_FLUSH_URL].strip(),
        slack_bot_token=env[SLACK_BOT_TOKEN].strip(),
        slack_signing_secret=env[SLACK_SIGNING_SECRET].strip(),
        slack_channel=_value(env, SLACK_CHANNEL_NAME),
        slack_api_url=api_url if api_url.endswith("/") else api_url + "/",
        allowed_users_container=_value(env, ALLOWED_USERS_CONTAINER) or "",
        allowed_users_blob=_value(env, ALLOWED_USERS_BLOB) or "",
        allowed_users_cache_seconds=cache_seconds,
        flush_allowed_domains=domains,
        flush_allowed_hosts=_names(_value(env, FLUSH_ALLOWED_HOSTS) or ""),
        cache_flush_timeout_seconds=timeout,
        retry_interval_seconds=retry_interval,
        access_request_hint=_value(env, ACCESS_REQUEST_HINT) or "",
    )
