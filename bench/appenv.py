"""The app's settings for a benchmark run, the allowed-users list, and the machine's description."""

from __future__ import annotations

import os
import platform
import secrets
import sys
from pathlib import Path
from typing import Any

REPO_ROOT = Path(__file__).resolve().parents[1]
CONTAINER = "bench-allowed-users"
BLOB = "allowed-users.csv"
FLUSH_URL = "https://www.nhs.uk/conditions/"
# Member IDs of the simulated users; every one of them is on the allowed-users list.
MAX_USERS = 100
FILLER_USERS = 400
LOOPBACK = "127.0.0.1,localhost"


def user_id(index: int) -> str:
    """The member ID of simulated user ``index``."""
    return f"U0BENCH{index:03d}"


def allowed_users_csv() -> str:
    """A realistic hand-kept list: a header, the simulated users, and other staff."""
    rows = ["member_id,name"]
    rows += [f"{user_id(i)},bench_user_{i}" for i in range(MAX_USERS)]
    rows += [f"W0STAFF{i:04d},staff_member_{i}" for i in range(FILLER_USERS)]
    return "\n".join(rows) + "\n"


class Secrets:
    """Throwaway credentials for one run (never printed)."""

    def __init__(self) -> None:
        """Generate a signing secret, a bot token and a cache-flush key."""
        self.signing_secret = secrets.token_hex(16)
        self.bot_token = "xoxb-bench-" + secrets.token_hex(12)
        self.flush_key = secrets.token_hex(20)


def app_settings(
    run_secrets: Secrets,
    storage_connection_string: str,
    *,
    slack_api_url: str | None = None,
    cache_flush_url: str | None = None,
) -> dict[str, str]:
    """The environment variables the app reads (SPEC section 3) for a benchmark.

    Slack and cache-flush URLs left out stay unset, so devhost --simulate points them at its
    simulators.
    """
    settings = {
        "AZURE_STORAGE_CONNECTION_STRING": storage_connection_string,
        "SLACK_SIGNING_SECRET": run_secrets.signing_secret,
        "SLACK_BOT_USER_OAUTH_ACCESS_TOKEN": run_secrets.bot_token,
        "SLACK_CHANNEL_NAME": "cache-flush-notices",
        "ALLOWED_USERS_CONTAINER": CONTAINER,
        "ALLOWED_USERS_BLOB": BLOB,
        "CACHE_FLUSH_RETRY_INTERVAL_SECONDS": "0.1",
        "NO_PROXY": LOOPBACK,
        "no_proxy": LOOPBACK,
    }
    if slack_api_url is not None:
        settings["SLACK_API_URL"] = slack_api_url
    if cache_flush_url is not None:
        settings["CACHE_FLUSH_FUNCTION_APP_FULL_URL_WITH_PATH_AND_CODE"] = cache_flush_url
    return settings


def child_environment(settings: dict[str, str]) -> dict[str, str]:
    """This process's environment with the app's settings, for a child process.

    Settings a developer may have exported for the app are dropped first, so the child sees
    exactly the benchmark's values.
    """
    app_names = (
        "SLACK_",
        "AZURE_STORAGE_",
        "CACHE_FLUSH_",
        "ALLOWED_USERS_",
        "FLUSH_ALLOWED_",
        "ACCESS_REQUEST_HINT",
    )
    env = {k: v for k, v in os.environ.items() if not k.startswith(app_names)}
    env.update(settings)
    # The children import the repository's modules; bytecode caches are written and used as
    # on a developer's machine, whatever this shell says.
    for name in ("PYTHONPATH", "PYTHONDONTWRITEBYTECODE", "PYTHONPYCACHEPREFIX"):
        env.pop(name, None)
    return env


def _cpu_model() -> str:
    try:
        with open("/proc/cpuinfo", encoding="utf-8") as cpuinfo:
            for line in cpuinfo:
                if line.startswith("model name"):
                    return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or "unknown"


def machine() -> dict[str, Any]:
    """What the figures were measured on."""
    return {
        "cpus": os.cpu_count(),
        "cpu_model": _cpu_model(),
        "python": platform.python_version(),
        "implementation": sys.implementation.name,
        "system": f"{platform.system()} {platform.release()}",
    }
