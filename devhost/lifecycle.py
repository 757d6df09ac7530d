"""``with`` for anything ended by ``stop()`` (and, with ``StartStop``, started by ``start()``)."""

from __future__ import annotations

from types import TracebackType
from typing import Self


class Stops:
    """Base class: ``with thing:`` gives ``thing`` and calls ``thing.stop()`` on exit.

    For objects already running once built; subclasses define ``stop()``, whose extra
    parameters need defaults and whose result, if any, ``with`` ignores.
    """

    def stop(self) -> object:
        """Stop (safe to call when not running)."""
        raise NotImplementedError

    def __enter__(self) -> Self:
        """The running object."""
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        """Stop."""
        self.stop()


class StartStop(Stops):
    """Base class: ``with thing:`` calls ``thing.start()`` on entry, ``thing.stop()`` on exit.

    Subclasses define ``start()`` (returning the started object) and ``stop()``; extra
    parameters of either need defaults.
    """

    def start(self) -> Self:
        """Start; return the started object."""
        raise NotImplementedError

    def __enter__(self) -> Self:
        """Start."""
        return self.start()
