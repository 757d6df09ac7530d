"""Activity: publish a person's Home tab again once one of their flushes has ended."""

from __future__ import annotations

import azure.durable_functions as df

from shared.deadline import Deadline
from shared.handoffs import ActivityPayload, HomeOwner
from shared.home import publish_home
from shared.settings import load_settings

# Without Slack's 3-second limit, the reads and `views.publish` may take this long.
PUBLISH_SECONDS = 20.0


async def main(request: ActivityPayload, starter: str) -> bool:
    """Publish the owner's Home tab; False when it could not be (the flush is unaffected)."""
    home = HomeOwner.from_dict(request)
    client = df.DurableOrchestrationClient(starter)
    deadline = Deadline.after(PUBLISH_SECONDS)
    return await publish_home(load_settings(), client, home.team_id, home.user_id, deadline)
