"""The app's answers to a view submission, in the shapes Slack's `response_action` takes.

An empty 200 (no `ViewAnswer`) closes the submitted view; a `ViewAnswer` either keeps it open
with an error under some of its input blocks or replaces it with another view.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True)
class ViewAnswer:
    """One `response_action` answer: `errors` by input block ID, or a `view` to show instead.

    Build it with `show_errors` or `update`; exactly one of the two fields is set.
    """

    errors: Mapping[str, str] | None = None
    view: Mapping[str, Any] | None = None

    def __post_init__(self) -> None:
        """Refuse an answer with neither or both of errors and a view."""
        if (self.errors is None) == (self.view is None):
            raise ValueError("a view answer has either errors or a view")

    @classmethod
    def show_errors(cls, errors: Mapping[str, str]) -> ViewAnswer:
        """Keep the view open with each error shown under its input block."""
        return cls(errors=dict(errors))

    @classmethod
    def update(cls, view: Mapping[str, Any]) -> ViewAnswer:
        """Replace the submitted view with `view`."""
        return cls(view=view)

    def to_dict(self) -> dict[str, Any]:
        """The JSON body Slack reads."""
        if self.errors is not None:
            return {"response_action": "errors", "errors": dict(self.errors)}
        return {"response_action": "update", "view": self.view}
