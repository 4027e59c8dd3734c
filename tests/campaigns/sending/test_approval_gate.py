"""Large sends need an approval of the exact revision and audience, however they start."""

from __future__ import annotations

from collections.abc import Callable
from datetime import timedelta

import pytest
from sqlalchemy.orm import Session

from campaigns.issues.models import IssueRevision, IssueStatus
from campaigns.scheduling.starting import StartOutcome, send_now, start_due_campaign
from campaigns.sending.models import Campaign, CampaignStatus
from campaigns.sending.service import create_campaign
from engine.clock import now
from engine.errors import Forbidden
from engine.web import get_settings
from subscribers.models import Topic
from tests.campaigns.sending.conftest import make_audience


@pytest.fixture
def small_threshold(app) -> None:
    settings = app.extensions["pinwheel.settings"]
    app.extensions["pinwheel.settings"] = settings.with_overrides(APPROVAL_THRESHOLD=2)


def test_manual_send_over_threshold_without_approval_is_refused(
    session: Session, topic: Topic, new_campaign: Callable[..., Campaign], small_threshold
) -> None:
    make_audience(session, topic, 3)
    campaign = new_campaign()
    with pytest.raises(Forbidden, match="needs an approver"):
        send_now(session, campaign.id, get_settings())
    session.rollback()
    assert session.get(Campaign, campaign.id).status == CampaignStatus.DRAFT


def test_send_within_threshold_needs_no_approval(
    session: Session, topic: Topic, new_campaign: Callable[..., Campaign], small_threshold
) -> None:
    make_audience(session, topic, 2)
    campaign = new_campaign()
    send_now(session, campaign.id, get_settings())
    assert campaign.status == CampaignStatus.SENDING


def test_scheduler_sends_unapproved_large_campaign_to_review(
    session: Session, topic: Topic, new_campaign: Callable[..., Campaign], small_threshold
) -> None:
    make_audience(session, topic, 3)
    campaign = new_campaign()
    campaign.status, campaign.send_at = CampaignStatus.SCHEDULED, now() - timedelta(minutes=1)
    session.commit()
    result = start_due_campaign(session, campaign.id, now(), get_settings())
    session.commit()
    assert result.outcome is StartOutcome.NEEDS_REVIEW
    session.refresh(campaign)
    assert campaign.status == CampaignStatus.NEEDS_REVIEW
    assert "needs an approver" in campaign.paused_reason
    assert campaign.recipients == 0


def test_approved_revision_and_audience_may_go(
    session: Session, topic: Topic, new_campaign: Callable[..., Campaign], small_threshold
) -> None:
    make_audience(session, topic, 3)
    campaign = new_campaign()
    _approve(session, campaign, topic)
    send_now(session, campaign.id, get_settings())
    assert campaign.status == CampaignStatus.SENDING and campaign.recipients == 3


def test_by_default_every_send_to_subscribers_needs_an_approval(
    app, session: Session, topic: Topic, new_campaign: Callable[..., Campaign]
) -> None:
    from engine.config import load_settings

    default = load_settings(environ={}, ENV="testing").APPROVAL_THRESHOLD
    assert default == 0
    settings = app.extensions["pinwheel.settings"]
    app.extensions["pinwheel.settings"] = settings.with_overrides(APPROVAL_THRESHOLD=default)
    make_audience(session, topic, 1)
    campaign = new_campaign()
    with pytest.raises(Forbidden, match="Every send to subscribers needs an approver"):
        send_now(session, campaign.id, get_settings())


def test_splitting_a_send_into_small_campaigns_counts_the_issues_total(
    session: Session, topic: Topic, new_campaign: Callable[..., Campaign], small_threshold
) -> None:
    make_audience(session, topic, 2)
    first = new_campaign()
    send_now(session, first.id, get_settings())
    session.commit()
    second = create_campaign(session, first.issue, [topic], settings=get_settings())
    session.commit()
    with pytest.raises(Forbidden, match="4 with this issue's other campaigns") as refused:
        send_now(session, second.id, get_settings())
    assert refused.value.details["issue_recipients"] == 4


def test_a_withdrawn_approval_stops_a_paused_send_from_resuming(
    session: Session, topic: Topic, new_campaign: Callable[..., Campaign], small_threshold
) -> None:
    from campaigns.sending.recovery import resend_uncertain
    from campaigns.sending.service import pause_campaign, resume_campaign

    make_audience(session, topic, 3)
    campaign = new_campaign()
    _approve(session, campaign, topic)
    issue = campaign.issue
    send_now(session, campaign.id, get_settings())
    pause_campaign(session, campaign.id)
    session.commit()
    issue.status, issue.approval_hash = IssueStatus.DRAFT, None  # returned to its authors
    session.commit()
    with pytest.raises(Forbidden, match="not approved"):
        resume_campaign(session, campaign.id, approval_threshold=2)
    session.rollback()
    assert session.get(Campaign, campaign.id).status == CampaignStatus.PAUSED
    with pytest.raises(Forbidden, match="not approved"):
        resend_uncertain(session, campaign.id, approval_threshold=2)


def _approve(session: Session, campaign: Campaign, topic: Topic) -> None:
    """Mark the campaign's issue approved for its revision and this topic (no workflow)."""
    from campaigns.issues.workflow import approval_hash

    issue = campaign.issue
    revision = IssueRevision(issue_id=issue.id, number=issue.revision, content=issue.content)
    session.add(revision)
    issue.status = IssueStatus.APPROVED
    issue.approval_hash = approval_hash(revision, [topic.id], campaign.segment)
    session.commit()
