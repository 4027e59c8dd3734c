"""Digest windows: 08:00 to 08:00 local, the weekly one on the digest weekday, across DST."""

from __future__ import annotations

import itertools
from datetime import UTC, date, datetime, timedelta

import pytest

from campaigns.digests.windows import (
    check_frequency,
    check_weekday,
    latest_window,
    parse_window_end,
    recent_windows,
    window_ending_on,
)
from engine.config import WEEKDAYS
from engine.errors import ValidationFailed
from subscribers.models import Frequency

NEW_YORK = "America/New_York"
SATURDAY = 5


def test_the_dst_week_of_march_2027_has_seven_daily_windows_without_gap_or_overlap() -> None:
    # Clocks in New York go forward at 02:00 on Sunday 14 March 2027 (back on 7 November).
    days = [date(2027, 3, 9) + timedelta(days=n) for n in range(7)]
    windows = [window_ending_on(Frequency.DAILY, day, NEW_YORK) for day in days]
    assert len({window.end for window in windows}) == 7
    for earlier, later in itertools.pairwise(windows):
        assert earlier.end == later.start
    for window in windows:
        assert window.local_start.hour == window.local_end.hour == 8
    hours = [(window.end - window.start) / timedelta(hours=1) for window in windows]
    assert hours == [24, 24, 24, 24, 24, 23, 24]
    # The scheduler's view of the same week: one window a day, each once.
    span = int((windows[-1].end - windows[0].end) / timedelta(minutes=30))
    ticks = [windows[0].end + timedelta(minutes=30 * n) for n in range(span + 1)]
    seen = {latest_window(Frequency.DAILY, tick, NEW_YORK, SATURDAY) for tick in ticks}
    assert seen == set(windows)


def test_autumn_change_makes_a_25_hour_window_and_a_169_hour_week() -> None:
    window = window_ending_on(Frequency.DAILY, date(2027, 11, 7), NEW_YORK)
    assert window.end - window.start == timedelta(hours=25)
    week = window_ending_on(Frequency.WEEKLY, date(2027, 11, 13), NEW_YORK)
    assert week.end - week.start == timedelta(hours=169)
    assert week.local_end.weekday() == SATURDAY


def test_weekly_window_ends_at_08_00_on_the_last_digest_weekday() -> None:
    friday_noon = datetime(2027, 3, 19, 16, tzinfo=UTC)
    window = latest_window(Frequency.WEEKLY, friday_noon, NEW_YORK, SATURDAY)
    assert window.local_end == datetime.fromisoformat("2027-03-13T08:00-05:00")
    assert window.local_start.date() == date(2027, 3, 6)
    saturday_morning = datetime(2027, 3, 20, 12, 30, tzinfo=UTC)  # 08:30 EDT
    assert latest_window(Frequency.WEEKLY, saturday_morning, NEW_YORK, SATURDAY).local_end.day == 20
    monday = latest_window(Frequency.WEEKLY, saturday_morning, NEW_YORK, check_weekday(" Monday"))
    assert monday.local_end.date() == date(2027, 3, 15)


def test_before_08_00_the_latest_daily_window_ended_yesterday() -> None:
    early = datetime(2027, 3, 10, 12, 59, tzinfo=UTC)  # 07:59 EST
    assert latest_window(Frequency.DAILY, early, NEW_YORK, SATURDAY).local_end.day == 9
    later = early + timedelta(minutes=1)
    assert latest_window(Frequency.DAILY, later, NEW_YORK, SATURDAY).local_end.day == 10
    recent = recent_windows(Frequency.DAILY, later, NEW_YORK, SATURDAY, 2)
    assert [window.local_end.day for window in recent] == [9, 10]


def test_inputs_are_checked() -> None:
    assert check_frequency(" Weekly ") is Frequency.WEEKLY
    for bad in ("immediately", "hourly"):
        with pytest.raises(ValidationFailed):
            check_frequency(bad)
    # Exactly the names Settings accepts for PINWHEEL_DIGEST_WEEKDAY, no abbreviations.
    for bad in ("someday", "sat", ""):
        with pytest.raises(ValidationFailed):
            check_weekday(bad)
    assert [check_weekday(day.upper()) for day in WEEKDAYS] == list(range(7))
    assert parse_window_end("2027-03-14T08:00", NEW_YORK) == datetime(2027, 3, 14, 12, tzinfo=UTC)
    with pytest.raises(ValidationFailed):
        parse_window_end("tomorrow", NEW_YORK)
