"""The simulated Slack users offered by the demo page at `/sim/slack/`.

`make run` puts `ALLOWED_DEMO_USER` on the allowed-users list; `OTHER_DEMO_USER`
is left off it, so the page can show both sides of the access check.
"""

from __future__ import annotations

from typing import Final

ALLOWED_DEMO_USER: Final = ("U0DEMOUSER", "demo_user")
OTHER_DEMO_USER: Final = ("U0NOTALLOWED", "not_allowed_user")
DEMO_USERS: Final = (ALLOWED_DEMO_USER, OTHER_DEMO_USER)
