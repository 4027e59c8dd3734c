"""Scheduling through the service: every rule kind, DST, skips, waves, grace and double ticks."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
import sqlalchemy as sa
from sqlalchemy.orm import Session

from campaigns.scheduling.service import schedule_at, schedule_for_observance, unschedule
from campaigns.scheduling.starting import StartOutcome, start_due_campaign, start_due_campaigns
from campaigns.scheduling.waves import release_due_waves
from campaigns.sending.models import Batch, BatchStatus, Campaign, CampaignStatus, Delivery
from engine.errors import Conflict, NotFound, ValidationFailed
from engine.web import get_settings
from tests.campaigns.scheduling.builders import make_campaign

NY = "America/New_York"
NOW = datetime(2026, 11, 21, 12, 0, tzinfo=UTC)


def utc(*parts: int) -> datetime:
    return datetime(*parts, tzinfo=UTC)


@pytest.mark.parametrize(
    ("slug", "rule", "expected"),
    [
        # Friday Jan 1 2027, 10:00 EST.
        ("human-trafficking-prevention-month", "start 10:00", utc(2027, 1, 1, 15)),
        # Jan 1 is New Year's Day, then a weekend: Monday Jan 4.
        ("human-trafficking-prevention-month", "first-business-day 10:00", utc(2027, 1, 4, 15)),
        ("human-trafficking-prevention-month", "day 11 08:30", utc(2027, 1, 11, 13, 30)),
        # April 1 2027 is in daylight time (EDT, UTC-4).
        ("child-abuse-prevention-month", "3 days-before 09:00", utc(2027, 3, 29, 13)),
        ("child-abuse-prevention-month", "2 business-days-before 09:00", utc(2027, 3, 30, 13)),
        ("child-abuse-prevention-month", "start 10:00", utc(2027, 4, 1, 14)),
    ],
)
def test_schedule_by_every_rule_kind(session: Session, slug: str, rule: str, expected: datetime):
    campaign = make_campaign(session)
    scheduled = schedule_for_observance(
        session,
        campaign.id,
        observance=slug,
        rule=rule,
        tz=NY,
        now=NOW,
        year=2027,
        approval_threshold=1000,
    )
    assert scheduled.status == CampaignStatus.SCHEDULED
    assert scheduled.send_at == expected
    assert scheduled.timezone == NY
    assert scheduled.schedule["kind"] == "observance"
    assert scheduled.schedule["observance"] == slug
    assert scheduled.schedule["rule"] == rule


def test_next_window_is_chosen_without_a_year(session: Session):
    campaign = make_campaign(session)
    # The 2026 window of January has passed on November 21, 2026: next January it is.
    scheduled = schedule_for_observance(
        session,
        campaign.id,
        observance="human-trafficking-prevention-month",
        rule="start 10:00",
        tz=NY,
        now=NOW,
        approval_threshold=1000,
    )
    assert scheduled.send_at == utc(2027, 1, 1, 15)
    assert scheduled.schedule["year"] == 2027


@pytest.mark.parametrize(
    ("weekends", "holidays", "expected"),
    [
        (False, False, utc(2027, 1, 1, 15)),  # Friday, New Year's Day
        (False, True, utc(2027, 1, 2, 15)),  # Saturday
        (True, True, utc(2027, 1, 4, 15)),  # Monday
    ],
)
def test_holidays_and_weekends_are_skipped(
    session: Session, weekends: bool, holidays: bool, expected: datetime
):
    campaign = make_campaign(session)
    scheduled = schedule_for_observance(
        session,
        campaign.id,
        observance="human-trafficking-prevention-month",
        rule="start 10:00",
        tz=NY,
        now=NOW,
        year=2027,
        skip_weekends=weekends,
        skip_holidays=holidays,
        approval_threshold=1000,
    )
    assert scheduled.send_at == expected
    assert scheduled.schedule["skip_weekends"] is weekends
    assert scheduled.schedule["skip_holidays"] is holidays


def test_weekend_day_moves_to_monday(session: Session):
    campaign = make_campaign(session)
    # January 11, 2026 is a Sunday.
    scheduled = schedule_for_observance(
        session,
        campaign.id,
        observance="human-trafficking-awareness-day",
        rule="start 10:00",
        tz=NY,
        now=utc(2025, 12, 1),
        year=2026,
        skip_weekends=True,
        approval_threshold=1000,
    )
    assert scheduled.send_at == utc(2026, 1, 12, 15)


@pytest.mark.parametrize(
    ("local", "expected"),
    [
        (datetime(2027, 1, 4, 10), utc(2027, 1, 4, 15)),  # EST
        (datetime(2027, 7, 1, 10), utc(2027, 7, 1, 14)),  # EDT
        # 02:30 does not exist on March 14, 2027: the clocks jump to 03:00 EDT.
        (datetime(2027, 3, 14, 2, 30), utc(2027, 3, 14, 7)),
        # 01:30 happens twice on November 7, 2027: the first (EDT) is taken.
        (datetime(2027, 11, 7, 1, 30), utc(2027, 11, 7, 5, 30)),
    ],
)
def test_absolute_times_across_dst(session: Session, local: datetime, expected: datetime):
    campaign = make_campaign(session)
    scheduled = schedule_at(session, campaign.id, local, NY, now=NOW, approval_threshold=1000)
    assert scheduled.send_at == expected
    assert scheduled.schedule["kind"] == "absolute"


def test_bad_schedules_are_refused(session: Session):
    campaign = make_campaign(session)
    with pytest.raises(ValidationFailed, match="has passed"):
        schedule_at(
            session, campaign.id, datetime(2026, 1, 1, 10), NY, now=NOW, approval_threshold=1000
        )
    with pytest.raises(ValidationFailed, match="time zone"):
        schedule_at(
            session,
            campaign.id,
            datetime(2027, 1, 1, 10),
            "Mars/Olympus",
            now=NOW,
            approval_threshold=1000,
        )
    with pytest.raises(ValidationFailed, match="send rule"):
        schedule_for_observance(
            session,
            campaign.id,
            observance="mentoring-month",
            rule="whenever",
            tz=NY,
            now=NOW,
            approval_threshold=1000,
        )
    with pytest.raises(NotFound, match="did you mean"):
        schedule_for_observance(
            session,
            campaign.id,
            observance="mentoring-mont",
            rule="start 10:00",
            tz=NY,
            now=NOW,
            approval_threshold=1000,
        )
    with pytest.raises(ValidationFailed, match="past the end"):
        schedule_for_observance(
            session,
            campaign.id,
            observance="human-trafficking-awareness-day",
            rule="day 3 10:00",
            tz=NY,
            now=NOW,
            year=2027,
            approval_threshold=1000,
        )
    assert session.get(Campaign, campaign.id).status == CampaignStatus.DRAFT


def test_started_campaign_cannot_be_rescheduled(session: Session):
    campaign = make_campaign(session)
    campaign.status = CampaignStatus.SENDING
    session.flush()
    with pytest.raises(Conflict):
        schedule_at(
            session, campaign.id, datetime(2027, 1, 4, 10), NY, now=NOW, approval_threshold=1000
        )
    with pytest.raises(Conflict):
        unschedule(session, campaign.id, now=NOW)


def _scheduled(session: Session, send_at: datetime) -> Campaign:
    campaign = make_campaign(session, zones=[NY, NY])
    return schedule_at(
        session, campaign.id, send_at, NY, now=send_at - timedelta(days=1), approval_threshold=1000
    )


def test_due_campaign_starts_within_grace(session: Session):
    campaign = _scheduled(session, utc(2027, 1, 4, 15))
    session.commit()
    assert (
        start_due_campaigns(session, utc(2027, 1, 4, 14, 59), get_settings(), batch_size=10) == []
    )
    results = start_due_campaigns(session, utc(2027, 1, 4, 15, 59), get_settings(), batch_size=10)
    session.commit()
    assert [r.outcome for r in results] == [StartOutcome.STARTED]
    session.refresh(campaign)
    assert campaign.status == CampaignStatus.SENDING
    assert campaign.recipients == 2


def test_late_campaign_needs_review_and_is_not_sent(session: Session):
    campaign = _scheduled(session, utc(2027, 1, 4, 15))
    session.commit()
    results = start_due_campaigns(session, utc(2027, 1, 4, 16, 1), get_settings(), batch_size=10)
    session.commit()
    assert [r.outcome for r in results] == [StartOutcome.NEEDS_REVIEW]
    session.refresh(campaign)
    assert campaign.status == CampaignStatus.NEEDS_REVIEW
    assert "61 minutes" in campaign.paused_reason
    assert session.scalar(sa.select(sa.func.count()).select_from(Delivery)) == 0
    # Staff may reschedule it.
    again = schedule_at(
        session,
        campaign.id,
        datetime(2027, 1, 5, 10),
        NY,
        now=utc(2027, 1, 4, 17),
        approval_threshold=1000,
    )
    assert again.status == CampaignStatus.SCHEDULED


def test_double_tick_starts_once(session: Session, database):
    campaign = _scheduled(session, utc(2027, 1, 4, 15))
    session.commit()
    at = utc(2027, 1, 4, 15, 0, 30)
    with database.sessionmaker() as other:
        # A second dispatcher that looked before the first one committed.
        stale = other.scalar(sa.select(Campaign.status).where(Campaign.id == campaign.id))
        assert stale == CampaignStatus.SCHEDULED
        other.rollback()
        first = start_due_campaigns(session, at, get_settings(), batch_size=10)
        session.commit()
        second = start_due_campaign(other, campaign.id, at, get_settings(), batch_size=10)
        other.commit()
    third = start_due_campaigns(session, at, get_settings(), batch_size=10)
    assert [r.outcome for r in first] == [StartOutcome.STARTED]
    assert second.outcome == StartOutcome.SKIPPED
    assert third == []
    batches = session.scalars(sa.select(Batch).where(Batch.campaign_id == campaign.id)).all()
    assert sum(b.size for b in batches) == 2


def test_waves_send_at_each_readers_local_time(session: Session):
    zones = [NY, "America/Los_Angeles", "Europe/London", "", "Not/AZone", "America/Los_Angeles"]
    campaign = make_campaign(session, zones=zones)
    scheduled = schedule_at(
        session,
        campaign.id,
        datetime(2027, 1, 4, 10),
        NY,
        now=NOW,
        local_time_zones=True,
        approval_threshold=1000,
    )
    # The earliest wave is London's 10:00, which is 10:00 UTC in January.
    assert scheduled.send_at == utc(2027, 1, 4, 10)
    assert scheduled.schedule["local_time"] is True
    session.commit()
    started = start_due_campaigns(session, utc(2027, 1, 4, 10, 1), get_settings(), batch_size=10)
    session.commit()
    assert [r.outcome for r in started] == [StartOutcome.STARTED]
    assert _waves(session, campaign.id) == [
        (utc(2027, 1, 4, 10), BatchStatus.QUEUED, 1),
        # New York, plus the reader without a zone and the one with an unknown zone.
        (utc(2027, 1, 4, 15), BatchStatus.HELD, 3),
        (utc(2027, 1, 4, 18), BatchStatus.HELD, 2),
    ]
    assert release_due_waves(session, utc(2027, 1, 4, 14, 59)) == []
    assert len(release_due_waves(session, utc(2027, 1, 4, 15))) == 1
    session.commit()
    assert [status for _, status, _ in _waves(session, campaign.id)] == [
        BatchStatus.QUEUED,
        BatchStatus.QUEUED,
        BatchStatus.HELD,
    ]


def _waves(session: Session, campaign_id: int) -> list[tuple[datetime, str, int]]:
    session.expire_all()
    rows = session.scalars(
        sa.select(Batch).where(Batch.campaign_id == campaign_id).order_by(Batch.release_at)
    )
    return [(b.release_at, b.status, b.size) for b in rows]


def test_waves_split_into_batches(session: Session):
    campaign = make_campaign(session, zones=[NY] * 5 + ["Europe/London"] * 3)
    schedule_at(
        session,
        campaign.id,
        datetime(2027, 1, 4, 10),
        NY,
        now=NOW,
        local_time_zones=True,
        approval_threshold=1000,
    )
    session.commit()
    start_due_campaigns(session, utc(2027, 1, 4, 10), get_settings(), batch_size=2)
    session.commit()
    sizes = [(release.hour, size) for release, _, size in _waves(session, campaign.id)]
    assert sorted(sizes) == [(10, 1), (10, 2), (15, 1), (15, 2), (15, 2)]
    assert (
        session.scalar(
            sa.select(sa.func.count()).select_from(Delivery).where(Delivery.batch_id.is_(None))
        )
        == 0
    )
