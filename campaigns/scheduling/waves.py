"""Per-subscriber time-zone waves: "10:00 local" sends each zone's batches at its own 10:00.

A wave campaign starts (and freezes its audience) at its earliest wave, cut into one run of
batches per wave; batches whose wave has not come wait as ``held`` with a ``release_at`` and
the dispatcher releases them to ``queued`` when the time comes, so the pipeline's claim never
sees them early.
"""

from __future__ import annotations

from datetime import date, datetime, time

import sqlalchemy as sa
from sqlalchemy.orm import Session

from campaigns.scheduling.rules import local_to_utc, wave_groups
from campaigns.sending.audiences import campaign_audience
from campaigns.sending.freeze import Wave
from campaigns.sending.models import Batch, BatchStatus, Campaign, CampaignStatus
from subscribers.models import Subscriber

_b = Batch.__table__


def audience_timezones(session: Session, campaign: Campaign) -> list[str]:
    """Return the distinct time zones of the campaign's current audience."""
    audience = campaign_audience(campaign).subquery()
    return list(
        session.scalars(
            sa.select(Subscriber.timezone)
            .where(Subscriber.id.in_(sa.select(audience.c.id)))
            .distinct()
        )
    )


def plan_waves(session: Session, campaign: Campaign, now: datetime) -> list[Wave]:
    """Return the waves of a local-time campaign in release order; none for any other campaign.

    The campaign's own zone goes last and unfiltered: it also takes erased subscribers,
    unknown zones and anyone whose zone changed since this was read.
    """
    schedule = campaign.schedule or {}
    if not schedule.get("local_time"):
        return []
    day, at = date.fromisoformat(schedule["local_date"]), time.fromisoformat(schedule["at"])
    fallback = local_to_utc(day, at, campaign.timezone)
    groups = wave_groups(
        day, at, audience_timezones(session, campaign), default_tz=campaign.timezone
    )
    waves = [
        Wave(instant, tuple(sorted(zones)), held=instant > now)
        for instant, zones in sorted(groups.items())
        if instant != fallback
    ]
    return [*waves, Wave(fallback, None, held=fallback > now)]


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
