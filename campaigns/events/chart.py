"""Lay out the delivery timeline as a stacked bar chart drawn in SVG on the server."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from campaigns.events.reports import TimelineBucket

#: Series stacked in each bar, bottom first, with colours that keep a 3:1 contrast on white.
STACK = (("delivered", "#1f6f43"), ("bounced", "#b3261e"), ("dropped", "#7a4b00"))


@dataclass(frozen=True, slots=True)
class Rect:
    x: float
    y: float
    width: float
    height: float
    colour: str
    #: Read by screen readers and shown as a tooltip.
    title: str


@dataclass(frozen=True, slots=True)
class Chart:
    width: int
    height: int
    plot_top: int
    plot_bottom: int
    maximum: int
    rects: list[Rect]
    #: ``(x, label)`` of the hour labels shown under the axis.
    ticks: list[tuple[float, str]]


def timeline_chart(
    buckets: Sequence[TimelineBucket], *, width: int = 720, height: int = 240
) -> Chart:
    """Return the geometry of a stacked bar per hour (delivered, bounced, dropped)."""
    top, bottom, left = 16, height - 40, 48
    totals = [sum(bucket.values.get(name, 0) for name, _ in STACK) for bucket in buckets]
    maximum = max(totals, default=0) or 1
    step = (width - left - 8) / max(len(buckets), 1)
    bar = max(step * 0.8, 1.0)
    rects: list[Rect] = []
    for index, bucket in enumerate(buckets):
        x = left + index * step + (step - bar) / 2
        base = float(bottom)
        for name, colour in STACK:
            value = bucket.values.get(name, 0)
            if not value:
                continue
            h = (bottom - top) * value / maximum
            base -= h
            rects.append(Rect(x, base, bar, h, colour, f"{bucket.hour} UTC: {value} {name}"))
    every = max(1, len(buckets) // 8)
    ticks = [
        (left + i * step + step / 2, bucket.hour[5:])
        for i, bucket in enumerate(buckets)
        if i % every == 0
    ]
    return Chart(width, height, top, bottom, maximum, rects, ticks)
