"""Activity: one Slack Web API call, updating the modal or posting a message."""

from __future__ import annotations

from typing import Any

from shared.notify import notify
from shared.settings import load_settings


def main(request: dict[str, Any]) -> dict[str, Any]:
    """Deliver one notification; a closed view is reported, other Slack errors raise."""
    return notify(load_settings(), request)
