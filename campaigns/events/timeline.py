"""A campaign's provider events over time: hour by hour for its first two days, then by day.

Periods follow the organisation's calendar (``Settings.TIMEZONE``): the hourly part runs from
the hour the send started to midnight ending the next day, and each later period is one local
day. Events are counted, not people: someone who opens twice adds two opens. Pinwheel's own
aggregate counters (pixel loads, redirect clicks) carry no time, so only a provider's events
(SendGrid's webhook, DSNs) make a timeline.
"""

from __future__ import annotations

from bisect import bisect_right
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import sqlalchemy as sa
from sqlalchemy.orm import Session

from campaigns.events.models import DeliveryEvent
from campaigns.sending.models import Campaign
from engine.delivery.events import EventKind

#: Series in display order: what readers did first, then what the provider reports.
SERIES = ("opened", "clicked", "delivered", "bounced", "dropped")
SERIES_LABELS = {
    "opened": "Opens by people",
    "clicked": "Clicks",
    "delivered": "Deliveries",
    "bounced": "Bounces",
    "dropped": "Drops",
}
_KIND_SERIES = {
    EventKind.OPEN.value: "opened",
    EventKind.CLICK.value: "clicked",
    EventKind.DELIVERED.value: "delivered",
    EventKind.BOUNCE.value: "bounced",
    EventKind.BLOCKED.value: "bounced",
    EventKind.DROPPED.value: "dropped",
}
#: Local calendar days shown hour by hour, the day the send started included.
HOURLY_DAYS = 2
#: Local calendar days charted in all; events after them are summed apart (``later``).
TIMELINE_DAYS = 30
_HOUR = timedelta(hours=1)


@dataclass(frozen=True, slots=True)
class Period:
    """Events from ``start`` (included) to ``end`` (excluded), aware UTC, by series."""

    start: datetime
    end: datetime
    values: Mapping[str, int]

    def as_json(self) -> dict[str, Any]:
        """Return a JSON-ready dict (the API and ``pinwheel reports campaign --json``)."""
        return {
            "start": self.start.isoformat(),
            "end": self.end.isoformat(),
            "values": dict(self.values),
        }


@dataclass(frozen=True, slots=True)
class Timeline:
    """A campaign's events per hour (``hours``), then per local day (``days``)."""

    zone: str
    hours: list[Period]
    days: list[Period]
    #: Events after the last day charted, by series.
    later: Mapping[str, int]

    @property
    def empty(self) -> bool:
        return not any(self.totals().values())

    @property
    def quiet_days(self) -> bool:
        """Whether no event came in the days after the hourly part."""
        return not any(any(period.values.values()) for period in self.days)

    def totals(self) -> dict[str, int]:
        """Return every series' events in all, ``later`` included."""
        totals = dict(self.later)
        for period in [*self.hours, *self.days]:
            for name, count in period.values.items():
                totals[name] += count
        return totals

    def series(self) -> list[str]:
        """Return the series that have any event, in display order."""
        totals = self.totals()
        return [name for name in SERIES if totals[name]]

    def as_json(self) -> dict[str, Any]:
        """Return a JSON-ready dict (the API and ``pinwheel reports campaign --json``)."""
        return {
            "zone": self.zone,
            "hours": [period.as_json() for period in self.hours],
            "days": [period.as_json() for period in self.days],
            "later": dict(self.later),
        }


def campaign_timeline(
    session: Session, campaign: Campaign, zone: str, *, until: datetime
) -> Timeline:
    """Return ``campaign``'s events per period in ``zone``, the periods reaching ``until``."""
    counts = hourly_counts(session, campaign.id)
    start = campaign.started_at or (counts[0][0] if counts else until)
    return build_timeline(counts, start=start, zone=zone, until=until)


def hourly_counts(session: Session, campaign_id: int) -> list[tuple[datetime, str, int]]:
    """Return ``(UTC hour, series, events)`` of a campaign, oldest hour first.

    Machine opens (privacy proxies that fetch every image) are left out: nobody read then.
    """
    hour = _hour_label(session).label("hour")
    rows = session.execute(
        sa.select(hour, DeliveryEvent.kind, sa.func.count())
        .where(
            DeliveryEvent.campaign_id == campaign_id,
            DeliveryEvent.kind.in_(list(_KIND_SERIES)),
            sa.or_(
                DeliveryEvent.kind != EventKind.OPEN.value, DeliveryEvent.machine_open.is_(False)
            ),
        )
        .group_by(hour, DeliveryEvent.kind)
        .order_by(hour)
    )
    return [
        (datetime.strptime(label, "%Y-%m-%d %H:%M").replace(tzinfo=UTC), _KIND_SERIES[kind], n)
        for label, kind, n in rows
    ]


def _hour_label(session: Session) -> sa.ColumnElement[str]:
    if session.get_bind().dialect.name == "postgresql":
        utc = sa.func.timezone("UTC", DeliveryEvent.occurred_at)
        return sa.func.to_char(utc, "YYYY-MM-DD HH24:00")
    return sa.func.strftime("%Y-%m-%d %H:00", DeliveryEvent.occurred_at)


def build_timeline(
    counts: Iterable[tuple[datetime, str, int]], *, start: datetime, zone: str, until: datetime
) -> Timeline:
    """Sort hourly ``counts`` into periods: hours from ``start``'s hour, then local days.

    Periods run to ``until`` (now) or the last event, whichever is later, so quiet hours show
    as zeros; they stop after ``TIMELINE_DAYS`` local days. Events before ``start`` (a
    provider's clock running early) count in the first hour.
    """
    first = start.astimezone(UTC).replace(minute=0, second=0, microsecond=0)
    days = _local_midnights(first, ZoneInfo(zone))
    hours = _hour_starts(first, days[HOURLY_DAYS - 1])
    bounds = [*hours, *days[HOURLY_DAYS:]]
    values = [dict.fromkeys(SERIES, 0) for _ in bounds[:-1]]
    later = dict.fromkeys(SERIES, 0)
    reach = until
    for hour, series, count in counts:
        if hour >= bounds[-1]:
            later[series] += count
            continue
        values[max(bisect_right(bounds, hour) - 1, 0)][series] += count
        reach = max(reach, hour + _HOUR)
    periods = [
        Period(bounds[i], bounds[i + 1], values[i])
        for i in range(len(values))
        if i == 0 or bounds[i] < reach
    ]
    split = len(hours) - 1
    return Timeline(zone, periods[:split], periods[split:], later)


def _local_midnights(first: datetime, zone: ZoneInfo) -> list[datetime]:
    """Return the UTC instants of the local midnights ending each of ``TIMELINE_DAYS`` days."""
    day = first.astimezone(zone).date()
    return [
        datetime.combine(day + timedelta(days=n), time(), tzinfo=zone).astimezone(UTC)
        for n in range(1, TIMELINE_DAYS + 1)
    ]


def _hour_starts(first: datetime, switch: datetime) -> list[datetime]:
    """Return hour boundaries from ``first`` to ``switch``, ``switch`` included.

    In a zone whose offset is not whole hours the last period is shorter than an hour.
    """
    starts = [first]
    while starts[-1] + _HOUR < switch:
        starts.append(starts[-1] + _HOUR)
    return [*starts, switch]
