"""Activity: one Slack Web API call, updating the modal or posting a message."""

from __future__ import annotations

from typing import Any

from shared.handoffs import Notification
from shared.notify import deliver
from shared.settings import load_settings


def main(request: dict[str, Any]) -> dict[str, Any]:
    """Deliver one `Notification`; a closed view is reported, other Slack errors raise."""
    return deliver(load_settings(), Notification.from_dict(request)).to_dict()
