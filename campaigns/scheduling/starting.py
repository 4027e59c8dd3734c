"""The one start path: send a campaign now, or start a scheduled one when it is due.

Every start (staff page, API, CLI, scheduler) comes through here, so each gets the same steps
before the audience is frozen (link tracking) and the same approval gate inside
``start_campaign``. Starting is the pipeline's compare-and-set, so any number of schedulers
ticking at once start a campaign once.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from enum import StrEnum

import sqlalchemy as sa
from sqlalchemy.orm import Session

from campaigns.digests.windows import (
    DIGEST_FREQUENCIES,
    RUN_DELAY,
    Window,
    check_weekday,
    recent_windows,
)
from campaigns.events.tracking import rewrite_links_for_tracking
from campaigns.scheduling.service import unschedule
from campaigns.scheduling.waves import plan_waves
from campaigns.sending.models import Campaign, CampaignStatus
from campaigns.sending.service import STARTABLE, StartStep, get_campaign, start_campaign
from engine.clock import now as clock_now
from engine.config import Settings
from engine.db import rowcount
from engine.errors import Conflict, Forbidden

#: Windows of each frequency the scheduler looks back over: after a day's outage it still
#: sends the digest it missed (late), and never one older.
DIGEST_CATCH_UP = 2

#: What every start does to the frozen HTML before the audience is frozen.
START_STEPS: tuple[StartStep, ...] = (rewrite_links_for_tracking,)


class StartOutcome(StrEnum):
    STARTED = "started"
    NEEDS_REVIEW = "needs_review"
    #: Another scheduler (or staff) moved the campaign first.
    SKIPPED = "skipped"


@dataclass(frozen=True, slots=True)
class StartResult:
    campaign_id: int
    outcome: StartOutcome


def send_now(
    session: Session, campaign_id: int, settings: Settings, *, batch_size: int | None = None
) -> Campaign:
    """Start a draft, scheduled or needs-review campaign at once; refuse one that started."""
    campaign = get_campaign(session, campaign_id)
    status = CampaignStatus(campaign.status)
    if status is CampaignStatus.NEEDS_REVIEW:
        # Its time passed unattended and staff now decide to send it: it goes back to draft
        # first, so it starts through the same compare-and-set (and approval gate) as any.
        unschedule(session, campaign_id, now=clock_now())
        status = CampaignStatus.DRAFT
    if status not in STARTABLE:
        raise Conflict(f"Campaign {campaign_id} is {status}: it can only be sent once.")
    if not _start(session, campaign, status, settings, batch_size, clock_now()):
        raise Conflict(f"Campaign {campaign_id} was started by someone else a moment ago.")
    return campaign


def due_campaign_ids(session: Session, now: datetime) -> list[int]:
    """Return the ids of scheduled campaigns whose ``send_at`` has come, oldest first."""
    return list(
        session.scalars(
            sa.select(Campaign.id)
            .where(Campaign.status == CampaignStatus.SCHEDULED, Campaign.send_at <= now)
            .order_by(Campaign.send_at, Campaign.id)
        )
    )


def start_due_campaign(
    session: Session,
    campaign_id: int,
    now: datetime,
    settings: Settings,
    *,
    batch_size: int | None = None,
) -> StartResult:
    """Start one due campaign, or send it to review when it is later than the grace period.

    A campaign whose time passed long ago (the scheduler was down) is never sent by surprise:
    staff decide whether it still makes sense. Nor is one that the approval gate refuses.
    """
    send_at = session.scalar(
        sa.select(Campaign.send_at).where(
            Campaign.id == campaign_id, Campaign.status == CampaignStatus.SCHEDULED
        )
    )
    if send_at is None or send_at > now:
        return StartResult(campaign_id, StartOutcome.SKIPPED)
    if now - send_at > timedelta(minutes=settings.SCHEDULE_GRACE_MINUTES):
        late = int((now - send_at).total_seconds() // 60)
        reason = (
            f"Not started: its send time passed {late} minutes ago while nothing was running. "
            "Reschedule it or send it now."
        )
        return StartResult(campaign_id, _send_to_review(session, campaign_id, reason, now))
    try:
        with session.begin_nested():
            campaign = get_campaign(session, campaign_id)
            started = _start(session, campaign, CampaignStatus.SCHEDULED, settings, batch_size, now)
    except (Forbidden, Conflict) as refusal:
        # The gate refused, or a correction's original is being sent again: staff decide.
        reason = f"Not started: {refusal.message}"
        return StartResult(campaign_id, _send_to_review(session, campaign_id, reason, now))
    outcome = StartOutcome.STARTED if started else StartOutcome.SKIPPED
    return StartResult(campaign_id, outcome)


def start_due_campaigns(
    session: Session, now: datetime, settings: Settings, *, batch_size: int | None = None
) -> list[StartResult]:
    """Start (or send to review) every scheduled campaign whose time has come."""
    return [
        start_due_campaign(session, campaign_id, now, settings, batch_size=batch_size)
        for campaign_id in due_campaign_ids(session, now)
    ]


def _start(
    session: Session,
    campaign: Campaign,
    expected: CampaignStatus,
    settings: Settings,
    batch_size: int | None,
    now: datetime,
) -> bool:
    return start_campaign(
        session,
        campaign.id,
        expected=expected,
        settings=settings,
        batch_size=batch_size,
        waves=plan_waves(session, campaign, now),
        steps=START_STEPS,
    )


def _send_to_review(session: Session, campaign_id: int, reason: str, now: datetime) -> StartOutcome:
    moved = session.execute(
        sa.update(Campaign)
        .where(Campaign.id == campaign_id, Campaign.status == CampaignStatus.SCHEDULED)
        .values(status=CampaignStatus.NEEDS_REVIEW, paused_reason=reason, updated_at=now)
        .execution_options(synchronize_session=False)
    )
    return StartOutcome.NEEDS_REVIEW if rowcount(moved) == 1 else StartOutcome.SKIPPED


def due_digest_windows(settings: Settings, now: datetime) -> list[Window]:
    """Return the digest windows the scheduler should make sure have run, oldest first.

    A window is due ``RUN_DELAY`` after its end, once the bulletins started before it ended
    have committed.
    """
    weekday = check_weekday(settings.DIGEST_WEEKDAY)
    ended_by = now - RUN_DELAY
    return [
        window
        for frequency in DIGEST_FREQUENCIES
        for window in recent_windows(
            frequency, ended_by, settings.TIMEZONE, weekday, DIGEST_CATCH_UP
        )
    ]
