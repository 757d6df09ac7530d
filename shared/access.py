"""Who may flush and who may approve: the one access decision both HTTP paths use.

May flush: on the allowed-users CSV, or a member of any `ALLOWED_USERGROUPS` group.
May approve: a CSV row with the role `approver`, or a member of any `APPROVER_USERGROUPS` group.
Slack user groups are asked only when the CSV does not already grant what is asked, within
the same deadline; a Slack failure grants nothing and never blocks a CSV user. When the CSV
cannot be read in time and nothing else grants access, the answer is UNAVAILABLE (fail closed).
See doc/behaviour.md and doc/adr/0012-one-access-decision.md.

The allowed-users reader (and the csv module) is loaded on the first check, not on import: the
slash command imports this module but needs it only after `views.open`.
"""

from __future__ import annotations

import enum
import logging
import threading
import time
from collections.abc import Callable
from typing import TYPE_CHECKING

from shared.deadline import Deadline, run_within
from shared.errors import AccessCheckUnavailable
from shared.settings import Settings
from shared.slack_api import (
    CALL_ERRORS_WITHIN_DEADLINE,
    error_code,
    web_client,
)
from shared.slack_http import INTERACTIVE_MAX_RETRY_AFTER_SECONDS, INTERACTIVE_TIMEOUT_SECONDS
from shared.stale_cache import StaleCache

if TYPE_CHECKING:
    from shared.allowed_users import AllowedUsersCache

logger = logging.getLogger(__name__)


class Permission(enum.Enum):
    """What a user asks to do."""

    FLUSH = "flush"
    APPROVE = "approve"


class Access(enum.Enum):
    """The decision: granted, denied, or not decidable in time (which must be treated as no)."""

    GRANTED = "granted"
    DENIED = "denied"
    UNAVAILABLE = "unavailable"


class UsergroupMembers:
    """Members of Slack user groups (`usergroups.users.list`), cached like the CSV."""

    def __init__(self, clock: Callable[[], float] = time.monotonic) -> None:
        self._members: StaleCache[tuple[str, str], frozenset[str]] = StaleCache(clock)

    def contains(self, settings: Settings, group: str, user_id: str, deadline: Deadline) -> bool:
        """Whether the user is in the group; False when Slack cannot say (nothing is granted)."""
        return user_id in self.members(settings, group, deadline)

    def members(self, settings: Settings, group: str, deadline: Deadline) -> frozenset[str]:
        """The group's members; none when Slack cannot say and nothing is cached."""
        key = (settings.slack_api_url, group)
        ttl = settings.allowed_users_cache_seconds
        now = self._members.clock()
        fresh = self._members.fresh(key, ttl, now)
        if fresh is not None:
            return fresh
        if deadline.expired():
            logger.warning("No time left to ask Slack for user group %s", group)
            return self._members.servable(key, ttl, now) or frozenset()
        try:
            users = run_within(deadline, lambda: _ask_slack(settings, group, deadline))
        except CALL_ERRORS_WITHIN_DEADLINE as error:
            reason = error_code(error)
            stale = self._members.serve_stale(key, ttl, now)
            if stale is None:
                logger.warning(
                    "User group %s could not be read (%s); it grants nothing", group, reason
                )
                return frozenset()
            logger.warning(
                "User group %s refresh failed (%s); using the cached members", group, reason
            )
            return stale
        self._members.store(key, users, now, ttl)
        return users


def _ask_slack(settings: Settings, group: str, deadline: Deadline) -> frozenset[str]:
    """One `usergroups.users.list` call through the app's Slack client, held to the deadline."""
    client = web_client(
        settings,
        INTERACTIVE_TIMEOUT_SECONDS,
        max_retry_after_seconds=INTERACTIVE_MAX_RETRY_AFTER_SECONDS,
        deadline=deadline,
    )
    response = client.usergroups_users_list(usergroup=group)
    users = response.get("users")
    if not isinstance(users, list):
        raise ValueError("usergroups.users.list answered without a user list")
    return frozenset(user for user in users if isinstance(user, str))


class AccessChecker:
    """Decides a permission from the CSV first, then from Slack user groups."""

    def __init__(
        self,
        allowed_users: AllowedUsersCache | None = None,
        usergroups: UsergroupMembers | None = None,
    ) -> None:
        if allowed_users is None:
            from shared.allowed_users import AllowedUsersCache  # noqa: PLC0415 (see module doc)

            allowed_users = AllowedUsersCache()
        self._allowed_users = allowed_users
        self._usergroups = usergroups or UsergroupMembers()

    def check(
        self, settings: Settings, user_id: str, permission: Permission, deadline: Deadline
    ) -> Access:
        """The decision for `user_id`, reached before `deadline`."""
        user_id = user_id.strip()
        try:
            listed = self._allowed_users.read(settings, deadline)
        except AccessCheckUnavailable:
            listed = None
        if listed is not None:
            grants = listed.may_flush if permission is Permission.FLUSH else listed.may_approve
            if grants(user_id):
                return Access.GRANTED
        groups = (
            settings.allowed_usergroups
            if permission is Permission.FLUSH
            else settings.approver_usergroups
        )
        for group in groups:
            if self._usergroups.contains(settings, group, user_id, deadline):
                return Access.GRANTED
        return Access.DENIED if listed is not None else Access.UNAVAILABLE

    def listed_approvers(self, settings: Settings) -> frozenset[str]:
        """The approvers on the allowed-users list as last read (none if it is not cached)."""
        listed = self._allowed_users.cached(settings)
        return listed.approvers if listed is not None else frozenset()

    def someone_else_may_approve(
        self, settings: Settings, user_id: str, deadline: Deadline
    ) -> bool:
        """Whether anyone but `user_id` may approve: a list approver or an approver group member.

        The list is read as the access check reads it (from the cache while it is fresh); a
        list or a user group that cannot be read counts as empty, as it grants nothing.
        """
        try:
            listed = self._allowed_users.read(settings, deadline).approvers
        except AccessCheckUnavailable:
            listed = frozenset()
        if listed - {user_id}:
            return True
        return any(
            self._usergroups.members(settings, group, deadline) - {user_id}
            for group in settings.approver_usergroups
        )

    def prefetch(self, settings: Settings, deadline: Deadline) -> None:
        """Start reading the allowed-users list for a check to come, without waiting."""
        self._allowed_users.prefetch(settings, deadline)


_default_checkers: list[AccessChecker] = []
_default_lock = threading.Lock()


def _default_checker() -> AccessChecker:
    """The process-wide checker, made on first use (see the module doc)."""
    with _default_lock:
        if not _default_checkers:
            _default_checkers.append(AccessChecker())
        return _default_checkers[0]


def check(settings: Settings, user_id: str, permission: Permission, deadline: Deadline) -> Access:
    """Decide with the process-wide caches."""
    return _default_checker().check(settings, user_id, permission, deadline)


def listed_approvers(settings: Settings) -> frozenset[str]:
    """The list's approvers as last read, without reading storage (process-wide caches)."""
    return _default_checker().listed_approvers(settings)


def someone_else_may_approve(settings: Settings, user_id: str, deadline: Deadline) -> bool:
    """Whether anyone but `user_id` may approve (process-wide caches)."""
    return _default_checker().someone_else_may_approve(settings, user_id, deadline)


def prefetch(settings: Settings, deadline: Deadline) -> None:
    """Start reading the list the next `check` will need (process-wide caches)."""
    _default_checker().prefetch(settings, deadline)
