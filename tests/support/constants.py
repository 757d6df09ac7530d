"""Fixed test values, including the fake secrets tests check never reach the logs."""

from __future__ import annotations

from collections.abc import Mapping

from devhost.azurite import ACCOUNT_KEY
from devhost.simulate.slack_workspace import APP_ID, TEAM_DOMAIN, TEAM_ID
from devhost.standins.slack_requests import (
    CHANNEL_ID,
    CHANNEL_NAME,
    SLACK_SIGNING_SECRET,
    USER_ID,
    USER_NAME,
)

# The identities Slack's signed requests carry (defined with the request builders).
__all__ = [
    "APP_ID",
    "CHANNEL_ID",
    "CHANNEL_NAME",
    "SLACK_SIGNING_SECRET",
    "TEAM_DOMAIN",
    "TEAM_ID",
    "USER_ID",
    "USER_NAME",
]

SLACK_BOT_TOKEN = "xoxb-test-token-0123456789"
CACHE_FLUSH_KEY = "test-function-key-123"
DURABLE_SYSTEM_KEY = "test-durable-system-key-789"
SLACK_CHANNEL_NAME = "cache-flush-notices"
ALLOWED_USERS_BLOB = "allowed-users.csv"
ALLOWED_USERS_CACHE_SECONDS = "60"
CACHE_FLUSH_TIMEOUT_SECONDS = "5"
ORCHESTRATOR_NAME = "flush_orchestrator"

APPROVAL_CHANNEL_ID = "C0APPROVAL"
OTHER_USER_ID = "U0STRANGER"
OTHER_USER_NAME = "sam_smith"

SECRETS: Mapping[str, str] = {
    "SLACK_BOT_USER_OAUTH_ACCESS_TOKEN": SLACK_BOT_TOKEN,
    "SLACK_SIGNING_SECRET": SLACK_SIGNING_SECRET,
    "cache-flush function key": CACHE_FLUSH_KEY,
    "durable extension system key": DURABLE_SYSTEM_KEY,
    "storage account key": ACCOUNT_KEY,
}
