"""The timeline's periods: hours for the first two local days, then local days (no database)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from itertools import pairwise

from hypothesis import given
from hypothesis import strategies as st

from campaigns.events.timeline import SERIES, TIMELINE_DAYS, build_timeline

NEW_YORK = "America/New_York"


def _utc(year: int, month: int, day: int, hour: int = 0, minute: int = 0) -> datetime:
    return datetime(year, month, day, hour, minute, tzinfo=UTC)


def test_hours_until_midnight_ending_the_next_local_day_then_days() -> None:
    # 09:20 in New York (EST, UTC-5) on Tuesday, March 3: hours run to midnight ending March 4.
    start = _utc(2026, 3, 3, 14, 20)
    counts = [
        (_utc(2026, 3, 3, 14), "opened", 3),
        (_utc(2026, 3, 3, 14), "delivered", 10),
        (_utc(2026, 3, 3, 15), "opened", 1),
        (_utc(2026, 3, 3, 15), "clicked", 2),
        (_utc(2026, 3, 7, 10), "opened", 4),  # Saturday, March 7 in New York
        (_utc(2026, 4, 20, 12), "clicked", 1),  # after the days charted
    ]
    timeline = build_timeline(counts, start=start, zone=NEW_YORK, until=_utc(2026, 3, 9, 12))
    assert len(timeline.hours) == 39  # 09:00 March 3 to midnight ending March 4
    assert timeline.hours[0].start == _utc(2026, 3, 3, 14)
    assert timeline.hours[-1].end == _utc(2026, 3, 5, 5)  # midnight in New York
    assert timeline.hours[0].values == {**dict.fromkeys(SERIES, 0), "opened": 3, "delivered": 10}
    assert (timeline.hours[1].values["opened"], timeline.hours[1].values["clicked"]) == (1, 2)
    # Local days March 5 to 9 (the 9th has begun at ``until``); EDT from March 8.
    starts = [_utc(2026, 3, 5, 5), _utc(2026, 3, 6, 5), _utc(2026, 3, 7, 5), _utc(2026, 3, 8, 5),
              _utc(2026, 3, 9, 4)]  # fmt: skip
    assert [day.start for day in timeline.days] == starts
    assert timeline.days[2].values["opened"] == 4
    assert timeline.later == {**dict.fromkeys(SERIES, 0), "clicked": 1}
    assert timeline.totals() == {**dict.fromkeys(SERIES, 0), "opened": 8, "clicked": 3,
                                 "delivered": 10}  # fmt: skip
    assert timeline.series() == ["opened", "clicked", "delivered"]
    assert not timeline.empty and not timeline.quiet_days


def test_a_daylight_saving_day_has_23_hours() -> None:
    # New York moves to EDT at 02:00 on Sunday, March 8, 2026.
    timeline = build_timeline(
        [], start=_utc(2026, 3, 7, 14), zone=NEW_YORK, until=_utc(2026, 3, 12)
    )
    assert len(timeline.hours) == 15 + 23  # Saturday from 09:00, then the short Sunday
    assert timeline.hours[-1].end == _utc(2026, 3, 9, 4)  # midnight EDT
    assert timeline.days[0].end - timeline.days[0].start == timedelta(hours=24)
    assert timeline.empty and timeline.quiet_days


def test_periods_stop_at_now_and_early_events_count_in_the_first_hour() -> None:
    start = _utc(2026, 3, 3, 14, 5)
    counts = [(_utc(2026, 3, 3, 13), "delivered", 2), (_utc(2026, 3, 3, 16), "opened", 1)]
    timeline = build_timeline(counts, start=start, zone=NEW_YORK, until=_utc(2026, 3, 3, 15, 30))
    # 14:00 and 15:00 are past or running; 16:00 has an event (a provider clock running fast).
    assert [hour.start.hour for hour in timeline.hours] == [14, 15, 16]
    assert timeline.hours[0].values["delivered"] == 2 and timeline.days == []


def test_a_half_hour_zone_ends_the_hourly_part_at_its_midnight() -> None:
    # Kolkata is UTC+5:30: the hours are UTC hours, the last one stops at local midnight.
    timeline = build_timeline(
        [], start=_utc(2026, 3, 3, 4), zone="Asia/Kolkata", until=_utc(2026, 3, 6)
    )
    assert timeline.hours[-1].end == _utc(2026, 3, 4, 18, 30)
    assert timeline.hours[-1].end - timeline.hours[-1].start == timedelta(minutes=30)
    assert timeline.days[0].start == _utc(2026, 3, 4, 18, 30)


@given(
    start=st.datetimes(min_value=datetime(2020, 1, 1), max_value=datetime(2035, 1, 1)),
    offsets=st.lists(st.integers(min_value=-5, max_value=24 * 40), max_size=30),
    zone=st.sampled_from([NEW_YORK, "UTC", "Asia/Kolkata", "Pacific/Auckland"]),
)
def test_every_event_is_counted_once_in_contiguous_periods(
    start: datetime, offsets: list[int], zone: str
) -> None:
    start = start.replace(tzinfo=UTC)
    hour = start.replace(minute=0, second=0, microsecond=0)
    counts = [(hour + timedelta(hours=n), "opened", 1) for n in offsets]
    timeline = build_timeline(counts, start=start, zone=zone, until=start)
    periods = [*timeline.hours, *timeline.days]
    assert all(a.end == b.start for a, b in pairwise(periods))
    # 49: a day that ends daylight saving has 25 hours.
    assert len(timeline.hours) <= 49 and len(timeline.days) <= TIMELINE_DAYS
    assert timeline.totals()["opened"] == len(offsets)
