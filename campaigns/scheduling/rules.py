"""Turn a schedule (an observance and a send rule, or an absolute local time) into ``send_at``.

Every function here is pure: the reference year or date is passed in and nothing reads the
clock, so the caller decides whether a computed instant is already in the past.
"""

from __future__ import annotations

import functools
import re
from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from enum import StrEnum
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import holidays

from campaigns.observances.catalogue import Observance, window
from campaigns.observances.rules import DateWindow, ObservanceError

MAX_OFFSET_DAYS = 366

_TIME = r"(?P<hour>\d{1,2}):(?P<minute>\d{2})"
_RULE_PATTERNS = {
    "start": re.compile(rf"start {_TIME}"),
    "first-business-day": re.compile(rf"first-business-day {_TIME}"),
    "days-before": re.compile(rf"(?P<n>\d+) days?-before {_TIME}"),
    "business-days-before": re.compile(rf"(?P<n>\d+) business-days?-before {_TIME}"),
    "day": re.compile(rf"day (?P<n>\d+) {_TIME}"),
}
_RULE_FORMS = (
    "'start HH:MM', 'first-business-day HH:MM', 'N days-before HH:MM', "
    "'N business-days-before HH:MM' or 'day N HH:MM'"
)


class SchedulingError(ValueError):
    """Raised for a send rule, time zone or schedule that cannot be turned into a send time."""


class SendAnchor(StrEnum):
    START = "start"
    FIRST_BUSINESS_DAY = "first-business-day"
    DAYS_BEFORE = "days-before"
    BUSINESS_DAYS_BEFORE = "business-days-before"
    DAY = "day"


@dataclass(frozen=True)
class SendRule:
    """Where in (or before) an observance's window to send, and at what local time.

    ``count`` is the number of days before the window for the ``*-before`` anchors, the
    1-based day of the window for ``day``, and 0 otherwise.
    """

    anchor: SendAnchor
    at: time
    count: int = 0

    def __str__(self) -> str:
        clock = self.at.strftime("%H:%M")
        if self.anchor in (SendAnchor.START, SendAnchor.FIRST_BUSINESS_DAY):
            return f"{self.anchor} {clock}"
        if self.anchor is SendAnchor.DAY:
            return f"day {self.count} {clock}"
        return f"{self.count} {self.anchor} {clock}"


def parse_rule(text: str) -> SendRule:
    """Parse a send rule such as ``'first-business-day 10:00'`` or ``'3 days-before 09:00'``."""
    normal = " ".join(str(text).lower().split())
    for anchor, pattern in _RULE_PATTERNS.items():
        match = pattern.fullmatch(normal)
        if match:
            return _rule_from_match(SendAnchor(anchor), match, text)
    raise SchedulingError(f"cannot read send rule {text!r}: expected {_RULE_FORMS}")


def _rule_from_match(anchor: SendAnchor, match: re.Match[str], text: str) -> SendRule:
    hour, minute = int(match["hour"]), int(match["minute"])
    if hour > 23 or minute > 59:
        raise SchedulingError(
            f"send rule {text!r}: {match['hour']}:{match['minute']} is not a time"
        )
    count = int(match.groupdict().get("n") or 0)
    counted = anchor not in (SendAnchor.START, SendAnchor.FIRST_BUSINESS_DAY)
    if counted and not 1 <= count <= MAX_OFFSET_DAYS:
        raise SchedulingError(
            f"send rule {text!r}: the day count must be from 1 to {MAX_OFFSET_DAYS}"
        )
    return SendRule(anchor, time(hour, minute), count)


def resolve_zone(tz: str) -> ZoneInfo:
    """Return the IANA time zone named ``tz``, or raise :class:`SchedulingError`."""
    try:
        return ZoneInfo(tz)
    except (ZoneInfoNotFoundError, ValueError, TypeError):
        raise SchedulingError(f"unknown time zone {tz!r}") from None


@functools.cache
def _federal_holidays(year: int) -> frozenset[date]:
    # Neighbouring years too: New Year's Day on a Saturday is observed on December 31.
    observed = holidays.US(years=(year - 1, year, year + 1))
    return frozenset(day for day in observed if day.year == year)


def is_federal_holiday(day: date) -> bool:
    """Tell whether ``day`` is a US federal holiday, including "observed" days."""
    return day in _federal_holidays(day.year)


def is_weekend(day: date) -> bool:
    """Tell whether ``day`` is a Saturday or a Sunday."""
    return day.weekday() >= 5


def is_business_day(day: date) -> bool:
    """Tell whether ``day`` is a weekday that is not a US federal holiday."""
    return not is_weekend(day) and not is_federal_holiday(day)


def next_allowed_day(day: date, *, skip_weekends: bool, skip_holidays: bool) -> date:
    """Return ``day``, or the first later day that the skip options allow."""
    while (skip_weekends and is_weekend(day)) or (skip_holidays and is_federal_holiday(day)):
        day += timedelta(days=1)
    return day


def pick_send_date(observance_window: DateWindow, rule: SendRule) -> date:
    """Return the local date that ``rule`` picks for an observance window."""
    start = observance_window.start
    match rule.anchor:
        case SendAnchor.START:
            return start
        case SendAnchor.FIRST_BUSINESS_DAY:
            return _first_business_day(observance_window)
        case SendAnchor.DAYS_BEFORE:
            return start - timedelta(days=rule.count)
        case SendAnchor.BUSINESS_DAYS_BEFORE:
            return _business_days_before(start, rule.count)
        case SendAnchor.DAY:
            if rule.count > observance_window.days:
                raise SchedulingError(
                    f"day {rule.count} is past the end of a {observance_window.days}-day window"
                )
            return start + timedelta(days=rule.count - 1)


def _first_business_day(observance_window: DateWindow) -> date:
    for day in observance_window.dates():
        if is_business_day(day):
            return day
    raise SchedulingError(
        f"the window {observance_window.start} to {observance_window.end} has no business day"
    )


def _business_days_before(day: date, count: int) -> date:
    remaining = count
    while remaining:
        day -= timedelta(days=1)
        remaining -= is_business_day(day)
    return day


def send_time_for_observance(
    observance: Observance,
    year: int,
    rule: SendRule | str,
    tz: str,
    skip_weekends: bool = False,
    skip_holidays: bool = False,
) -> datetime:
    """Return the aware UTC instant at which ``rule`` sends for the observance in ``year``.

    The rule picks a local date from the observance's window; the skip options then move it
    forward to the next day that is not a weekend or not a US federal holiday; the rule's local
    time in ``tz`` is converted with :func:`local_to_utc`.
    """
    send_rule = parse_rule(rule) if isinstance(rule, str) else rule
    try:
        observance_window = window(observance, year)
    except ObservanceError as exc:
        raise SchedulingError(str(exc)) from exc
    day = pick_send_date(observance_window, send_rule)
    day = next_allowed_day(day, skip_weekends=skip_weekends, skip_holidays=skip_holidays)
    return local_to_utc(day, send_rule.at, tz)


def next_observance_send_time(
    observance: Observance,
    rule: SendRule | str,
    tz: str,
    *,
    after: datetime,
    year: int | None = None,
    skip_weekends: bool = False,
    skip_holidays: bool = False,
) -> tuple[int, datetime]:
    """Return the year and instant of the first send by ``rule`` later than ``after``.

    Tries ``year`` alone when given, else this year and next; raises ``SchedulingError`` saying
    why no candidate works (the last problem met).
    """
    years = [year] if year is not None else [after.year, after.year + 1]
    problem = ""
    for candidate in years:
        try:
            send_at = send_time_for_observance(
                observance, candidate, rule, tz, skip_weekends, skip_holidays
            )
        except SchedulingError as error:
            problem = str(error)
            continue
        if send_at > after:
            return candidate, send_at
        problem = f"the send time for {candidate} ({send_at:%Y-%m-%d %H:%M} UTC) has passed"
    raise SchedulingError(problem)


def local_to_utc(day: date, at: time, tz: str) -> datetime:
    """Return the aware UTC instant when the wall clock in ``tz`` shows ``day`` at ``at``.

    A wall time skipped by a spring-forward change does not exist; it moves forward to the first
    valid instant, the moment the clocks jump (02:30 on a New York spring-forward day gives
    03:00 EDT). A wall time repeated by a fall-back change takes its first occurrence.
    """
    local = datetime.combine(day, at.replace(tzinfo=None, fold=0), tzinfo=resolve_zone(tz))
    instant = local.astimezone(UTC)
    if instant.astimezone(local.tzinfo).replace(tzinfo=None) == local.replace(tzinfo=None):
        return instant
    return _gap_end(local)


def _gap_end(local: datetime) -> datetime:
    # In a gap, fold=1 reads the wall time with the new offset and fold=0 with the old one;
    # the transition lies between the two readings, so bisect to the second it happens.
    low = local.replace(fold=1).astimezone(UTC)
    high = local.replace(fold=0).astimezone(UTC)
    if high < low:
        low, high = high, low
    before = low.astimezone(local.tzinfo).utcoffset()
    while high - low > timedelta(seconds=1):
        middle = low + (high - low) / 2
        if middle.astimezone(local.tzinfo).utcoffset() == before:
            low = middle
        else:
            high = middle
    return high.replace(microsecond=0)


def absolute_send_time(local: datetime, tz: str) -> datetime:
    """Return the aware UTC instant for a wall-clock time in ``tz`` (``--at ... --tz ...``).

    A naive ``local`` is read in ``tz`` as :func:`local_to_utc` does; an aware one already names
    its instant and is only converted to UTC.
    """
    if local.tzinfo is not None:
        return local.astimezone(UTC)
    return local_to_utc(local.date(), local.time(), tz)


def wave_send_times(
    local_date: date, local_time: time, timezones: Iterable[str], *, default_tz: str
) -> dict[str, datetime]:
    """Map each time zone to the UTC instant when its wall clock shows the given local time.

    Unknown or empty zone names map to the instant for ``default_tz``, which must be valid.
    """
    fallback = local_to_utc(local_date, local_time, default_tz)
    waves: dict[str, datetime] = {}
    for name in timezones:
        if name in waves:
            continue
        try:
            waves[name] = local_to_utc(local_date, local_time, name)
        except SchedulingError:
            waves[name] = fallback
    return waves


def earliest_wave(day: date, at: time, zones: Iterable[str], *, default_tz: str) -> datetime:
    """Return the first instant at which any of ``zones`` (or ``default_tz``) shows ``at``."""
    return min(wave_send_times(day, at, [default_tz, *zones], default_tz=default_tz).values())


def wave_groups(
    day: date, at: time, zones: Iterable[str], *, default_tz: str
) -> dict[datetime, list[str]]:
    """Group time-zone names by the UTC instant their wave leaves."""
    groups: dict[datetime, list[str]] = defaultdict(list)
    for zone, instant in wave_send_times(day, at, zones, default_tz=default_tz).items():
        groups[instant].append(zone)
    return dict(groups)


def recurring_draft_date(next_window_start: date, weeks_before: int) -> date:
    """Return the day to draft the next issue of a recurring campaign, weeks before its window."""
    if weeks_before < 0:
        raise SchedulingError(f"weeks_before must not be negative, got {weeks_before}")
    return next_window_start - timedelta(weeks=weeks_before)
