"""Schedule campaigns: at an absolute time or by an observance rule, in one zone or each reader's.

The campaign row is the schedule: ``status=scheduled`` with ``send_at``, ``timezone`` and the
``schedule`` dict that says how ``send_at`` was derived. ``campaigns.scheduling.starting``
starts it when it is due.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, time
from enum import StrEnum
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import Session

from campaigns.observances.service import find_observance
from campaigns.scheduling.rules import (
    SchedulingError,
    absolute_send_time,
    earliest_wave,
    next_observance_send_time,
    parse_rule,
    resolve_zone,
)
from campaigns.scheduling.waves import audience_timezones
from campaigns.sending.approval import ensure_send_allowed
from campaigns.sending.audiences import count_campaign_audience
from campaigns.sending.models import Campaign, CampaignStatus
from campaigns.sending.service import get_campaign
from engine.db import rowcount
from engine.errors import Conflict, ValidationFailed

#: A campaign can be (re)scheduled from these states; a started one cannot.
SCHEDULABLE = frozenset(
    {CampaignStatus.DRAFT, CampaignStatus.SCHEDULED, CampaignStatus.NEEDS_REVIEW}
)


class ScheduleKind(StrEnum):
    ABSOLUTE = "absolute"
    OBSERVANCE = "observance"


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
    approval_threshold: int,
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
    return _store(session, campaign_id, send_at, tz, plan, detail, now, approval_threshold)


def schedule_for_observance(
    session: Session,
    campaign_id: int,
    *,
    observance: str,
    rule: str,
    tz: str,
    now: datetime,
    approval_threshold: int,
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
    try:
        chosen_year, send_at = next_observance_send_time(
            found, send_rule, tz, after=now, year=year, **options
        )
    except SchedulingError as error:
        raise ValidationFailed(f"Cannot schedule {found.name}: {error}.") from None
    local = send_at.astimezone(resolve_zone(tz))
    plan = LocalSend(local.date(), send_rule.at, local_time_zones)
    detail = {
        "kind": ScheduleKind.OBSERVANCE.value,
        "observance": found.slug,
        "rule": str(send_rule),
        "year": chosen_year,
        **options,
    }
    return _store(session, campaign_id, send_at, tz, plan, detail, now, approval_threshold)


def _store(
    session: Session,
    campaign_id: int,
    send_at: datetime,
    tz: str,
    plan: LocalSend,
    detail: dict[str, Any],
    now: datetime,
    approval_threshold: int,
) -> Campaign:
    campaign = get_campaign(session, campaign_id)
    if plan.per_subscriber:
        zones = audience_timezones(session, campaign)
        send_at = earliest_wave(plan.day, plan.at, zones, default_tz=tz)
    if send_at <= now:
        raise ValidationFailed(f"Cannot schedule: {send_at:%Y-%m-%d %H:%M} UTC has passed.")
    # Early notice of a missing approval; the start checks again on the frozen audience.
    recipients = count_campaign_audience(session, campaign)
    ensure_send_allowed(session, campaign, recipients, approval_threshold)
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
    if rowcount(moved) != 1:
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
    if rowcount(moved) != 1:
        raise Conflict(f"Campaign {campaign_id} is {campaign.status}, not scheduled.")
    return campaign


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
