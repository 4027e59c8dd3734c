"""Chart geometry: one row per series on its own scale, labels in local time (no database)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from campaigns.events.chart import (
    Column,
    Series,
    day_columns,
    hour_columns,
    small_multiples,
    timeline_series,
)
from campaigns.events.timeline import SERIES, Period

START = datetime(2026, 3, 3, 14, tzinfo=UTC)  # 09:00 in New York


def _hours(values: list[dict[str, int]]) -> list[Period]:
    return [
        Period(START + timedelta(hours=n), START + timedelta(hours=n + 1),
               {**dict.fromkeys(SERIES, 0), **value})
        for n, value in enumerate(values)
    ]  # fmt: skip


def test_each_series_has_its_own_row_and_scale() -> None:
    columns = hour_columns(_hours([{"opened": 4, "clicked": 1}, {"opened": 2}, {}]), "UTC")
    chart = small_multiples(columns, timeline_series(["opened", "clicked"]))
    opened, clicked = chart.rows
    assert (opened.label, opened.maximum, clicked.label, clicked.maximum) == (
        "Opens by people", "4", "Clicks", "1"
    )  # fmt: skip
    # The tallest bar of each row fills it; a zero draws nothing.
    assert [bar.height for bar in opened.bars] == [56.0, 28.0]
    assert [bar.height for bar in clicked.bars] == [56.0]
    assert clicked.top > opened.baseline
    assert opened.bars[0].title == "Mar 3, 14:00 to 15:00: 4 opens by people"
    assert opened.bars[0].y + opened.bars[0].height == opened.baseline
    assert chart.description == (
        "Opens by people: 6 in all, most in Mar 3, 14:00 to 15:00 (4). "
        "Clicks: 1 in all, most in Mar 3, 14:00 to 15:00 (1)."
    )
    assert chart.columns == columns and chart.height > clicked.baseline


def test_hour_labels_every_six_local_hours_with_the_date_at_midnight() -> None:
    columns = hour_columns(_hours([{}] * 24), "America/New_York")
    ticks = [(column.name, column.tick) for column in columns if column.tick]
    assert ticks == [
        ("Mar 3, 12:00 to 13:00", ("12:00", "Mar 3")),
        ("Mar 3, 18:00 to 19:00", ("18:00",)),
        ("Mar 4, 00:00 to 01:00", ("00:00", "Mar 4")),
        ("Mar 4, 06:00 to 07:00", ("06:00",)),
    ]


def test_day_labels_stay_about_ten() -> None:
    days = [
        Period(START + timedelta(days=n), START + timedelta(days=n + 1), dict.fromkeys(SERIES, 0))
        for n in range(28)
    ]
    columns = day_columns(days, "UTC")
    labelled = [column.tick for column in columns if column.tick]
    assert len(labelled) == 10 and labelled[:2] == [("Mar 3",), ("Mar 6",)]


def test_rates_show_as_percentages_and_missing_ones_draw_nothing() -> None:
    columns = [
        Column("Spring", {"open": 0.25}),
        Column("Summer", {"open": None}),
        Column("Autumn", {"open": 0.5}),
    ]
    chart = small_multiples(columns, [Series("open", "Open rate", percent=True)])
    [row] = chart.rows
    assert row.maximum == "50.0%" and len(row.bars) == 2
    assert chart.description == "Open rate: from 25.0% (Spring) to 50.0% (Autumn)."
    assert Series("open", "Open rate", percent=True).cell(None) == "—"


@pytest.mark.parametrize("count", [1, 10, 48])
def test_bars_stay_inside_the_plot(count: int) -> None:
    columns = hour_columns(_hours([{"delivered": n + 1} for n in range(count)]), "UTC")
    chart = small_multiples(columns, timeline_series(["delivered"]))
    bars = chart.rows[0].bars
    assert len(bars) == count
    assert chart.left <= bars[0].x and bars[-1].x + bars[-1].width <= chart.right
    assert all(bar.width <= 48 for bar in bars)
