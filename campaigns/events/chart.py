"""Lay out report charts for SVG drawn on the server: small multiples, one row per series.

Each series gets its own row and scale, so a few clicks stay visible beside thousands of
deliveries, and no reading depends on telling colours apart (every row is labelled). The page
draws the geometry (``reports/_chart.html``), names the chart with ``description`` and lists
every value in a table beside it.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from math import ceil
from zoneinfo import ZoneInfo

from campaigns.events.comparison import TopicComparison
from campaigns.events.timeline import SERIES_LABELS, Period

WIDTH = 720
_LEFT, _RIGHT, _TOP = 64, 8, 4
#: A row: its label, the bars, and the gap before the next row.
_LABEL, _PLOT, _GAP = 20, 56, 14
_TICKS = 36


@dataclass(frozen=True, slots=True)
class Column:
    """One x position: ``name`` in tooltips and the description, ``tick`` under the axis."""

    name: str
    values: Mapping[str, float | None]
    #: Lines of the label under the axis; empty leaves the column unlabelled.
    tick: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True)
class Series:
    key: str
    label: str
    #: Values are fractions shown as percentages.
    percent: bool = False

    def format(self, value: float) -> str:
        return f"{value * 100:.1f}%" if self.percent else f"{value:,.0f}"

    def cell(self, value: float | None) -> str:
        """Return ``value`` for a table cell: "—" when there is nothing to divide by."""
        return "—" if value is None else self.format(value)


@dataclass(frozen=True, slots=True)
class Bar:
    x: float
    y: float
    width: float
    height: float
    #: Shown as a tooltip.
    title: str


@dataclass(frozen=True, slots=True)
class Row:
    key: str
    label: str
    #: The top of the plot area (the label sits above it) and its baseline.
    top: float
    baseline: float
    #: The scale's top value, written at the top of the axis.
    maximum: str
    bars: list[Bar]


@dataclass(frozen=True, slots=True)
class Tick:
    x: float
    lines: tuple[str, ...]


@dataclass(frozen=True, slots=True)
class Chart:
    width: int
    height: int
    left: int
    right: int
    #: What the chart shows, for its table: a row there per column here.
    series: Sequence[Series]
    columns: Sequence[Column]
    rows: list[Row]
    ticks: list[Tick]
    #: The y of the first tick line.
    tick_y: float
    #: What the chart shows in words, for people who cannot see it.
    description: str


def small_multiples(columns: Sequence[Column], series: Sequence[Series]) -> Chart:
    """Return one row of bars per series over ``columns``, each row on its own scale."""
    step = (WIDTH - _LEFT - _RIGHT) / max(len(columns), 1)
    bar = min(max(step * 0.75, 1.0), 48.0)
    rows: list[Row] = []
    for index, one in enumerate(series):
        top = _TOP + index * (_LABEL + _PLOT + _GAP) + _LABEL
        rows.append(_row(one, columns, top, step, bar))
    tick_y = _TOP + len(series) * (_LABEL + _PLOT + _GAP) + 2
    ticks = [
        Tick(_LEFT + i * step + step / 2, column.tick)
        for i, column in enumerate(columns)
        if column.tick
    ]
    description = " ".join(_summary(one, columns) for one in series)
    height = int(tick_y + _TICKS)
    return Chart(
        WIDTH, height, _LEFT, WIDTH - _RIGHT, series, columns, rows, ticks, tick_y, description
    )


def _row(series: Series, columns: Sequence[Column], top: float, step: float, bar: float) -> Row:
    values = [column.values.get(series.key) for column in columns]
    maximum = max((value for value in values if value), default=0.0)
    baseline = top + _PLOT
    bars = []
    for i, (column, value) in enumerate(zip(columns, values, strict=True)):
        if not value:
            continue
        # A small value still shows as a sliver rather than vanishing.
        height = max(_PLOT * value / maximum, 1.0)
        x = _LEFT + i * step + (step - bar) / 2
        title = f"{column.name}: {series.format(value)} {series.label.lower()}"
        bars.append(Bar(x, baseline - height, bar, height, title))
    scale = series.format(maximum) if maximum else ""
    return Row(series.key, series.label, top, baseline, scale, bars)


def _summary(series: Series, columns: Sequence[Column]) -> str:
    known = [
        (value, column)
        for column in columns
        if (value := column.values.get(series.key)) is not None
    ]
    if not known:
        return f"{series.label}: none."
    high, peak = max(known, key=lambda item: item[0])
    if series.percent:
        low, trough = min(known, key=lambda item: item[0])
        return (
            f"{series.label}: from {series.format(low)} ({trough.name}) "
            f"to {series.format(high)} ({peak.name})."
        )
    total = sum(value for value, _ in known)
    return (
        f"{series.label}: {series.format(total)} in all, "
        f"most in {peak.name} ({series.format(high)})."
    )


def timeline_series(keys: Sequence[str]) -> list[Series]:
    """Return the timeline's series named by ``keys``."""
    return [Series(key, SERIES_LABELS[key]) for key in keys]


def hour_columns(periods: Sequence[Period], zone: str) -> list[Column]:
    """Return a column per hour, labelled every six hours of local time, with the date."""
    tz = ZoneInfo(zone)
    columns = []
    dated = False
    for period in periods:
        local = period.start.astimezone(tz)
        tick: tuple[str, ...] = ()
        if local.hour % 6 == 0:
            tick = (f"{local:%H:%M}",) + ((_day(local),) if local.hour == 0 or not dated else ())
            dated = True
        end = period.end.astimezone(tz)
        columns.append(Column(f"{_day(local)}, {local:%H:%M} to {end:%H:%M}", period.values, tick))
    return columns


def day_columns(periods: Sequence[Period], zone: str) -> list[Column]:
    """Return a column per local day, at most about ten of them labelled."""
    tz = ZoneInfo(zone)
    every = max(1, ceil(len(periods) / 10))
    columns = []
    for i, period in enumerate(periods):
        local = period.start.astimezone(tz)
        tick = (_day(local),) if i % every == 0 else ()
        columns.append(Column(_day(local), period.values, tick))
    return columns


#: The comparison chart's rows: what the topic's readers did, as shares of delivered messages.
COMPARISON_SERIES = (
    Series("open", "Open rate", percent=True),
    Series("click", "Click rate", percent=True),
)


def comparison_columns(comparison: TopicComparison, zone: str) -> list[Column]:
    """Return a column per compared campaign, oldest first, labelled with its send date."""
    tz = ZoneInfo(zone)
    columns = []
    for row in reversed(comparison.rows):
        started = row.campaign.started_at
        local = started.astimezone(tz) if started else None
        tick = (_day(local), f"{local.year}") if local else ("",)
        rates = {"open": row.counts.open_rate, "click": row.counts.click_rate}
        columns.append(Column(row.campaign.name, rates, tick))
    return columns


def _day(local: datetime) -> str:
    return f"{local:%b} {local.day}"
