"""The app's settings for a local run: `make run`, the benchmarks and the tests that run devhost.

One place says which value each variable gets when the app runs next to the simulators, so the
demo, the benchmarks and the tests cannot drift apart. Every variable the app reads is set
(empty where the app's default applies), so a developer's `local.settings.json` or exported
variables never leak into a run.
"""

from __future__ import annotations

import os
import secrets
from collections.abc import Mapping
from dataclasses import dataclass

from devhost.simulate.demo_users import DEMO_USERGROUP
from shared import settings

# The channel the app posts successful flushes to (`SLACK_CHANNEL_NAME`) in a local run.
NOTICES_CHANNEL_NAME = "cache-flush-notices"
# The channel approval requests go to (`APPROVAL_CHANNEL`) in the demo.
APPROVALS_CHANNEL_NAME = "cache-flush-approvals"
# Who failure messages tell the user to ask (`SUPPORT_CONTACT`) in the demo.
DEMO_SUPPORT_CONTACT = "#web-team-support"
ALLOWED_USERS_BLOB = "allowed-users.csv"
# Fast retries (the production default is 5 s): configuration, not a code change.
LOCAL_RETRY_INTERVAL_SECONDS = "0.2"
LOOPBACK = "127.0.0.1,localhost"


@dataclass(frozen=True)
class LocalSecrets:
    """The secrets the app and the simulators share: a bot token, a signing secret, a key."""

    bot_token: str
    signing_secret: str
    function_key: str

    @classmethod
    def generate(cls, label: str = "sim") -> LocalSecrets:
        """Fresh random secrets (never printed); `label` shows in the bot token."""
        return cls(
            bot_token=f"xoxb-{label}-" + secrets.token_hex(16),
            signing_secret=secrets.token_hex(16),
            function_key=secrets.token_hex(20),
        )

    @classmethod
    def recognisable(cls, label: str) -> LocalSecrets:
        """Fixed secrets naming `label`, for tests that look for leaks in what they saw."""
        return cls(
            bot_token=f"xoxb-{label}-secret-bot-token",
            signing_secret=f"{label}-secret-signing-key",
            function_key=f"{label}-secret-function-key",
        )

    def values(self) -> tuple[str, str, str]:
        """The three secrets, e.g. to look for them in logs."""
        return (self.bot_token, self.signing_secret, self.function_key)


def simulator_settings(base_url: str, local_secrets: LocalSecrets) -> dict[str, str]:
    """The Slack and cache-flush settings that point the app at the simulators at `base_url`."""
    base = base_url.rstrip("/")
    return {
        settings.SLACK_API_URL: f"{base}/sim/slack/api/",
        settings.SLACK_BOT_TOKEN: local_secrets.bot_token,
        settings.SLACK_SIGNING_SECRET: local_secrets.signing_secret,
        settings.CACHE_FLUSH_URL: f"{base}/sim/cache-flush?code={local_secrets.function_key}",
    }


def local_app_settings(
    storage_connection_string: str,
    *,
    container: str | None = None,
    base_url: str | None = None,
    local_secrets: LocalSecrets | None = None,
    overrides: Mapping[str, str] | None = None,
) -> dict[str, str]:
    """Every variable the app reads, for the app running next to the simulators.

    Storage is `storage_connection_string` (`container` holds the allowed-users list;
    default: the app's). With `base_url` and `local_secrets`, Slack and cache-flush point at
    the simulators there; without, they stay empty and `devhost --simulate` fills them with
    generated values for whatever port it gets. `overrides` (by variable name) come last.
    """
    values = dict.fromkeys(settings.ALL_VARIABLES, "")
    values |= {
        settings.AZURE_STORAGE_CONNECTION_STRING: storage_connection_string,
        settings.ALLOWED_USERS_BLOB: ALLOWED_USERS_BLOB,
        settings.SLACK_CHANNEL_NAME: NOTICES_CHANNEL_NAME,
        settings.CACHE_FLUSH_RETRY_INTERVAL_SECONDS: LOCAL_RETRY_INTERVAL_SECONDS,
    }
    if container is not None:
        values[settings.ALLOWED_USERS_CONTAINER] = container
    if base_url is not None and local_secrets is not None:
        values |= simulator_settings(base_url, local_secrets)
    return values | dict(overrides or {})


def demo_settings(storage_connection_string: str) -> dict[str, str]:
    """`make run`'s settings: production approvals, the demo user group, a support contact."""
    return local_app_settings(
        storage_connection_string,
        overrides={
            settings.APPROVAL_REQUIRED_ENVIRONMENTS: "production",
            settings.APPROVAL_CHANNEL: APPROVALS_CHANNEL_NAME,
            settings.ALLOWED_USERGROUPS: DEMO_USERGROUP,
            settings.SUPPORT_CONTACT: DEMO_SUPPORT_CONTACT,
        },
    )


def child_environment(app_settings: Mapping[str, str]) -> dict[str, str]:
    """Return this environment with exactly `app_settings` for the app, for a child process.

    Every variable the app reads is replaced (set empty when `app_settings` leaves it out);
    loopback traffic bypasses any proxy set in the environment.
    """
    env = {k: v for k, v in os.environ.items() if k not in settings.ALL_VARIABLES}
    env |= dict.fromkeys(settings.ALL_VARIABLES, "") | dict(app_settings)
    env |= {"NO_PROXY": LOOPBACK, "no_proxy": LOOPBACK}
    return env
