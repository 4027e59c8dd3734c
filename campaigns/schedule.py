"""Schedule campaigns (an absolute time or an observance rule) and start them when they are due.

The campaign row is the schedule: ``status=scheduled`` with ``send_at``, ``timezone`` and the
``schedule`` dict that says how ``send_at`` was derived. Starting is the send pipeline's
compare-and-set, so any number of dispatchers ticking at once start a campaign once.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from enum import StrEnum
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import Session

from campaigns.observances.catalogue import Observance
from campaigns.observances.service import find_observance
from campaigns.scheduling import (
    SchedulingError,
    absolute_send_time,
    parse_rule,
    resolve_zone,
    send_time_for_observance,
)
from campaigns.sending.models import Campaign, CampaignStatus
from campaigns.sending.service import get_campaign, start_campaign
from campaigns.waves import assign_waves, audience_timezones, earliest_wave
from engine.errors import Conflict, Forbidden, ValidationFailed

#: A campaign can be (re)scheduled from these states; a started one cannot.
SCHEDULABLE = frozenset(
    {CampaignStatus.DRAFT, CampaignStatus.SCHEDULED, CampaignStatus.NEEDS_REVIEW}
)


class ScheduleKind(StrEnum):
    ABSOLUTE = "absolute"
    OBSERVANCE = "observance"


class DispatchOutcome(StrEnum):
    STARTED = "started"
    NEEDS_REVIEW = "needs_review"
    #: Another dispatcher (or staff) moved the campaign first.
    SKIPPED = "skipped"


@dataclass(frozen=True, slots=True)
class Dispatched:
    campaign_id: int
    outcome: DispatchOutcome


@dataclass(frozen=True, slots=True)
class LocalSend:
    """The wall-clock date and time a schedule names, and whether it is per subscriber."""

    day: date
    at: time
    per_subscriber: bool = False


def schedule_at(
    session: Session,
    campaign_id: int,
    local: datetime,
    tz: str,
    *,
    now: datetime,
    local_time_zones: bool = False,
) -> Campaign:
    """Schedule the campaign for a wall-clock time in ``tz`` (or in each subscriber's zone)."""
    try:
        resolve_zone(tz)
        send_at = absolute_send_time(local, tz)
    except SchedulingError as error:
        raise ValidationFailed(f"Cannot schedule: {error}.") from None
    wall = local.astimezone(resolve_zone(tz)) if local.tzinfo else local
    plan = LocalSend(wall.date(), wall.time().replace(second=0, microsecond=0), local_time_zones)
    detail = {
        "kind": ScheduleKind.ABSOLUTE.value,
        "observance": None,
        "rule": None,
        "skip_weekends": False,
        "skip_holidays": False,
    }
    return _store(session, campaign_id, send_at, tz, plan, detail, now)


def schedule_for_observance(
    session: Session,
    campaign_id: int,
    *,
    observance: str,
    rule: str,
    tz: str,
    now: datetime,
    year: int | None = None,
    skip_weekends: bool = False,
    skip_holidays: bool = False,
    local_time_zones: bool = False,
) -> Campaign:
    """Schedule the campaign by an observance and a send rule (the next window unless ``year``)."""
    found = find_observance(session, observance)
    try:
        send_rule = parse_rule(rule)
        resolve_zone(tz)
    except SchedulingError as error:
        raise ValidationFailed(f"Cannot schedule: {error}.") from None
    options = {"skip_weekends": skip_weekends, "skip_holidays": skip_holidays}
    chosen_year, send_at = _observance_send_time(found, str(send_rule), tz, now, year, options)
    local = send_at.astimezone(resolve_zone(tz))
    plan = LocalSend(local.date(), send_rule.at, local_time_zones)
    detail = {
        "kind": ScheduleKind.OBSERVANCE.value,
        "observance": found.slug,
        "rule": str(send_rule),
        "year": chosen_year,
        **options,
    }
    return _store(session, campaign_id, send_at, tz, plan, detail, now)


def _observance_send_time(
    observance: Observance,
    rule: str,
    tz: str,
    now: datetime,
    year: int | None,
    options: dict[str, bool],
) -> tuple[int, datetime]:
    years = [year] if year is not None else [now.year, now.year + 1]
    problem = ""
    for candidate in years:
        try:
            send_at = send_time_for_observance(observance, candidate, rule, tz, **options)
        except SchedulingError as error:
            problem = str(error)
            continue
        if send_at > now:
            return candidate, send_at
        problem = f"the send time for {candidate} ({send_at:%Y-%m-%d %H:%M} UTC) has passed"
    raise ValidationFailed(f"Cannot schedule {observance.name}: {problem}.")


def _store(
    session: Session,
    campaign_id: int,
    send_at: datetime,
    tz: str,
    plan: LocalSend,
    detail: dict[str, Any],
    now: datetime,
) -> Campaign:
    campaign = get_campaign(session, campaign_id)
    if plan.per_subscriber:
        zones = audience_timezones(session, campaign)
        send_at = earliest_wave(plan.day, plan.at, zones, default_tz=tz)
    if send_at <= now:
        raise ValidationFailed(f"Cannot schedule: {send_at:%Y-%m-%d %H:%M} UTC has passed.")
    schedule = {
        **detail,
        "local_time": plan.per_subscriber,
        "local_date": plan.day.isoformat(),
        "at": plan.at.strftime("%H:%M"),
    }
    # Compare-and-set: a campaign that a dispatcher started a moment ago is not rescheduled.
    moved = session.execute(
        sa.update(Campaign)
        .where(Campaign.id == campaign_id, Campaign.status.in_(list(SCHEDULABLE)))
        .values(
            status=CampaignStatus.SCHEDULED,
            send_at=send_at,
            timezone=tz,
            schedule=schedule,
            updated_at=now,
        )
        .execution_options(synchronize_session=False)
    )
    session.refresh(campaign)
    if moved.rowcount != 1:
        raise Conflict(
            f"Campaign {campaign_id} is {campaign.status}; it can no longer be scheduled."
        )
    return campaign


def unschedule(session: Session, campaign_id: int, *, now: datetime) -> Campaign:
    """Turn a scheduled (or needs-review) campaign back into a draft."""
    moved = session.execute(
        sa.update(Campaign)
        .where(
            Campaign.id == campaign_id,
            Campaign.status.in_([CampaignStatus.SCHEDULED, CampaignStatus.NEEDS_REVIEW]),
        )
        .values(status=CampaignStatus.DRAFT, send_at=None, updated_at=now)
        .execution_options(synchronize_session=False)
    )
    campaign = get_campaign(session, campaign_id)
    session.refresh(campaign)
    if moved.rowcount != 1:
        raise Conflict(f"Campaign {campaign_id} is {campaign.status}, not scheduled.")
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


def dispatch_campaign(
    session: Session,
    campaign_id: int,
    now: datetime,
    grace: timedelta,
    batch_size: int | None = None,
) -> Dispatched:
    """Start one due campaign, or send it to review when it is later than ``grace``.

    A campaign whose time passed long ago (the scheduler was down) is never sent by surprise:
    staff decide whether it still makes sense.
    """
    send_at = session.scalar(
        sa.select(Campaign.send_at).where(
            Campaign.id == campaign_id, Campaign.status == CampaignStatus.SCHEDULED
        )
    )
    if send_at is None or send_at > now:
        return Dispatched(campaign_id, DispatchOutcome.SKIPPED)
    if now - send_at > grace:
        late = int((now - send_at).total_seconds() // 60)
        reason = (
            f"Not started: its send time passed {late} minutes ago while nothing was running. "
            "Reschedule it or send it now."
        )
        return Dispatched(campaign_id, _send_to_review(session, campaign_id, reason, now))
    try:
        with session.begin_nested():
            started = start_campaign(
                session, campaign_id, expected=CampaignStatus.SCHEDULED, batch_size=batch_size
            )
    except Forbidden as refusal:
        reason = f"Not started: {refusal.message}"
        return Dispatched(campaign_id, _send_to_review(session, campaign_id, reason, now))
    if not started:
        return Dispatched(campaign_id, DispatchOutcome.SKIPPED)
    campaign = get_campaign(session, campaign_id)
    if campaign.schedule.get("local_time"):
        assign_waves(session, campaign, now=now, batch_size=batch_size)
    return Dispatched(campaign_id, DispatchOutcome.STARTED)


def _send_to_review(
    session: Session, campaign_id: int, reason: str, now: datetime
) -> DispatchOutcome:
    moved = session.execute(
        sa.update(Campaign)
        .where(Campaign.id == campaign_id, Campaign.status == CampaignStatus.SCHEDULED)
        .values(status=CampaignStatus.NEEDS_REVIEW, paused_reason=reason, updated_at=now)
        .execution_options(synchronize_session=False)
    )
    return DispatchOutcome.NEEDS_REVIEW if moved.rowcount == 1 else DispatchOutcome.SKIPPED


def dispatch_due(
    session: Session, now: datetime, grace: timedelta, *, batch_size: int | None = None
) -> list[Dispatched]:
    """Start (or send to review) every scheduled campaign whose time has come."""
    return [
        dispatch_campaign(session, campaign_id, now, grace, batch_size)
        for campaign_id in due_campaign_ids(session, now)
    ]


def describe_schedule(campaign: Campaign) -> str:
    """Return a one-line description of how the campaign is scheduled."""
    schedule = campaign.schedule or {}
    if campaign.send_at is None:
        return "not scheduled"
    local = campaign.send_at.astimezone(resolve_zone(campaign.timezone or "UTC"))
    text = f"{local:%Y-%m-%d %H:%M} {campaign.timezone or 'UTC'}"
    if schedule.get("kind") == ScheduleKind.OBSERVANCE:
        text += f" ({schedule.get('rule')} of {schedule.get('observance')})"
    if schedule.get("local_time"):
        text += f", {schedule.get('at')} in each subscriber's time zone"
    return text
