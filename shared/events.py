"""Events API deliveries (`/api/slack-events`): the URL check and the Home tab being opened.

Slack sends `url_verification` once, when the Request URL is saved, and expects its
`challenge` back. `app_home_opened` on the `home` tab publishes that person's Home tab
(`shared.home`) within the request's deadline. Anything else is acknowledged and logged.
Slack retries a delivery it got no quick answer to (`X-Slack-Retry-Num`); a retry is
acknowledged and does nothing, since the Home tab is published again whenever it is opened.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from typing import Any

from azure.durable_functions import DurableOrchestrationClient

from shared.deadline import Deadline
from shared.home import publish_home
from shared.settings import Settings
from shared.slack_request import RejectedRequest

logger = logging.getLogger(__name__)

URL_VERIFICATION = "url_verification"
EVENT_CALLBACK = "event_callback"
HOME_OPENED = "app_home_opened"
HOME_TAB = "home"


def _text(value: Any) -> str:
    return value if isinstance(value, str) else ""


async def handle_event(
    settings: Settings,
    payload: Mapping[str, Any],
    client: DurableOrchestrationClient,
    deadline: Deadline,
    *,
    retry: bool = False,
) -> dict[str, Any] | None:
    """The JSON answer to a delivery (the challenge), or None for an empty 200."""
    kind = _text(payload.get("type"))
    if kind == URL_VERIFICATION:
        challenge = _text(payload.get("challenge"))
        if not challenge:
            raise RejectedRequest(400, "url_verification has no challenge")
        return {"challenge": challenge}
    if kind != EVENT_CALLBACK:
        logger.info("Ignored an Events API delivery of type %r", kind[:50])
        return None
    event = payload.get("event")
    event = event if isinstance(event, Mapping) else {}
    name = _text(event.get("type"))
    if retry:
        logger.info("Acknowledged a retried %r event without acting on it again", name[:50])
        return None
    if name != HOME_OPENED:
        logger.info("Ignored an event of type %r", name[:50])
        return None
    user_id, team_id = _text(event.get("user")), _text(payload.get("team_id"))
    if not user_id or not team_id:
        raise RejectedRequest(400, "app_home_opened is missing the user or the team")
    if _text(event.get("tab")) != HOME_TAB:
        logger.info("Ignored app_home_opened on the %r tab", _text(event.get("tab"))[:20])
        return None
    await publish_home(settings, client, team_id, user_id, deadline)
    return None
