"""Freezing the audience: one delivery per mailable recipient, cut into id-ordered batches."""

from __future__ import annotations

import sqlalchemy as sa
from sqlalchemy.orm import Session

from campaigns.sending.freeze import freeze_audience
from campaigns.sending.models import Batch, CampaignStatus, Delivery
from campaigns.sending.service import start_campaign
from engine.web import get_settings
from subscribers.models import SubscriberStatus, SubscriptionStatus, SuppressionReason
from subscribers.suppression import suppress
from tests.campaigns.sending.conftest import make_audience
from tests.factories import make_subscriber, make_topic


def _addresses(session: Session, campaign_id: int) -> list[str]:
    return list(
        session.scalars(
            sa.select(Delivery.address)
            .where(Delivery.campaign_id == campaign_id)
            .order_by(Delivery.id)
        )
    )


def test_overlapping_topics_give_one_delivery(session, topic, new_campaign) -> None:
    other = make_topic(session, slug="digest")
    make_subscriber(session, "both@example.com", topics=[topic, other])
    make_subscriber(session, "one@example.com", topics=[other])
    campaign = new_campaign(topics=[topic, other])
    assert start_campaign(
        session, campaign.id, expected=CampaignStatus.DRAFT, batch_size=10, settings=get_settings()
    )
    assert _addresses(session, campaign.id) == ["both@example.com", "one@example.com"]
    assert campaign.recipients == 2


def test_suppressed_unconfirmed_and_paused_are_left_out(session, topic, new_campaign) -> None:
    make_subscriber(session, "ok@example.com", topics=[topic])
    make_subscriber(session, "bounced@example.com", topics=[topic])
    suppress(session, "bounced@example.com", SuppressionReason.BOUNCE)
    make_subscriber(
        session,
        "pending@example.com",
        topics=[topic],
        subscription_status=SubscriptionStatus.UNCONFIRMED,
    )
    make_subscriber(session, "resting@example.com", topics=[topic], status=SubscriberStatus.PAUSED)
    campaign = new_campaign()
    start_campaign(
        session, campaign.id, expected=CampaignStatus.DRAFT, batch_size=10, settings=get_settings()
    )
    assert _addresses(session, campaign.id) == ["ok@example.com"]


def test_segment_filters_on_attributes(session, topic, new_campaign) -> None:
    make_subscriber(session, "oh@example.com", topics=[topic], attributes={"state": "OH"})
    make_subscriber(session, "tx@example.com", topics=[topic], attributes={"state": "TX"})
    campaign = new_campaign(segment={"state": "OH"})
    start_campaign(
        session, campaign.id, expected=CampaignStatus.DRAFT, batch_size=10, settings=get_settings()
    )
    assert _addresses(session, campaign.id) == ["oh@example.com"]


def test_batches_are_cut_in_id_order_and_rerun_is_harmless(session, topic, new_campaign) -> None:
    make_audience(session, topic, 7)
    campaign = new_campaign()
    start_campaign(
        session, campaign.id, expected=CampaignStatus.DRAFT, batch_size=3, settings=get_settings()
    )
    freeze_audience(session, campaign, 3)
    batches = session.scalars(
        sa.select(Batch).where(Batch.campaign_id == campaign.id).order_by(Batch.number)
    ).all()
    assert [b.size for b in batches] == [3, 3, 1]
    rows = session.execute(
        sa.select(Delivery.id, Delivery.batch_id)
        .where(Delivery.campaign_id == campaign.id)
        .order_by(Delivery.id)
    ).all()
    assert [batch_id for _, batch_id in rows] == [batches[0].id] * 3 + [batches[1].id] * 3 + [
        batches[2].id
    ]
    assert campaign.recipients == 7
