"""Activity: one Slack Web API call, updating the modal or posting a message."""

from __future__ import annotations

from shared.handoffs import ActivityPayload, Notification
from shared.notify import deliver
from shared.settings import load_settings


def main(request: ActivityPayload) -> ActivityPayload:
    """Deliver one `Notification`; a closed view is reported, other Slack errors raise."""
    return deliver(load_settings(), Notification.from_dict(request)).to_dict()
