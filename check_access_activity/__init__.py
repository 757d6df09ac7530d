"""Activity: may the requester still flush? Asked when an approved flush is about to run."""

from __future__ import annotations

from shared import access
from shared.deadline import Deadline
from shared.errors import AccessCheckUnavailable
from shared.handoffs import AccessAnswer, AccessQuery, ActivityPayload
from shared.settings import load_settings

# The list and the user groups are read within this many seconds, as on the HTTP path but
# without Slack's 3-second limit.
CHECK_SECONDS = 20.0


def main(request: ActivityPayload) -> ActivityPayload:
    """The `AccessAnswer` for the query's user; raises when access cannot be decided.

    Raising lets the orchestrator's retry policy try again; after the last attempt the
    orchestrator treats the requester as not allowed (fail closed).
    """
    query = AccessQuery.from_dict(request)
    decision = access.check(
        load_settings(), query.user_id, access.Permission.FLUSH, Deadline.after(CHECK_SECONDS)
    )
    if decision is access.Access.UNAVAILABLE:
        raise AccessCheckUnavailable("the allowed-users list could not be read")
    return AccessAnswer(allowed=decision is access.Access.GRANTED).to_dict()
