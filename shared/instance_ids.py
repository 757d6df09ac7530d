"""The durable instance IDs of flushes: made here, and read back here, nowhere else.

An ID is `flush-{team}-{user}-{view}`. The view makes it deterministic for one submitted
form, so a repeated or racing submission never starts a second flush; the team and user
before it let the Home tab list one person's flushes with an instance ID prefix query, which
stays as quick however many other flushes the task hub holds.
"""

from __future__ import annotations

import re

PREFIX = "flush"
PART_CHARS = 30
_UNSAFE = re.compile(r"[^A-Za-z0-9_]")
_SAFE_PART = f"[A-Za-z0-9_]{{1,{PART_CHARS}}}"
_INSTANCE_ID = re.compile("-".join((PREFIX, _SAFE_PART, _SAFE_PART, _SAFE_PART)))


def _part(text: str) -> str:
    """One part of an ID: letters, digits and `_` only, never empty, at most 30 characters."""
    return _UNSAFE.sub("_", text)[:PART_CHARS] or "_"


def team_prefix(team_id: str) -> str:
    """The prefix every flush of a workspace has."""
    return f"{PREFIX}-{_part(team_id)}-"


def user_prefix(team_id: str, user_id: str) -> str:
    """The prefix every flush one person asked for in a workspace has."""
    return f"{team_prefix(team_id)}{_part(user_id)}-"


def instance_id(team_id: str, user_id: str, view_id: str) -> str:
    """The ID of the flush started from one submitted view."""
    return f"{user_prefix(team_id, user_id)}{_part(view_id)}"


def is_instance_id(text: str) -> bool:
    """Whether `text` has the form of a flush's instance ID (not whether it exists)."""
    return _INSTANCE_ID.fullmatch(text) is not None


def belongs_to(instance: str, team_id: str, user_id: str) -> bool:
    """Whether an instance ID is of a flush that this person asked for in this workspace."""
    return is_instance_id(instance) and instance.startswith(user_prefix(team_id, user_id))
