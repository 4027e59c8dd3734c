"""A topic's last sent campaigns side by side, and the topics that have any to compare."""

from __future__ import annotations

from dataclasses import dataclass, fields
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import Session

from campaigns.events.reports import Counts, campaign_counts, counts_json
from campaigns.sending.models import Campaign, CampaignStatus, campaign_topic
from engine.errors import ValidationFailed
from subscribers.models import Topic
from subscribers.topics import topics_by_slugs

#: Campaigns compared unless the caller asks for another number.
COMPARE_LIMIT = 10
MAX_COMPARE = 50


@dataclass(frozen=True, slots=True)
class ComparedCampaign:
    campaign: Campaign
    counts: Counts

    def as_json(self) -> dict[str, Any]:
        """Return a JSON-ready dict (the API and ``pinwheel reports topic --json``)."""
        campaign = self.campaign
        return {
            "campaign_id": campaign.id,
            "name": campaign.name,
            "started_at": campaign.started_at.isoformat() if campaign.started_at else None,
            **counts_json(self.counts),
        }


@dataclass(frozen=True, slots=True)
class TopicComparison:
    """A topic's last sent campaigns, newest first, and their sums."""

    topic: Topic
    rows: list[ComparedCampaign]
    #: Every row's counts added up: its rates are those of all the messages together.
    total: Counts

    def as_json(self) -> dict[str, Any]:
        """Return a JSON-ready dict (the API and ``pinwheel reports topic --json``)."""
        return {
            "topic": {"slug": self.topic.slug, "name": self.topic.name},
            "campaigns": [row.as_json() for row in self.rows],
            "total": counts_json(self.total),
        }


def topic_comparison(session: Session, slug: str, *, limit: int = COMPARE_LIMIT) -> TopicComparison:
    """Return the topic's last ``limit`` sent campaigns with their counts, newest first.

    Raise ``NotFound`` for an unknown slug and ``ValidationFailed`` for a limit out of range.
    Only finished sends (``sent``) are compared: one still going would look like a poor one.
    """
    if not 1 <= limit <= MAX_COMPARE:
        raise ValidationFailed(
            f"Compare between 1 and {MAX_COMPARE} campaigns.", details={"limit": limit}
        )
    topic = topics_by_slugs(session, [slug])[0]
    campaigns = list(
        session.scalars(
            sa.select(Campaign)
            .join(campaign_topic, campaign_topic.c.campaign_id == Campaign.id)
            .where(
                campaign_topic.c.topic_id == topic.id,
                Campaign.status == CampaignStatus.SENT,
                Campaign.started_at.is_not(None),
            )
            .order_by(Campaign.started_at.desc(), Campaign.id.desc())
            .limit(limit)
        )
    )
    counts = campaign_counts(session, campaigns)
    rows = [ComparedCampaign(campaign, counts[campaign.id]) for campaign in campaigns]
    return TopicComparison(topic, rows, _sum([row.counts for row in rows]))


def _sum(counts: list[Counts]) -> Counts:
    return Counts(
        **{field.name: sum(getattr(c, field.name) for c in counts) for field in fields(Counts)}
    )


def compared_topics(session: Session) -> list[tuple[Topic, int]]:
    """Return the topics with sent campaigns and how many, in the topics' display order."""
    sent = sa.func.count(Campaign.id)
    rows = session.execute(
        sa.select(Topic, sent)
        .join(campaign_topic, campaign_topic.c.topic_id == Topic.id)
        .join(Campaign, Campaign.id == campaign_topic.c.campaign_id)
        .where(Campaign.status == CampaignStatus.SENT, Campaign.started_at.is_not(None))
        .group_by(Topic.id)
        .order_by(Topic.position, Topic.name)
    )
    return [(topic, count) for topic, count in rows.tuples()]
