"""NCRONTAB schedules, as the Functions timer trigger reads them (six fields, UTC).

``second minute hour day month day-of-week``; each field is ``*``, a value, a range
``a-b``, a step ``*/n``, ``a-b/n`` or ``a/n`` (from ``a`` to the field's end), or a comma list
of these. Months may be named ``JAN``-``DEC`` and days of the week ``SUN``-``SAT`` (any case);
days of the week count from 0 (Sunday) to 6. As in NCrontab, which the Functions host uses, an
occurrence must match every field: ``0 0 0 13 * FRI`` is midnight on each Friday the 13th.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

_MONTH_NAMES = ("JAN", "FEB", "MAR", "APR", "MAY", "JUN", "JUL", "AUG", "SEP", "OCT", "NOV", "DEC")
_DAY_NAMES = ("SUN", "MON", "TUE", "WED", "THU", "FRI", "SAT")
# (name, lowest, highest, names for lowest, lowest + 1, ...)
_FIELDS: tuple[tuple[str, int, int, tuple[str, ...]], ...] = (
    ("second", 0, 59, ()),
    ("minute", 0, 59, ()),
    ("hour", 0, 23, ()),
    ("day", 1, 31, ()),
    ("month", 1, 12, _MONTH_NAMES),
    ("day of week", 0, 6, _DAY_NAMES),
)
# No valid schedule is further apart than this (29 February on a given weekday: 28 years).
_SEARCH_YEARS = 30


class ScheduleError(ValueError):
    """The expression is not a valid six-field NCRONTAB schedule."""


def _value(text: str, field: tuple[str, int, int, tuple[str, ...]]) -> int:
    name, lowest, highest, names = field
    upper = text.upper()
    if upper in names:
        return lowest + names.index(upper)
    if not text.isdigit():
        raise ScheduleError(f"'{text}' is not a valid {name}")
    value = int(text)
    if not lowest <= value <= highest:
        raise ScheduleError(f"{name} {value} is outside {lowest}-{highest}")
    return value


def _parse_field(text: str, field: tuple[str, int, int, tuple[str, ...]]) -> frozenset[int]:
    name, lowest, highest, _ = field
    values: set[int] = set()
    for part in text.split(","):
        if not part:
            raise ScheduleError(f"empty item in the {name} field '{text}'")
        base, slash, step_text = part.partition("/")
        step = 1
        if slash:
            if not step_text.isdigit() or int(step_text) == 0:
                raise ScheduleError(f"'{step_text}' is not a valid step in '{part}'")
            step = int(step_text)
        if base == "*":
            start, end = lowest, highest
        elif "-" in base:
            first, _, last = base.partition("-")
            start, end = _value(first, field), _value(last, field)
            if start > end:
                raise ScheduleError(f"the {name} range '{base}' runs backwards")
        else:
            start = _value(base, field)
            end = highest if slash else start
        values.update(range(start, end + 1, step))
    return frozenset(values)


@dataclass(frozen=True)
class Schedule:
    """A parsed NCRONTAB schedule; :meth:`next_after` finds its occurrences (UTC)."""

    expression: str
    seconds: frozenset[int]
    minutes: frozenset[int]
    hours: frozenset[int]
    days: frozenset[int]
    months: frozenset[int]
    weekdays: frozenset[int]

    @classmethod
    def parse(cls, expression: str) -> Schedule:
        """Parse six space-separated fields; raise :class:`ScheduleError` with the reason."""
        parts = expression.split()
        if len(parts) != len(_FIELDS):
            raise ScheduleError(
                f"'{expression}' has {len(parts)} fields; a timer schedule has six "
                "(second minute hour day month day-of-week)"
            )
        fields = [_parse_field(part, field) for part, field in zip(parts, _FIELDS, strict=True)]
        return cls(expression, *fields)

    def _day_matches(self, moment: datetime) -> bool:
        weekday = (moment.weekday() + 1) % 7  # Python counts from Monday, cron from Sunday
        return moment.month in self.months and moment.day in self.days and weekday in self.weekdays

    def next_after(self, moment: datetime) -> datetime | None:
        """The first occurrence strictly after ``moment`` (UTC), or ``None`` if there is none.

        ``moment`` must be timezone-aware; the answer is in UTC with no fraction of a second.
        """
        current = moment.astimezone(UTC).replace(microsecond=0) + timedelta(seconds=1)
        limit = current.replace(year=current.year + _SEARCH_YEARS, month=1, day=1)
        while current < limit:
            if not self._day_matches(current):
                current = (current + timedelta(days=1)).replace(hour=0, minute=0, second=0)
                continue
            if current.hour not in self.hours:
                current = (current + timedelta(hours=1)).replace(minute=0, second=0)
                continue
            if current.minute not in self.minutes:
                current = (current + timedelta(minutes=1)).replace(second=0)
                continue
            if current.second not in self.seconds:
                current += timedelta(seconds=1)
                continue
            return current
        return None
