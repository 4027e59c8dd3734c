"""Observance rules, their plain-dict form and the shipped catalogue: pure, no database."""

from __future__ import annotations

import json
from datetime import UTC, date, datetime, timedelta
from typing import Any

import holidays
import pytest
from hypothesis import given
from hypothesis import strategies as st

from campaigns.observances.catalogue import (
    CATALOGUE_TOPICS,
    Observance,
    ObservanceKind,
    ObservanceSource,
    catalogue_revised,
    find,
    load_catalogue,
    next_window,
    observance_from_dict,
    observances_in_year,
    parse_catalogue,
    parse_revised,
    window,
)
from campaigns.observances.rules import (
    LAST,
    DateWindow,
    Direction,
    FixedDate,
    FixedRange,
    NthWeekday,
    ObservanceError,
    PerYear,
    Relative,
    Rule,
    Weekday,
    WholeMonth,
    YearNotListedError,
    nth_weekday,
    rule_from_dict,
    rule_to_dict,
)

YEARS = range(2024, 2036)
THANKSGIVING = NthWeekday(11, Weekday.THURSDAY, 4)
ADOPTION_DAY = Relative(THANKSGIVING, Direction.BEFORE, weekday=Weekday.SATURDAY)


def staff_observance(rule: Rule, slug: str = "staff-day", kind: str = "day") -> Observance:
    return Observance(
        slug=slug,
        name="Staff day",
        kind=ObservanceKind(kind),
        rule=rule,
        region="US",
        description="A day staff added.",
        topic="monthly-digest",
        colour="#123456",
        source=ObservanceSource.STAFF,
    )


def contrast_with_white(colour: str) -> float:
    def channel(hex_pair: str) -> float:
        value = int(hex_pair, 16) / 255
        return value / 12.92 if value <= 0.04045 else ((value + 0.055) / 1.055) ** 2.4

    red, green, blue = (channel(colour[index : index + 2]) for index in (1, 3, 5))
    luminance = 0.2126 * red + 0.7152 * green + 0.0722 * blue
    return 1.05 / (luminance + 0.05)


# --- rule kinds ----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("year", "end"),
    [(2024, date(2024, 2, 29)), (2027, date(2027, 2, 28)), (2100, date(2100, 2, 28))],
)
def test_whole_month_covers_february_in_leap_and_common_years(year: int, end: date) -> None:
    assert WholeMonth(2).window(year) == DateWindow(date(year, 2, 1), end)


def test_whole_month_of_december_ends_on_the_31st() -> None:
    assert WholeMonth(12).window(2026) == DateWindow(date(2026, 12, 1), date(2026, 12, 31))


def test_fixed_date_is_one_day_by_default() -> None:
    assert FixedDate(1, 11).window(2027) == DateWindow(date(2027, 1, 11), date(2027, 1, 11))


def test_fixed_date_can_last_several_days_into_the_next_year() -> None:
    assert FixedDate(12, 30, days=4).window(2026) == DateWindow(
        date(2026, 12, 30), date(2027, 1, 2)
    )


@pytest.mark.parametrize(
    ("year", "expected"), [(2028, date(2028, 2, 29)), (2027, date(2027, 2, 28))]
)
def test_fixed_date_on_february_29_falls_on_the_28th_in_common_years(
    year: int, expected: date
) -> None:
    assert FixedDate(2, 29).window(year).start == expected


def test_fixed_range_within_a_year() -> None:
    red_ribbon = FixedRange(10, 23, 10, 31)
    assert red_ribbon.window(2026) == DateWindow(date(2026, 10, 23), date(2026, 10, 31))
    assert not red_ribbon.crosses_year


@pytest.mark.parametrize("year", [2024, 2026, 2027, 2035])
def test_fixed_range_crossing_the_year_boundary_ends_next_year(year: int) -> None:
    holidays_break = FixedRange(12, 28, 1, 3)
    got = holidays_break.window(year)
    assert holidays_break.crosses_year
    assert got == DateWindow(date(year, 12, 28), date(year + 1, 1, 3))
    assert got.days == 7


def test_fixed_range_over_february_is_a_day_longer_in_leap_years() -> None:
    late_feb = FixedRange(2, 27, 3, 1)
    assert late_feb.window(2028).days == 4
    assert late_feb.window(2027).days == 3


@pytest.mark.parametrize(
    ("year", "expected"),
    [
        (2024, date(2024, 11, 28)),
        (2025, date(2025, 11, 27)),
        (2026, date(2026, 11, 26)),
        (2027, date(2027, 11, 25)),
        (2028, date(2028, 11, 23)),
        (2030, date(2030, 11, 28)),
    ],
)
def test_fourth_thursday_of_november_is_thanksgiving(year: int, expected: date) -> None:
    assert THANKSGIVING.window(year).start == expected


@pytest.mark.parametrize("year", YEARS)
def test_nth_weekday_agrees_with_federal_holiday_dates(year: int) -> None:
    federal = {name: day for day, name in holidays.US(years=year).items()}
    assert nth_weekday(year, 11, Weekday.THURSDAY, 4) == federal["Thanksgiving Day"]
    assert nth_weekday(year, 5, Weekday.MONDAY, LAST) == federal["Memorial Day"]
    assert nth_weekday(year, 9, Weekday.MONDAY, 1) == federal["Labor Day"]
    assert nth_weekday(year, 1, Weekday.MONDAY, 3) == federal["Martin Luther King Jr. Day"]


def test_nth_weekday_can_last_a_week() -> None:
    safe_place = NthWeekday(3, Weekday.SUNDAY, 3, days=7)
    assert safe_place.window(2021) == DateWindow(date(2021, 3, 21), date(2021, 3, 27))


@pytest.mark.parametrize(
    ("year", "expected"),
    [
        (2024, date(2024, 11, 23)),
        (2025, date(2025, 11, 22)),
        (2026, date(2026, 11, 21)),
        (2027, date(2027, 11, 20)),
        (2028, date(2028, 11, 18)),
    ],
)
def test_adoption_day_is_the_saturday_before_thanksgiving(year: int, expected: date) -> None:
    assert ADOPTION_DAY.window(year).start == expected
    assert window(find("adoption-day"), year).start == expected


@pytest.mark.parametrize("year", YEARS)
def test_weekday_before_is_strictly_before_the_anchor(year: int) -> None:
    thursday_before = Relative(THANKSGIVING, Direction.BEFORE, weekday=Weekday.THURSDAY)
    assert THANKSGIVING.window(year).start - thursday_before.window(year).start == timedelta(7)


def test_days_after_and_before_an_anchor() -> None:
    after = Relative(THANKSGIVING, Direction.AFTER, offset_days=1)
    before = Relative(WholeMonth(1), Direction.BEFORE, offset_days=3)
    assert after.window(2026).start == date(2026, 11, 27)
    assert before.window(2027) == DateWindow(date(2026, 12, 29), date(2026, 12, 29))


def test_grandparents_day_is_the_sunday_after_labor_day() -> None:
    assert window(find("grandparents-day"), 2025).start == date(2025, 9, 7)
    assert window(find("grandparents-day"), 2026).start == date(2026, 9, 13)


def test_per_year_dates_give_the_listed_window() -> None:
    rule = PerYear((DateWindow(date(2026, 3, 15), date(2026, 3, 21)),))
    assert rule.window(2026) == DateWindow(date(2026, 3, 15), date(2026, 3, 21))


def test_per_year_dates_name_the_missing_year_and_the_slug() -> None:
    observance = staff_observance(PerYear((DateWindow(date(2026, 5, 1), date(2026, 5, 1)),)))
    with pytest.raises(YearNotListedError, match=r"'staff-day'.*2027.*listed: 2026"):
        window(observance, 2027)


def test_window_ending_before_it_starts_is_refused() -> None:
    with pytest.raises(ObservanceError, match="before it starts"):
        DateWindow(date(2026, 1, 2), date(2026, 1, 1))


# --- plain-dict form -----------------------------------------------------------------------

weekdays = st.sampled_from(list(Weekday))
months = st.integers(1, 12)
leaf_rules = st.one_of(
    st.builds(WholeMonth, months),
    st.builds(FixedDate, months, st.integers(1, 28), st.integers(1, 31)),
    st.builds(FixedRange, months, st.integers(1, 28), months, st.integers(1, 28)),
    st.builds(NthWeekday, months, weekdays, st.sampled_from([1, 2, 3, 4, LAST]), st.integers(1, 7)),
    st.builds(
        lambda starts: PerYear(tuple(DateWindow(day, day) for day in starts)),
        st.lists(
            st.dates(date(2020, 1, 1), date(2040, 12, 31)), min_size=1, unique_by=lambda d: d.year
        ),
    ),
)
rules = st.recursive(
    leaf_rules,
    lambda anchors: st.one_of(
        st.builds(Relative, anchors, st.sampled_from(list(Direction)), st.integers(1, 366)),
        st.builds(
            lambda anchor, direction, weekday: Relative(anchor, direction, weekday=weekday),
            anchors,
            st.sampled_from(list(Direction)),
            weekdays,
        ),
    ),
    max_leaves=3,
)


@given(rules)
def test_rules_survive_a_json_round_trip(rule: Rule) -> None:
    assert rule_from_dict(json.loads(json.dumps(rule_to_dict(rule)))) == rule


def test_catalogue_rules_survive_a_json_round_trip() -> None:
    for observance in load_catalogue():
        stored = json.loads(json.dumps(rule_to_dict(observance.rule)))
        assert rule_from_dict(stored, slug=observance.slug) == observance.rule


def test_last_is_written_as_a_word() -> None:
    assert rule_to_dict(NthWeekday(5, Weekday.MONDAY, LAST))["n"] == "last"
    parsed = rule_from_dict({"type": "nth-weekday", "month": 5, "weekday": "monday", "n": -1})
    assert parsed == NthWeekday(5, Weekday.MONDAY, LAST)


@pytest.mark.parametrize(
    ("data", "message"),
    [
        ("month", r"rule: expected a table, got str"),
        ({}, r"rule\.type: is required"),
        ({"type": "season"}, r"rule\.type: must be one of month, fixed-date"),
        ({"type": "month", "month": 13}, r"rule\.month: must be a whole number from 1 to 12"),
        ({"type": "month", "month": True}, r"rule\.month: must be a whole number"),
        ({"type": "month", "month": "4"}, r"rule\.month: must be a whole number"),
        ({"type": "month", "month": 4, "day": 1}, r"rule\.day: unknown field"),
        ({"type": "fixed-date", "month": 4, "day": 31}, r"rule\.day: .* from 1 to 30"),
        ({"type": "fixed-date", "month": 2, "day": 30}, r"rule\.day: .* from 1 to 29"),
        ({"type": "fixed-date", "month": 2}, r"rule\.day: is required"),
        (
            {"type": "fixed-range", "start_month": 12, "start_day": 28, "end_month": 1},
            r"rule\.end_day: is required",
        ),
        (
            {"type": "nth-weekday", "month": 11, "weekday": "thursday", "n": 5},
            r"rule\.n: .* from 1 to 4",
        ),
        (
            {"type": "nth-weekday", "month": 11, "weekday": "thu", "n": 4},
            r"rule\.weekday: must be one of monday",
        ),
        (
            {"type": "relative", "anchor": {"type": "month", "month": 0}, "direction": "before"},
            r"rule\.anchor\.month: must be a whole number",
        ),
        (
            {"type": "relative", "anchor": {"type": "month", "month": 1}, "direction": "before"},
            r"rule\.offset_days: give exactly one of offset_days and weekday",
        ),
        (
            {
                "type": "relative",
                "anchor": {"type": "month", "month": 1},
                "direction": "after",
                "offset_days": 2,
                "weekday": "friday",
            },
            r"rule\.offset_days: give exactly one",
        ),
        (
            {
                "type": "relative",
                "anchor": {"type": "month", "month": 1},
                "direction": "around",
                "offset_days": 2,
            },
            r"rule\.direction: must be one of before, after",
        ),
        ({"type": "per-year", "dates": []}, r"rule\.dates: must be a non-empty list"),
        ({"type": "per-year", "dates": [{"start": "2026-13-01"}]}, r"rule\.dates\[0\]\.start"),
        (
            {"type": "per-year", "dates": [{"start": "2026-05-02", "end": "2026-05-01"}]},
            r"rule\.dates\[0\]\.end: 2026-05-01 is before start",
        ),
        (
            {"type": "per-year", "dates": [{"start": "2026-05-02"}, {"start": "2026-06-01"}]},
            r"rule\.dates: lists 2026 more than once",
        ),
        ({"type": "per-year", "dates": ["2026-05-02"]}, r"rule\.dates\[0\]: expected a table"),
    ],
)
def test_bad_rule_data_names_the_slug_and_the_field(data: Any, message: str) -> None:
    with pytest.raises(ObservanceError, match=r"observance 'bad-one': " + message):
        rule_from_dict(data, slug="bad-one")


# --- observance entries and the catalogue file ---------------------------------------------

GOOD_ENTRY = """
[[observance]]
slug = "good-day"
name = "Good Day"
kind = "day"
rule = { type = "fixed-date", month = 6, day = 1 }
region = "US"
description = "A good day."
topic = "foster-care"
colour = "#1d4e89"
"""


def test_a_well_formed_catalogue_parses() -> None:
    (observance,) = parse_catalogue(GOOD_ENTRY)
    assert observance.rule == FixedDate(6, 1)
    assert observance.colour == "#1D4E89"
    assert observance.banner is None
    assert observance.source == "catalogue"


@pytest.mark.parametrize(
    ("change", "message"),
    [
        (('kind = "day"', 'kind = "season"'), r"'good-day': kind: must be one of month"),
        (
            ('colour = "#1d4e89"', 'colour = "blue"'),
            r"'good-day': colour: 'blue' is not a #RRGGBB colour",
        ),
        (('topic = "foster-care"', 'topic = "puppies"'), r"'good-day': topic: 'puppies'"),
        (('name = "Good Day"', 'name = ""'), r"'good-day': name: must be non-empty text"),
        (('slug = "good-day"', 'slug = "Good Day"'), r"observance #1: slug: 'Good Day'"),
        (('region = "US"', 'regoin = "US"'), r"'good-day': regoin: unknown field"),
        (("month = 6", "month = 16"), r"'good-day': rule\.month: must be a whole number"),
        (("[[observance]]", "[[observance]"), r"catalogue: invalid TOML"),
        (("[[observance]]", "[[observances]]"), r"catalogue: expected one or more"),
    ],
)
def test_bad_catalogue_entries_name_the_slug_and_the_field(
    change: tuple[str, str], message: str
) -> None:
    with pytest.raises(ObservanceError, match=message):
        parse_catalogue(GOOD_ENTRY.replace(*change))


def test_duplicate_slugs_are_refused() -> None:
    with pytest.raises(ObservanceError, match=r"'good-day': slug: listed more than once"):
        parse_catalogue(GOOD_ENTRY + GOOD_ENTRY)


def test_staff_observances_build_from_the_same_plain_dict() -> None:
    data = {
        "slug": "county-fair-day",
        "name": "County Fair Family Day",
        "kind": "day",
        "rule": rule_to_dict(FixedDate(8, 14)),
        "region": "US-OR",
        "description": "Our booth at the county fair.",
        "topic": "county-news",
        "colour": "#224466",
    }
    observance = observance_from_dict(data, source=ObservanceSource.STAFF)
    assert observance.source == "staff"
    assert window(observance, 2027) == DateWindow(date(2027, 8, 14), date(2027, 8, 14))


def test_catalogue_is_loaded_once_and_is_big_enough() -> None:
    catalogue = load_catalogue()
    assert load_catalogue() is catalogue
    assert len(catalogue) >= 25
    assert len({observance.slug for observance in catalogue}) == len(catalogue)


def test_catalogue_carries_the_time_of_its_last_revision() -> None:
    # The stamp only moves forward, with each edit of the file.
    assert catalogue_revised() >= datetime(2026, 11, 21, 20, 7, 14, tzinfo=UTC)
    assert parse_revised("revised = 2027-01-04T10:00:00-05:00\n") == datetime(
        2027, 1, 4, 15, tzinfo=UTC
    )
    for text in ("", "revised = 2027-01-04\n", "revised = 2027-01-04T10:00:00\n", "revised ="):
        with pytest.raises(ObservanceError, match=r"revised|TOML"):
            parse_revised(text)


def test_catalogue_covers_every_month_of_the_year() -> None:
    months = {window(o, 2027).start.month for o in load_catalogue() if o.kind == "month"}
    assert months >= {1, 2, 3, 4, 5, 6, 7, 9, 10, 11}


def test_catalogue_entries_are_complete() -> None:
    for observance in load_catalogue():
        assert observance.topic in CATALOGUE_TOPICS, observance.slug
        assert observance.region and observance.name and observance.description
        assert len(observance.description) <= 200, observance.slug
        assert observance.source == ObservanceSource.CATALOGUE


@pytest.mark.parametrize("observance", load_catalogue(), ids=lambda o: o.slug)
def test_catalogue_colour_is_readable_under_white_text(observance: Observance) -> None:
    assert contrast_with_white(observance.colour) >= 4.5


def test_contrast_formula_matches_known_values() -> None:
    assert contrast_with_white("#000000") == pytest.approx(21)
    assert contrast_with_white("#FFFFFF") == pytest.approx(1)
    assert contrast_with_white("#767676") == pytest.approx(4.54, abs=0.01)


@pytest.mark.parametrize("observance", load_catalogue(), ids=lambda o: o.slug)
def test_every_catalogue_entry_has_a_window_of_its_kind_each_year(observance: Observance) -> None:
    for year in YEARS:
        if isinstance(observance.rule, PerYear) and year not in observance.rule.years:
            with pytest.raises(YearNotListedError, match=rf"'{observance.slug}'.*{year}"):
                window(observance, year)
            continue
        got = window(observance, year)
        assert got.start.year == year
        if observance.kind == ObservanceKind.MONTH:
            assert got == WholeMonth(got.start.month).window(year)
        elif observance.kind == ObservanceKind.WEEK:
            assert 5 <= got.days <= 9
        else:
            assert got.days == 1


def test_wear_blue_day_lists_only_announced_years() -> None:
    assert window(find("wear-blue-day"), 2024).start == date(2024, 4, 5)
    with pytest.raises(YearNotListedError, match="no dates listed for 2030"):
        window(find("wear-blue-day"), 2030)


def test_observances_in_year_are_sorted_by_start() -> None:
    occurrences = observances_in_year(2027)
    starts = [occurrence.window.start for occurrence in occurrences]
    assert starts == sorted(starts)
    assert occurrences[0].observance.kind == ObservanceKind.MONTH
    assert "wear-blue-day" not in {o.observance.slug for o in occurrences}
    assert "wear-blue-day" in {o.observance.slug for o in observances_in_year(2024)}


def test_observances_in_year_include_extra_observances() -> None:
    extra = staff_observance(FixedDate(2, 29))
    occurrences = observances_in_year(2028, extra=[extra])
    (found,) = [o for o in occurrences if o.observance is extra]
    assert found.window.start == date(2028, 2, 29)


def test_find_returns_the_entry_or_suggests_close_slugs() -> None:
    assert find("adoption-day").name == "National Adoption Day"
    with pytest.raises(ObservanceError, match=r"unknown observance 'adoptoin-day'; did you mean"):
        find("adoptoin-day")
    with pytest.raises(ObservanceError, match=r"unknown observance 'zzz'$"):
        find("zzz")


def test_next_window_looks_into_the_following_year() -> None:
    adoption_day = find("adoption-day")
    assert next_window(adoption_day, date(2026, 11, 21)) == ADOPTION_DAY.window(2026)
    assert next_window(adoption_day, date(2026, 11, 22)) == ADOPTION_DAY.window(2027)
    assert next_window(find("wear-blue-day"), date(2025, 1, 1)) is None


def test_every_catalogue_observance_has_a_spanish_name_and_banner_where_it_has_one() -> None:
    from campaigns.observances.catalogue import load_catalogue

    for observance in load_catalogue():
        assert observance.name_in("es") != observance.name, observance.slug
        assert bool(observance.banner_in("es")) == bool(observance.banner), observance.slug
        # A language it is not written in falls back to English.
        assert observance.name_in("fr") == observance.name


def test_a_translation_must_be_a_table_of_name_and_banner() -> None:
    from campaigns.observances.catalogue import ObservanceError, observance_from_dict

    entry = {
        "slug": "x-day", "name": "X Day", "kind": "day", "region": "US", "description": "d",
        "topic": "t", "colour": "#123456", "rule": {"type": "fixed-date", "month": 1, "day": 2},
    }  # fmt: skip
    with pytest.raises(ObservanceError, match="es: must be a table"):
        observance_from_dict({**entry, "es": "Día X"})
    with pytest.raises(ObservanceError, match="name: must be non-empty"):
        observance_from_dict({**entry, "es": {"banner": "Hola"}})
    assert observance_from_dict({**entry, "es": {"name": "Día X"}}).name_in("es") == "Día X"
