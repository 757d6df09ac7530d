"""``with`` for anything started by ``start()`` and ended by ``stop()``."""

from __future__ import annotations

from types import TracebackType
from typing import Self


class StartStop:
    """Base class: ``with thing:`` calls ``thing.start()`` on entry, ``thing.stop()`` on exit.

    Subclasses define ``start()`` (returning the started object) and ``stop()``; extra
    parameters of either need defaults.
    """

    def start(self) -> Self:
        """Start; return the started object."""
        raise NotImplementedError

    def stop(self) -> None:
        """Stop (safe to call when not started)."""
        raise NotImplementedError

    def __enter__(self) -> Self:
        """Start."""
        return self.start()

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        """Stop."""
        self.stop()
