"""Date rules for observances: a small typed model, the windows it yields and its plain-dict form.

The plain-dict form is what the shipped TOML catalogue holds and what a JSON column stores for
staff-defined observances, so both go through :func:`rule_from_dict` and share its checks.
"""

from __future__ import annotations

import calendar
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass
from datetime import date, timedelta
from enum import StrEnum
from typing import Any, TypeAlias, TypeVar

LAST = -1
"""The ``n`` of an :class:`NthWeekday` rule that means the last such weekday of the month."""


class ObservanceError(ValueError):
    """Raised for bad observance data or a window that cannot be computed."""


class YearNotListedError(ObservanceError):
    """Raised when an explicit per-year rule has no dates for the requested year."""


class RuleType(StrEnum):
    MONTH = "month"
    FIXED_DATE = "fixed-date"
    FIXED_RANGE = "fixed-range"
    NTH_WEEKDAY = "nth-weekday"
    RELATIVE = "relative"
    PER_YEAR = "per-year"


class Weekday(StrEnum):
    MONDAY = "monday"
    TUESDAY = "tuesday"
    WEDNESDAY = "wednesday"
    THURSDAY = "thursday"
    FRIDAY = "friday"
    SATURDAY = "saturday"
    SUNDAY = "sunday"

    # Deliberately shadows str.index with an int; callers rely on the name.
    @property
    def index(self) -> int:  # type: ignore[override]
        """Return the weekday number as :meth:`datetime.date.weekday` counts it (Monday is 0)."""
        return list(Weekday).index(self)


class Direction(StrEnum):
    BEFORE = "before"
    AFTER = "after"


@dataclass(frozen=True)
class DateWindow:
    """An inclusive run of days: ``start`` to ``end``, both included."""

    start: date
    end: date

    def __post_init__(self) -> None:
        if self.end < self.start:
            raise ObservanceError(f"window ends ({self.end}) before it starts ({self.start})")

    @classmethod
    def of_length(cls, start: date, days: int) -> DateWindow:
        """Build the window of ``days`` days beginning on ``start``."""
        return cls(start, start + timedelta(days=days - 1))

    @property
    def days(self) -> int:
        return (self.end - self.start).days + 1

    def __contains__(self, day: object) -> bool:
        return isinstance(day, date) and self.start <= day <= self.end

    def dates(self) -> Iterator[date]:
        """Yield every day of the window in order."""
        for offset in range(self.days):
            yield self.start + timedelta(days=offset)


def _month_day(year: int, month: int, day: int) -> date:
    # A February 29 observance keeps its place at the end of February in common years.
    return date(year, month, min(day, calendar.monthrange(year, month)[1]))


def nth_weekday(year: int, month: int, weekday: Weekday, n: int) -> date:
    """Return the ``n``-th ``weekday`` of the month (``n`` is 1 to 4, or ``LAST``)."""
    if n == LAST:
        last = date(year, month, calendar.monthrange(year, month)[1])
        return last - timedelta(days=(last.weekday() - weekday.index) % 7)
    first = date(year, month, 1)
    return first + timedelta(days=(weekday.index - first.weekday()) % 7 + 7 * (n - 1))


@dataclass(frozen=True)
class WholeMonth:
    """Every day of one calendar month."""

    month: int

    def window(self, year: int) -> DateWindow:
        """Return the month's window in ``year``."""
        last = calendar.monthrange(year, self.month)[1]
        return DateWindow(date(year, self.month, 1), date(year, self.month, last))

    def to_dict(self) -> dict[str, Any]:
        """Return the plain-dict form."""
        return {"type": RuleType.MONTH.value, "month": self.month}


@dataclass(frozen=True)
class FixedDate:
    """The same date every year, lasting ``days`` days; Feb 29 is Feb 28 in common years."""

    month: int
    day: int
    days: int = 1

    def window(self, year: int) -> DateWindow:
        """Return the window starting on the date in ``year``."""
        return DateWindow.of_length(_month_day(year, self.month, self.day), self.days)

    def to_dict(self) -> dict[str, Any]:
        """Return the plain-dict form."""
        return {"type": RuleType.FIXED_DATE.value, "month": self.month, "day": self.day} | _length(
            self.days
        )


@dataclass(frozen=True)
class FixedRange:
    """A range of calendar dates; when the end comes before the start it runs into the next year."""

    start_month: int
    start_day: int
    end_month: int
    end_day: int

    @property
    def crosses_year(self) -> bool:
        return (self.end_month, self.end_day) < (self.start_month, self.start_day)

    def window(self, year: int) -> DateWindow:
        """Return the window that starts in ``year`` (and may end in the next one)."""
        end_year = year + 1 if self.crosses_year else year
        return DateWindow(
            _month_day(year, self.start_month, self.start_day),
            _month_day(end_year, self.end_month, self.end_day),
        )

    def to_dict(self) -> dict[str, Any]:
        """Return the plain-dict form."""
        return {
            "type": RuleType.FIXED_RANGE.value,
            "start_month": self.start_month,
            "start_day": self.start_day,
            "end_month": self.end_month,
            "end_day": self.end_day,
        }


@dataclass(frozen=True)
class NthWeekday:
    """The n-th (or last) weekday of a month, lasting ``days`` days."""

    month: int
    weekday: Weekday
    n: int
    days: int = 1

    def window(self, year: int) -> DateWindow:
        """Return the window starting on that weekday in ``year``."""
        return DateWindow.of_length(nth_weekday(year, self.month, self.weekday, self.n), self.days)

    def to_dict(self) -> dict[str, Any]:
        """Return the plain-dict form."""
        return {
            "type": RuleType.NTH_WEEKDAY.value,
            "month": self.month,
            "weekday": self.weekday.value,
            "n": "last" if self.n == LAST else self.n,
        } | _length(self.days)


@dataclass(frozen=True)
class Relative:
    """A day found from another rule's start: ``offset_days`` away, or the nearest ``weekday``.

    Exactly one of ``offset_days`` (at least 1) and ``weekday`` is given; the weekday form
    looks strictly before or after the anchor, so "the Thursday after Thanksgiving" is a week on.
    """

    anchor: Rule
    direction: Direction
    offset_days: int = 0
    weekday: Weekday | None = None
    days: int = 1

    def window(self, year: int) -> DateWindow:
        """Return the window found from the anchor's window in ``year``."""
        return DateWindow.of_length(self._shift(self.anchor.window(year).start), self.days)

    def _shift(self, base: date) -> date:
        sign = 1 if self.direction is Direction.AFTER else -1
        if self.weekday is None:
            return base + timedelta(days=sign * self.offset_days)
        gap = (self.weekday.index - base.weekday()) * sign % 7 or 7
        return base + timedelta(days=sign * gap)

    def to_dict(self) -> dict[str, Any]:
        """Return the plain-dict form."""
        shift = (
            {"weekday": self.weekday.value}
            if self.weekday is not None
            else {"offset_days": self.offset_days}
        )
        return {
            "type": RuleType.RELATIVE.value,
            "anchor": self.anchor.to_dict(),
            "direction": self.direction.value,
            **shift,
        } | _length(self.days)


@dataclass(frozen=True)
class PerYear:
    """Dates listed year by year, for observances whose organisers announce them annually."""

    dates: tuple[DateWindow, ...]

    @property
    def years(self) -> tuple[int, ...]:
        return tuple(sorted(window.start.year for window in self.dates))

    def window(self, year: int) -> DateWindow:
        """Return the window listed for ``year``, or raise :class:`YearNotListedError`."""
        for window in self.dates:
            if window.start.year == year:
                return window
        listed = ", ".join(str(listed_year) for listed_year in self.years)
        raise YearNotListedError(f"no dates listed for {year} (listed: {listed})")

    def to_dict(self) -> dict[str, Any]:
        """Return the plain-dict form, with ISO date strings so it fits a JSON column."""
        return {
            "type": RuleType.PER_YEAR.value,
            "dates": [{"start": w.start.isoformat(), "end": w.end.isoformat()} for w in self.dates],
        }


Rule: TypeAlias = WholeMonth | FixedDate | FixedRange | NthWeekday | Relative | PerYear


def _length(days: int) -> dict[str, int]:
    return {} if days == 1 else {"days": days}


def rule_to_dict(rule: Rule) -> dict[str, Any]:
    """Return the plain-dict (JSON- and TOML-friendly) form of ``rule``."""
    return rule.to_dict()


def rule_from_dict(data: object, *, slug: str = "<unnamed>", field: str = "rule") -> Rule:
    """Build a rule from its plain-dict form; errors name the observance slug and the field."""
    reader = _Reader.of(data, slug, field)
    return _PARSERS[reader.choice("type", RuleType)](reader)


_MISSING: Any = object()
_E = TypeVar("_E", bound=StrEnum)


@dataclass(frozen=True)
class _Reader:
    data: Mapping[str, Any]
    slug: str
    path: str

    @classmethod
    def of(cls, data: object, slug: str, path: str) -> _Reader:
        if not isinstance(data, Mapping):
            kind = type(data).__name__
            raise ObservanceError(f"observance {slug!r}: {path}: expected a table, got {kind}")
        return cls(data, slug, path)

    def fail(self, name: str, problem: str) -> ObservanceError:
        return ObservanceError(f"observance {self.slug!r}: {self.path}.{name}: {problem}")

    def only(self, *names: str) -> None:
        unknown = sorted(set(self.data) - {"type", *names})
        if unknown:
            raise self.fail(unknown[0], "unknown field for this rule type")

    def raw(self, name: str, default: Any = _MISSING) -> Any:
        value = self.data.get(name, default)
        if value is _MISSING:
            raise self.fail(name, "is required")
        return value

    def integer(self, name: str, low: int, high: int, default: Any = _MISSING) -> int:
        value = self.raw(name, default)
        if isinstance(value, bool) or not isinstance(value, int) or not low <= value <= high:
            raise self.fail(name, f"must be a whole number from {low} to {high}, got {value!r}")
        return value

    def choice(self, name: str, enum: type[_E], default: Any = _MISSING) -> _E:
        value = self.raw(name, default)
        try:
            return enum(value)
        except ValueError:
            allowed = ", ".join(member.value for member in enum)
            raise self.fail(name, f"must be one of {allowed}; got {value!r}") from None

    def day(self, name: str, default: Any = _MISSING) -> date:
        value = self.raw(name, default)
        if isinstance(value, date):
            return value
        try:
            return date.fromisoformat(value)
        except (TypeError, ValueError):
            raise self.fail(name, f"must be a date (YYYY-MM-DD), got {value!r}") from None

    def child(self, name: str) -> _Reader:
        return _Reader.of(self.raw(name), self.slug, f"{self.path}.{name}")

    def month_day(self, month_name: str, day_name: str) -> tuple[int, int]:
        month = self.integer(month_name, 1, 12)
        # Checked against a leap year so that February 29 is allowed.
        return month, self.integer(day_name, 1, calendar.monthrange(2000, month)[1])

    def length(self) -> int:
        return self.integer("days", 1, 31, 1)


def _parse_month(reader: _Reader) -> Rule:
    reader.only("month")
    return WholeMonth(reader.integer("month", 1, 12))


def _parse_fixed_date(reader: _Reader) -> Rule:
    reader.only("month", "day", "days")
    month, day = reader.month_day("month", "day")
    return FixedDate(month, day, reader.length())


def _parse_fixed_range(reader: _Reader) -> Rule:
    reader.only("start_month", "start_day", "end_month", "end_day")
    start = reader.month_day("start_month", "start_day")
    return FixedRange(*start, *reader.month_day("end_month", "end_day"))


def _parse_nth_weekday(reader: _Reader) -> Rule:
    reader.only("month", "weekday", "n", "days")
    month = reader.integer("month", 1, 12)
    weekday = reader.choice("weekday", Weekday)
    n = LAST if reader.raw("n") in ("last", LAST) else reader.integer("n", 1, 4)
    return NthWeekday(month, weekday, n, reader.length())


def _parse_relative(reader: _Reader) -> Rule:
    reader.only("anchor", "direction", "offset_days", "weekday", "days")
    anchor = rule_from_dict(reader.raw("anchor"), slug=reader.slug, field=f"{reader.path}.anchor")
    direction = reader.choice("direction", Direction)
    if ("weekday" in reader.data) == ("offset_days" in reader.data):
        raise reader.fail("offset_days", "give exactly one of offset_days and weekday")
    if "weekday" in reader.data:
        return Relative(
            anchor, direction, weekday=reader.choice("weekday", Weekday), days=reader.length()
        )
    return Relative(anchor, direction, reader.integer("offset_days", 1, 366), days=reader.length())


def _parse_per_year(reader: _Reader) -> Rule:
    reader.only("dates")
    entries = reader.raw("dates")
    if not isinstance(entries, list) or not entries:
        raise reader.fail("dates", "must be a non-empty list of {start, end} tables")
    windows = tuple(_parse_year_entry(reader, index, entry) for index, entry in enumerate(entries))
    years = [window.start.year for window in windows]
    duplicates = sorted({year for year in years if years.count(year) > 1})
    if duplicates:
        raise reader.fail("dates", f"lists {duplicates[0]} more than once")
    return PerYear(windows)


def _parse_year_entry(reader: _Reader, index: int, entry: object) -> DateWindow:
    item = _Reader.of(entry, reader.slug, f"{reader.path}.dates[{index}]")
    item.only("start", "end")
    start = item.day("start")
    end = item.day("end", start)
    if end < start:
        raise item.fail("end", f"{end} is before start {start}")
    return DateWindow(start, end)


_PARSERS: dict[RuleType, Callable[[_Reader], Rule]] = {
    RuleType.MONTH: _parse_month,
    RuleType.FIXED_DATE: _parse_fixed_date,
    RuleType.FIXED_RANGE: _parse_fixed_range,
    RuleType.NTH_WEEKDAY: _parse_nth_weekday,
    RuleType.RELATIVE: _parse_relative,
    RuleType.PER_YEAR: _parse_per_year,
}
