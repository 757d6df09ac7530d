"""The app's exceptions: one root, so a caller can tell the app's own errors from any other.

Every exception the app raises on purpose derives from `AppError` (as slack_bolt's errors
derive from `BoltError`). Each module catches the narrowest type it can handle; a catch-all
`except Exception` stays only where anything at all may fail by design, with a comment saying
why.
"""

from __future__ import annotations


class AppError(Exception):
    """Base of every exception the app raises on purpose."""


class AccessCheckUnavailable(AppError):
    """The allowed-users list could not be read in time and no usable cached copy exists.

    The access check fails closed on it.
    """
