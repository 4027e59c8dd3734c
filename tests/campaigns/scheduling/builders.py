"""Rows for scheduling tests: a draft campaign to a topic with readers in chosen time zones."""

from __future__ import annotations

from collections.abc import Sequence

from sqlalchemy.orm import Session

from campaigns.issues.service import create_issue
from campaigns.sending.models import Campaign, CampaignStatus
from subscribers.models import Topic
from tests.factories import make_subscriber, make_topic

CONTENT = {
    "title": "Prevention Month 2026",
    "subject": "Prevention Month 2026",
    "layout": "spotlight",
    "blocks": [{"id": "p1", "type": "paragraph", "text": "Hello."}],
}


def make_campaign(
    session: Session, *, zones: Sequence[str] = ("America/New_York",), topic: Topic | None = None
) -> Campaign:
    """Create a draft campaign whose topic has one confirmed reader per zone in ``zones``."""
    topic = topic or make_topic(session)
    for zone in zones:
        make_subscriber(session, topics=[topic], timezone=zone)
    issue = create_issue(session, CONTENT, topics=[topic])
    campaign = Campaign(
        issue_id=issue.id,
        issue_revision=issue.revision,
        name=issue.title,
        status=CampaignStatus.DRAFT,
        subject=issue.title,
        html="<p>Hello {{ first_name }}</p>",
        text="Hello",
        topics=[topic],
    )
    session.add(campaign)
    session.flush()
    return campaign
