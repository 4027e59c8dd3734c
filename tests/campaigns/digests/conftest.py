"""Builders for digest tests: bulletins sent at chosen times, readers at chosen frequencies."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from datetime import datetime
from typing import Any

import pytest
from sqlalchemy.orm import Session

from campaigns.issues.models import Issue, IssueRevision, IssueStatus
from campaigns.issues.workflow import approval_hash
from campaigns.sending.models import Campaign, CampaignStatus
from campaigns.sending.service import create_campaign, start_campaign
from engine.config import Settings
from engine.web import get_settings
from subscribers.models import Frequency, Subscriber, Subscription, Topic
from tests.campaigns.sending.conftest import make_issue
from tests.factories import make_subscriber

SendBulletin = Callable[..., Campaign]


@pytest.fixture
def send_bulletin(session: Session, settings: Settings) -> SendBulletin:
    """Return a builder of bulletins started (their audience frozen) at a chosen time.

    Each is approved for its topics unless ``approved=False``; ``segment`` narrows it.
    """

    def send(
        topics: Sequence[Topic],
        title: str,
        started_at: datetime,
        *,
        approved: bool = True,
        segment: dict[str, Any] | None = None,
    ) -> Campaign:
        issue = make_issue(session, title=title, preheader=f"What {title} is about.")
        if approved:
            _approve(session, issue, [topic.id for topic in topics], segment)
        campaign = create_campaign(session, issue, list(topics), segment=segment, settings=settings)
        session.commit()
        assert start_campaign(
            session, campaign.id, expected=CampaignStatus.DRAFT, settings=get_settings()
        )
        campaign.started_at = started_at
        session.commit()
        return campaign

    return send


def _approve(
    session: Session, issue: Issue, topic_ids: list[int], segment: dict[str, Any] | None
) -> None:
    revision = IssueRevision(issue_id=issue.id, number=issue.revision, content=issue.content)
    session.add(revision)
    session.flush()
    issue.approval_hash = approval_hash(revision, topic_ids, segment)
    issue.status = IssueStatus.APPROVED


def make_reader(
    session: Session, email: str, topics: Sequence[Topic], frequency: Frequency
) -> Subscriber:
    """Create a confirmed reader of ``topics`` at ``frequency``."""
    reader = make_subscriber(session, email, topics=list(topics))
    for subscription in session.query(Subscription).filter_by(subscriber_id=reader.id):
        subscription.frequency = frequency
    session.flush()
    return reader
