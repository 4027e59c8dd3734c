"""Send rules and send times: pure functions, no database, no clock."""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

import pytest
from hypothesis import assume, given
from hypothesis import strategies as st

from campaigns.observances.catalogue import (
    Observance,
    ObservanceKind,
    ObservanceSource,
    find,
    load_catalogue,
    window,
)
from campaigns.observances.rules import FixedDate, PerYear
from campaigns.scheduling.rules import (
    SchedulingError,
    SendAnchor,
    SendRule,
    absolute_send_time,
    earliest_wave,
    is_business_day,
    is_federal_holiday,
    local_to_utc,
    next_observance_send_time,
    parse_rule,
    recurring_draft_date,
    send_time_for_observance,
    wave_groups,
    wave_send_times,
)

NEW_YORK = "America/New_York"
ZONES = [
    NEW_YORK,
    "America/Chicago",
    "America/Denver",
    "America/Phoenix",
    "America/Los_Angeles",
    "America/Anchorage",
    "Pacific/Honolulu",
    "Europe/London",
    "UTC",
]


def utc(*parts: int) -> datetime:
    return datetime(*parts, tzinfo=UTC)


def staff_day(month: int, day: int) -> Observance:
    return Observance(
        slug="staff-day",
        name="Staff day",
        kind=ObservanceKind.DAY,
        rule=FixedDate(month, day),
        region="US",
        description="A day staff added.",
        topic="monthly-digest",
        colour="#123456",
        source=ObservanceSource.STAFF,
    )


# --- parsing send rules --------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("first-business-day 10:00", SendRule(SendAnchor.FIRST_BUSINESS_DAY, time(10))),
        ("start 09:00", SendRule(SendAnchor.START, time(9))),
        ("3 days-before 09:00", SendRule(SendAnchor.DAYS_BEFORE, time(9), 3)),
        ("1 day-before 7:30", SendRule(SendAnchor.DAYS_BEFORE, time(7, 30), 1)),
        ("2 business-days-before 09:00", SendRule(SendAnchor.BUSINESS_DAYS_BEFORE, time(9), 2)),
        ("day 11 10:00", SendRule(SendAnchor.DAY, time(10), 11)),
        ("  Start   23:59 ", SendRule(SendAnchor.START, time(23, 59))),
    ],
)
def test_parse_rule_reads_each_form(text: str, expected: SendRule) -> None:
    assert parse_rule(text) == expected


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("", "cannot read send rule ''"),
        ("start", "expected 'start HH:MM'"),
        ("tomorrow 10:00", "cannot read send rule 'tomorrow 10:00'"),
        ("3 weeks-before 09:00", "cannot read send rule"),
        ("start 10am", "cannot read send rule"),
        ("start 24:00", "24:00 is not a time"),
        ("start 09:60", "09:60 is not a time"),
        ("0 days-before 09:00", "day count must be from 1 to 366"),
        ("day 0 10:00", "day count must be from 1 to 366"),
        ("400 business-days-before 09:00", "day count must be from 1 to 366"),
    ],
)
def test_parse_rule_explains_what_it_cannot_read(text: str, message: str) -> None:
    with pytest.raises(SchedulingError, match=message):
        parse_rule(text)


send_rules = st.builds(
    SendRule,
    st.sampled_from(list(SendAnchor)),
    st.times().map(lambda t: t.replace(second=0, microsecond=0)),
    st.integers(1, 366),
).map(
    lambda r: (
        SendRule(r.anchor, r.at)
        if r.anchor in (SendAnchor.START, SendAnchor.FIRST_BUSINESS_DAY)
        else r
    )
)


@given(send_rules)
def test_a_send_rule_reads_back_from_its_text(rule: SendRule) -> None:
    assert parse_rule(str(rule)) == rule


# --- calendar ------------------------------------------------------------------------------


def test_federal_holidays_include_observed_days_across_the_new_year() -> None:
    assert is_federal_holiday(date(2027, 12, 31))  # New Year's Day 2028 is a Saturday
    assert is_federal_holiday(date(2027, 7, 5))  # Independence Day 2027 is a Sunday
    assert not is_business_day(date(2027, 1, 1))
    assert not is_business_day(date(2027, 1, 2))
    assert is_business_day(date(2027, 1, 4))


# --- send times for observances ------------------------------------------------------------


def test_first_business_day_of_january_2027_skips_new_years_day_and_the_weekend() -> None:
    month = find("human-trafficking-prevention-month")
    got = send_time_for_observance(month, 2027, "first-business-day 10:00", NEW_YORK)
    assert got == utc(2027, 1, 4, 15)


def test_start_sends_on_the_first_day_even_on_a_weekend() -> None:
    day = find("human-trafficking-awareness-day")  # Sunday, January 11 2026
    assert send_time_for_observance(day, 2026, "start 09:00", NEW_YORK) == utc(2026, 1, 11, 14)


def test_skip_weekends_moves_to_monday() -> None:
    day = find("human-trafficking-awareness-day")
    got = send_time_for_observance(day, 2026, "start 09:00", NEW_YORK, skip_weekends=True)
    assert got == utc(2026, 1, 12, 14)


def test_skip_holidays_moves_past_memorial_day() -> None:
    day = find("missing-childrens-day")  # Monday, May 25 2026, which is Memorial Day
    assert send_time_for_observance(day, 2026, "start 09:00", NEW_YORK).date() == date(2026, 5, 25)
    got = send_time_for_observance(day, 2026, "start 09:00", NEW_YORK, skip_holidays=True)
    assert got == utc(2026, 5, 26, 13)


def test_skipping_weekends_and_holidays_together() -> None:
    new_years_eve_2027 = staff_day(12, 31)  # a Friday observed for New Year's Day 2028
    got = send_time_for_observance(
        new_years_eve_2027, 2027, "start 09:00", NEW_YORK, skip_weekends=True, skip_holidays=True
    )
    assert got == utc(2028, 1, 3, 14)


def test_days_before_counts_calendar_days() -> None:
    adoption_month = find("adoption-month")
    got = send_time_for_observance(adoption_month, 2026, "3 days-before 09:00", NEW_YORK)
    assert got == utc(2026, 10, 29, 13)


def test_business_days_before_skip_holidays_and_weekends() -> None:
    after_mlk_day = staff_day(1, 19)  # Tuesday; Monday January 18 2027 is a holiday
    got = send_time_for_observance(after_mlk_day, 2027, "1 business-days-before 09:00", NEW_YORK)
    assert got == utc(2027, 1, 15, 14)
    january = find("mentoring-month")
    got = send_time_for_observance(january, 2027, "2 business-days-before 09:00", NEW_YORK)
    assert got == utc(2026, 12, 30, 14)


def test_day_n_is_the_nth_day_of_the_window() -> None:
    january = find("human-trafficking-prevention-month")
    assert send_time_for_observance(january, 2027, "day 11 10:00", NEW_YORK) == utc(2027, 1, 11, 15)


@pytest.mark.parametrize(
    ("slug", "rule"), [("mentoring-month", "day 32 10:00"), ("safe-place-week", "day 8 10:00")]
)
def test_day_n_past_the_window_is_refused(slug: str, rule: str) -> None:
    with pytest.raises(SchedulingError, match="past the end of a"):
        send_time_for_observance(find(slug), 2027, rule, NEW_YORK)


def test_first_business_day_of_a_weekend_day_is_refused() -> None:
    adoption_day = find("adoption-day")  # always a Saturday
    with pytest.raises(SchedulingError, match="has no business day"):
        send_time_for_observance(adoption_day, 2027, "first-business-day 10:00", NEW_YORK)


def test_unlisted_year_and_unknown_zone_are_scheduling_errors() -> None:
    with pytest.raises(SchedulingError, match="'wear-blue-day': no dates listed for 2027"):
        send_time_for_observance(find("wear-blue-day"), 2027, "start 09:00", NEW_YORK)
    with pytest.raises(SchedulingError, match="unknown time zone 'Mars/Olympus'"):
        send_time_for_observance(find("adoption-day"), 2027, "start 09:00", "Mars/Olympus")


def test_a_send_after_spring_forward_uses_daylight_time() -> None:
    safe_place = find("safe-place-week")  # March 21 2027, after the March 14 change
    assert send_time_for_observance(safe_place, 2027, "start 09:00", NEW_YORK) == utc(
        2027, 3, 21, 13
    )


# --- local wall time to UTC ----------------------------------------------------------------


@pytest.mark.parametrize(
    ("local", "expected"),
    [
        (time(1, 59), utc(2027, 3, 14, 6, 59)),
        (time(2, 0), utc(2027, 3, 14, 7)),
        (time(2, 30), utc(2027, 3, 14, 7)),
        (time(2, 59), utc(2027, 3, 14, 7)),
        (time(3, 0), utc(2027, 3, 14, 7)),
        (time(3, 30), utc(2027, 3, 14, 7, 30)),
    ],
)
def test_spring_forward_gap_moves_to_the_first_valid_instant(
    local: time, expected: datetime
) -> None:
    assert local_to_utc(date(2027, 3, 14), local, NEW_YORK) == expected


@pytest.mark.parametrize(
    ("local", "expected"),
    [
        (time(0, 30), utc(2027, 11, 7, 4, 30)),
        (time(1, 0), utc(2027, 11, 7, 5)),
        (time(1, 30), utc(2027, 11, 7, 5, 30)),
        (time(2, 0), utc(2027, 11, 7, 7)),
    ],
)
def test_fall_back_takes_the_first_occurrence(local: time, expected: datetime) -> None:
    assert local_to_utc(date(2027, 11, 7), local, NEW_YORK) == expected


def test_half_hour_gap_moves_to_the_first_valid_instant() -> None:
    # Lord Howe Island moves its clocks by thirty minutes, from 02:00 to 02:30.
    got = local_to_utc(date(2026, 10, 4), time(2, 15), "Australia/Lord_Howe")
    assert got == utc(2026, 10, 3, 15, 30)
    assert got.astimezone(ZoneInfo("Australia/Lord_Howe")).time() == time(2, 30)


def test_absolute_send_time_reads_naive_times_in_the_zone() -> None:
    assert absolute_send_time(datetime(2027, 1, 4, 10), NEW_YORK) == utc(2027, 1, 4, 15)
    assert absolute_send_time(datetime(2027, 7, 6, 10), NEW_YORK) == utc(2027, 7, 6, 14)


def test_absolute_send_time_keeps_an_aware_instant() -> None:
    aware = datetime(2027, 1, 4, 10, tzinfo=ZoneInfo("America/Chicago"))
    assert absolute_send_time(aware, NEW_YORK) == utc(2027, 1, 4, 16)


def test_absolute_send_time_refuses_an_unknown_zone() -> None:
    with pytest.raises(SchedulingError, match="unknown time zone 'EST5'"):
        absolute_send_time(datetime(2027, 1, 4, 10), "EST5")


@given(
    st.datetimes(datetime(2024, 1, 1), datetime(2035, 12, 31)),
    st.sampled_from([*ZONES, "Australia/Lord_Howe"]),
)
def test_local_to_utc_keeps_the_wall_time_or_moves_forward_through_a_gap(
    local: datetime, tz: str
) -> None:
    local = local.replace(microsecond=0)
    got = local_to_utc(local.date(), local.time(), tz)
    back = got.astimezone(ZoneInfo(tz)).replace(tzinfo=None)
    assert got.tzinfo is UTC
    assert local <= back < local + timedelta(hours=1)
    if back != local:
        earlier = (got - timedelta(seconds=1)).astimezone(ZoneInfo(tz))
        assert earlier.replace(tzinfo=None) < local


# --- time-zone waves and recurring drafts --------------------------------------------------


def test_waves_send_at_the_same_wall_time_in_every_zone() -> None:
    waves = wave_send_times(date(2027, 1, 11), time(9), ZONES, default_tz=NEW_YORK)
    assert list(waves) == ZONES
    for tz, instant in waves.items():
        assert instant.astimezone(ZoneInfo(tz)).replace(tzinfo=None) == datetime(2027, 1, 11, 9)
    assert waves[NEW_YORK] == utc(2027, 1, 11, 14)
    assert waves["Pacific/Honolulu"] == utc(2027, 1, 11, 19)


def test_waves_fall_back_to_the_default_zone_for_unknown_names() -> None:
    waves = wave_send_times(
        date(2027, 7, 1), time(9), ["Nowhere/Town", "", "America/Chicago"], default_tz=NEW_YORK
    )
    assert waves["Nowhere/Town"] == waves[""] == utc(2027, 7, 1, 13)
    assert waves["America/Chicago"] == utc(2027, 7, 1, 14)


def test_waves_need_a_valid_default_zone() -> None:
    with pytest.raises(SchedulingError, match="unknown time zone"):
        wave_send_times(date(2027, 7, 1), time(9), [NEW_YORK], default_tz="Nowhere/Town")


@pytest.mark.parametrize(
    ("start", "weeks", "expected"),
    [
        (date(2027, 4, 1), 3, date(2027, 3, 11)),
        (date(2027, 1, 1), 2, date(2026, 12, 18)),
        (date(2028, 3, 1), 1, date(2028, 2, 23)),
        (date(2027, 4, 1), 0, date(2027, 4, 1)),
    ],
)
def test_recurring_draft_date_counts_back_whole_weeks(
    start: date, weeks: int, expected: date
) -> None:
    assert recurring_draft_date(start, weeks) == expected


def test_recurring_draft_date_refuses_negative_weeks() -> None:
    with pytest.raises(SchedulingError, match="must not be negative"):
        recurring_draft_date(date(2027, 4, 1), -1)


# --- properties ----------------------------------------------------------------------------

dated_observances = [o for o in load_catalogue() if not isinstance(o.rule, PerYear)]


@given(
    observance=st.sampled_from(dated_observances),
    year=st.integers(2024, 2035),
    rule=send_rules,
    tz=st.sampled_from(ZONES),
)
def test_skipping_never_lands_on_a_weekend_or_holiday_and_keeps_the_local_time(
    observance: Observance, year: int, rule: SendRule, tz: str
) -> None:
    # 01:00 to 02:59 can fall in a daylight-saving gap, which is tested separately.
    assume(not time(1) <= rule.at < time(3))
    try:
        got = send_time_for_observance(observance, year, rule, tz, True, True)
    except SchedulingError as exc:
        assert "past the end" in str(exc) or "no business day" in str(exc)
        return
    local = got.astimezone(ZoneInfo(tz))
    assert got.tzinfo is UTC
    assert local.time().replace(tzinfo=None) == rule.at
    assert is_business_day(local.date())


@given(
    observance=st.sampled_from(dated_observances),
    year=st.integers(2024, 2035),
    rule=send_rules.filter(lambda r: r.anchor is not SendAnchor.DAY),
)
def test_send_dates_relate_to_the_window_as_the_rule_says(
    observance: Observance, year: int, rule: SendRule
) -> None:
    observance_window = window(observance, year)
    try:
        got = send_time_for_observance(observance, year, rule, "UTC").date()
    except SchedulingError:
        assert rule.anchor is SendAnchor.FIRST_BUSINESS_DAY
        return
    if rule.anchor in (SendAnchor.START, SendAnchor.FIRST_BUSINESS_DAY):
        assert got in observance_window
    elif rule.anchor is SendAnchor.DAYS_BEFORE:
        assert (observance_window.start - got).days == rule.count
    else:
        assert got < observance_window.start
        assert is_business_day(got)


def test_staff_observances_schedule_like_catalogue_ones() -> None:
    leap_day = staff_day(2, 29)
    assert send_time_for_observance(leap_day, 2028, "start 12:00", "UTC") == utc(2028, 2, 29, 12)
    assert send_time_for_observance(leap_day, 2027, "start 12:00", "UTC") == utc(2027, 2, 28, 12)


def test_next_observance_send_time_moves_to_next_year_once_this_years_has_passed() -> None:
    january = find("human-trafficking-prevention-month")
    before = datetime(2026, 12, 6, tzinfo=UTC)
    after = datetime(2027, 1, 2, tzinfo=UTC)
    assert next_observance_send_time(january, "start 10:00", NEW_YORK, after=before) == (
        2027,
        datetime(2027, 1, 1, 15, tzinfo=UTC),
    )
    assert next_observance_send_time(january, "start 10:00", NEW_YORK, after=after)[0] == 2028


def test_next_observance_send_time_in_a_passed_year_says_so() -> None:
    january = find("human-trafficking-prevention-month")
    with pytest.raises(SchedulingError, match=r"send time for 2026 .* has passed"):
        next_observance_send_time(
            january, "start 10:00", NEW_YORK, after=datetime(2026, 6, 1, tzinfo=UTC), year=2026
        )


def test_wave_groups_put_zones_that_share_an_instant_together() -> None:
    groups = wave_groups(
        date(2027, 1, 4),
        time(10),
        ["America/New_York", "America/Toronto", "Europe/London", "Nowhere/Else"],
        default_tz=NEW_YORK,
    )
    assert groups == {
        datetime(2027, 1, 4, 15, tzinfo=UTC): [
            "America/New_York",
            "America/Toronto",
            "Nowhere/Else",
        ],
        datetime(2027, 1, 4, 10, tzinfo=UTC): ["Europe/London"],
    }
    assert earliest_wave(date(2027, 1, 4), time(10), ["Europe/London"], default_tz=NEW_YORK) == (
        datetime(2027, 1, 4, 10, tzinfo=UTC)
    )
