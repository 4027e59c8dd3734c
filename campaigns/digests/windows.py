"""Digest windows, as GOV.UK cuts them, in the organisation's time zone (pure, no clock reads).

A daily window runs from 08:00 to 08:00 local time; a weekly one ends at 08:00 on the digest
weekday and starts at 08:00 seven days before. Boundaries are local wall-clock times turned
into UTC one by one, so a daylight-saving change makes one window 23 or 25 hours long (or a
week 167 or 169) and never skips or repeats one.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from engine.config import WEEKDAYS
from engine.errors import ValidationFailed
from subscribers.models import Frequency

#: Local hour at which every window starts and ends.
DIGEST_HOUR = 8
DIGEST_FREQUENCIES = (Frequency.DAILY, Frequency.WEEKLY)
#: How long after its end a window runs. ``start_campaign`` stamps a bulletin's ``started_at``
#: at its compare-and-set but commits only after freezing its audience, seconds later (minutes
#: for a large one); a run in between would miss it, and the next window starts after it.
RUN_DELAY = timedelta(minutes=15)


@dataclass(frozen=True, slots=True)
class Window:
    """``[start, end)`` in aware UTC, for one frequency, cut in ``zone``."""

    frequency: Frequency
    start: datetime
    end: datetime
    zone: str

    @property
    def local_end(self) -> datetime:
        return self.end.astimezone(ZoneInfo(self.zone))

    @property
    def local_start(self) -> datetime:
        return self.start.astimezone(ZoneInfo(self.zone))


def check_frequency(value: str) -> Frequency:
    """Return the digest frequency called ``value``; refuse ``immediately`` and unknown names."""
    for frequency in DIGEST_FREQUENCIES:
        if value.strip().lower() == frequency.value:
            return frequency
    raise ValidationFailed(f"{value!r} is not a digest frequency; use daily or weekly.")


def check_weekday(value: str) -> int:
    """Return Monday=0 … Sunday=6 for a weekday's English name, as ``Settings`` accepts it."""
    name = value.strip().lower()
    if name in WEEKDAYS:
        return WEEKDAYS.index(name)
    raise ValidationFailed(f"{value!r} is not a weekday; write one such as saturday.")


def _boundary(day: date, zone: ZoneInfo) -> datetime:
    return datetime.combine(day, time(DIGEST_HOUR), tzinfo=zone).astimezone(UTC)


def window_ending_on(frequency: Frequency, day: date, zone: str) -> Window:
    """Return the window of ``frequency`` that ends at 08:00 local time on ``day``."""
    tz = ZoneInfo(zone)
    days = 7 if frequency is Frequency.WEEKLY else 1
    return Window(frequency, _boundary(day - timedelta(days=days), tz), _boundary(day, tz), zone)


def latest_window(frequency: Frequency, at: datetime, zone: str, weekday: int) -> Window:
    """Return the newest window of ``frequency`` that has ended by ``at`` (aware)."""
    tz = ZoneInfo(zone)
    day = at.astimezone(tz).date()
    if _boundary(day, tz) > at:
        day -= timedelta(days=1)
    if frequency is Frequency.WEEKLY:
        day -= timedelta(days=(day.weekday() - weekday) % 7)
    return window_ending_on(frequency, day, zone)


def recent_windows(
    frequency: Frequency, at: datetime, zone: str, weekday: int, count: int
) -> list[Window]:
    """Return the ``count`` newest windows ended by ``at``, oldest first (the scheduler's list)."""
    newest = latest_window(frequency, at, zone, weekday)
    step = timedelta(days=7 if frequency is Frequency.WEEKLY else 1)
    days = [newest.local_end.date() - step * n for n in range(count)]
    return [window_ending_on(frequency, day, zone) for day in reversed(days)]


def parse_window_end(value: str, zone: str) -> datetime:
    """Read an ISO 8601 instant; one without an offset is wall-clock time in ``zone``."""
    try:
        parsed = datetime.fromisoformat(value.strip())
    except ValueError:
        raise ValidationFailed(
            f"{value!r} is not an ISO 8601 date and time such as 2027-03-14T08:00."
        ) from None
    if parsed.tzinfo is None:
        parsed = parsed.replace(tzinfo=ZoneInfo(zone))
    try:
        # A window starts up to a week before its end: neither may leave the calendar.
        (parsed - timedelta(days=8)).astimezone(UTC)
        return parsed.astimezone(UTC)
    except OverflowError:
        raise ValidationFailed(
            f"{value!r} is outside the calendar digests can use; give a recent window end."
        ) from None


def check_window_ended(window: Window, at: datetime) -> None:
    """Raise ``ValidationFailed`` unless ``window`` ended at least ``RUN_DELAY`` before ``at``.

    A window that has not ended would send a partial digest, and the bulletins sent after the
    run would never be in one.
    """
    if window.end > at:
        raise ValidationFailed(
            f"The window ending {window.local_end:%Y-%m-%d %H:%M} has not ended yet; "
            "give a window end in the past."
        )
    if window.end > at - RUN_DELAY:
        ready = (window.end + RUN_DELAY).astimezone(ZoneInfo(window.zone))
        raise ValidationFailed(
            f"The window ending {window.local_end:%Y-%m-%d %H:%M} ended less than "
            f"{RUN_DELAY.seconds // 60} minutes ago, and bulletins started just before its end "
            f"may still be freezing their audience; run it after {ready:%H:%M}."
        )
