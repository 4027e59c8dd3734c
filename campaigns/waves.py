"""Per-subscriber time-zone waves: "10:00 local" sends each zone's batches at its own 10:00.

A wave campaign starts (and freezes its audience) at its earliest wave. Its batches are then
re-cut so each holds one wave; batches whose wave has not come wait as ``held`` with a
``release_at`` and the dispatcher releases them to ``queued`` when the time comes, so the
pipeline's claim never sees them early.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable
from datetime import date, datetime, time

import sqlalchemy as sa
from sqlalchemy.orm import Session

from campaigns.scheduling import local_to_utc, wave_send_times
from campaigns.sending.models import Batch, BatchStatus, Campaign, CampaignStatus, Delivery
from engine.clock import now as clock_now
from subscribers.audience import audience_select
from subscribers.models import Subscriber

_d = Delivery.__table__
_b = Batch.__table__


def audience_timezones(session: Session, campaign: Campaign) -> list[str]:
    """Return the distinct time zones of the campaign's current audience."""
    audience = audience_select([t.id for t in campaign.topics], campaign.segment).subquery()
    return list(
        session.scalars(
            sa.select(Subscriber.timezone)
            .where(Subscriber.id.in_(sa.select(audience.c.id)))
            .distinct()
        )
    )


def earliest_wave(day: date, at: time, zones: Iterable[str], *, default_tz: str) -> datetime:
    """Return the first instant at which any of ``zones`` (or ``default_tz``) shows ``at``."""
    waves = wave_send_times(day, at, [default_tz, *zones], default_tz=default_tz)
    return min(waves.values())


def wave_groups(
    day: date, at: time, zones: Iterable[str], *, default_tz: str
) -> dict[datetime, list[str]]:
    """Group time-zone names by the UTC instant their wave leaves."""
    groups: dict[datetime, list[str]] = defaultdict(list)
    for zone, instant in wave_send_times(day, at, zones, default_tz=default_tz).items():
        groups[instant].append(zone)
    return dict(groups)


def assign_waves(
    session: Session, campaign: Campaign, *, now: datetime, batch_size: int | None = None
) -> dict[datetime, int]:
    """Re-cut a just-started campaign's batches into waves; return deliveries per wave.

    Only valid in the transaction that started the campaign: its batches are unclaimed.
    """
    schedule = campaign.schedule
    day, at = date.fromisoformat(schedule["local_date"]), time.fromisoformat(schedule["at"])
    zones = _frozen_timezones(session, campaign.id)
    fallback = local_to_utc(day, at, campaign.timezone)
    groups = wave_groups(day, at, zones, default_tz=campaign.timezone)
    size = batch_size or _largest_batch(session, campaign.id) or 1000
    session.execute(sa.update(_d).where(_d.c.campaign_id == campaign.id).values(batch_id=None))
    session.execute(sa.delete(_b).where(_b.c.campaign_id == campaign.id))
    cutter = _WaveCutter(session, campaign.id, size, now)
    counts = {
        instant: cutter.cut(instant, members)
        for instant, members in sorted(groups.items())
        if instant != fallback
    }
    # Last and unfiltered: the default zone also takes erased subscribers and unknown zones.
    counts[fallback] = cutter.cut(fallback, None)
    return {instant: count for instant, count in sorted(counts.items()) if count}


def _frozen_timezones(session: Session, campaign_id: int) -> list[str]:
    return list(
        session.scalars(
            sa.select(Subscriber.timezone)
            .join(Delivery, Delivery.subscriber_id == Subscriber.id)
            .where(Delivery.campaign_id == campaign_id)
            .distinct()
        )
    )


def _largest_batch(session: Session, campaign_id: int) -> int | None:
    return session.scalar(sa.select(sa.func.max(_b.c.size)).where(_b.c.campaign_id == campaign_id))


class _WaveCutter:
    """Cut one wave's unbatched deliveries into batches, numbering on from the last one."""

    def __init__(self, session: Session, campaign_id: int, size: int, now: datetime) -> None:
        self.session, self.campaign_id, self.size, self.now = session, campaign_id, size, now
        self.number = 0

    def cut(self, release_at: datetime, zones: list[str] | None) -> int:
        """Batch the wave's deliveries (``zones=None``: every one left) and return how many."""
        wave = sa.and_(_d.c.campaign_id == self.campaign_id, _d.c.batch_id.is_(None))
        if zones is not None:
            members = sa.select(Subscriber.id).where(Subscriber.timezone.in_(zones))
            wave = sa.and_(wave, _d.c.subscriber_id.in_(members))
        total, last_id = 0, 0
        while (upper := self._upper_bound(wave, last_id)) is not None:
            total += self._batch(wave, last_id, upper, release_at)
            last_id = upper
        return total

    def _upper_bound(self, wave: sa.ColumnElement[bool], after_id: int) -> int | None:
        window = (
            sa.select(_d.c.id).where(wave, _d.c.id > after_id).order_by(_d.c.id).limit(self.size)
        ).subquery()
        return self.session.scalar(sa.select(sa.func.max(window.c.id)))

    def _batch(
        self, wave: sa.ColumnElement[bool], after_id: int, upper: int, release_at: datetime
    ) -> int:
        self.number += 1
        held = release_at > self.now
        batch_id = self.session.execute(
            sa.insert(_b)
            .values(
                campaign_id=self.campaign_id,
                number=self.number,
                size=0,
                attempts=0,
                status=BatchStatus.HELD if held else BatchStatus.QUEUED,
                release_at=release_at,
                created_at=clock_now(),
            )
            .returning(_b.c.id)
        ).scalar_one()
        size = self.session.execute(
            sa.update(_d)
            .where(wave, _d.c.id > after_id, _d.c.id <= upper)
            .values(batch_id=batch_id)
        ).rowcount
        self.session.execute(sa.update(_b).where(_b.c.id == batch_id).values(size=size))
        return size


def release_due_waves(session: Session, now: datetime) -> list[int]:
    """Move held batches of sending campaigns whose wave has come to ``queued``; return their ids.

    A paused campaign's waves stay held and leave when it resumes and the next tick runs.
    """
    sending = sa.select(Campaign.id).where(Campaign.status == CampaignStatus.SENDING)
    return list(
        session.scalars(
            sa.update(_b)
            .where(
                _b.c.status == BatchStatus.HELD,
                _b.c.release_at <= now,
                _b.c.campaign_id.in_(sending),
            )
            .values(status=BatchStatus.QUEUED)
            .returning(_b.c.id)
        )
    )
