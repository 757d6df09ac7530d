"""The simulated Slack users and user group of the demo (`make run` and the page at `/sim/slack/`).

`make run` writes `DEMO_ALLOWED_USERS` as the allowed-users CSV: the demo user, and an approver
(third column `approver`). `GROUP_DEMO_USER` is not on the list but belongs to the user group
`DEMO_USERGROUP`, and `OTHER_DEMO_USER` is on neither, so the page can show every side of the
access check.
"""

from __future__ import annotations

from typing import Final

ALLOWED_DEMO_USER: Final = ("U0DEMOUSER", "demo_user")
OTHER_DEMO_USER: Final = ("U0NOTALLOWED", "not_allowed_user")
APPROVER_DEMO_USER: Final = ("U0APPROVER", "demo_approver")
GROUP_DEMO_USER: Final = ("U0GROUPMEMBER", "group_member")
DEMO_USERS: Final = (ALLOWED_DEMO_USER, OTHER_DEMO_USER, APPROVER_DEMO_USER, GROUP_DEMO_USER)
DEMO_USERGROUP: Final = "S0DEMOGROUP"
# User group ID -> member IDs, as `usergroups.users.list` answers in the simulated workspace.
DEMO_USERGROUPS: Final = {DEMO_USERGROUP: (GROUP_DEMO_USER[0],)}
APPROVER_ROLE: Final = "approver"


def demo_allowed_users_csv() -> str:
    """The demo allowed-users list: a header, the demo user, and the approver with its role."""
    (user_id, user_name), (approver_id, approver_name) = ALLOWED_DEMO_USER, APPROVER_DEMO_USER
    rows = ["member_id,name,role", f"{user_id},{user_name}"]
    rows.append(f"{approver_id},{approver_name},{APPROVER_ROLE}")
    return "\n".join(rows) + "\n"
