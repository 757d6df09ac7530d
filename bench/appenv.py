"""The app's settings for a benchmark run, the allowed-users list, and the machine's description."""

from __future__ import annotations

import os
import platform
import sys
from pathlib import Path
from typing import Any

from devhost.simulate import settings as local
from devhost.simulate.settings import LocalSecrets
from shared import settings

REPO_ROOT = Path(__file__).resolve().parents[1]
CONTAINER = "bench-allowed-users"
BLOB = local.ALLOWED_USERS_BLOB
FLUSH_URL = "https://www.nhs.uk/conditions/"
# Member IDs of the simulated users; every one of them is on the allowed-users list.
MAX_USERS = 100
FILLER_USERS = 400
LOOPBACK = local.LOOPBACK


def user_id(index: int) -> str:
    """The member ID of simulated user ``index``."""
    return f"U0BENCH{index:03d}"


def allowed_users_csv() -> str:
    """A realistic hand-kept list: a header, the simulated users, and other staff."""
    rows = ["member_id,name"]
    rows += [f"{user_id(i)},bench_user_{i}" for i in range(MAX_USERS)]
    rows += [f"W0STAFF{i:04d},staff_member_{i}" for i in range(FILLER_USERS)]
    return "\n".join(rows) + "\n"


def new_secrets() -> LocalSecrets:
    """Throwaway credentials for one run (never printed)."""
    return LocalSecrets.generate("bench")


def app_settings(
    run_secrets: LocalSecrets,
    storage_connection_string: str,
    *,
    slack_api_url: str | None = None,
    cache_flush_url: str | None = None,
) -> dict[str, str]:
    """Every variable the app reads, for a benchmark (see ``devhost.simulate.settings``).

    Slack and cache-flush URLs left out stay empty, so devhost --simulate points them at its
    simulators.
    """
    values = local.local_app_settings(
        storage_connection_string,
        container=CONTAINER,
        overrides={
            settings.SLACK_BOT_TOKEN: run_secrets.bot_token,
            settings.SLACK_SIGNING_SECRET: run_secrets.signing_secret,
            settings.CACHE_FLUSH_RETRY_INTERVAL_SECONDS: "0.1",
        },
    )
    if slack_api_url is not None:
        values[settings.SLACK_API_URL] = slack_api_url
    if cache_flush_url is not None:
        values[settings.CACHE_FLUSH_URL] = cache_flush_url
    return values


def child_environment(app_settings: dict[str, str]) -> dict[str, str]:
    """This process's environment with exactly the app's settings, for a child process."""
    env = local.child_environment(app_settings)
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
