"""Campaigns feed the subscriber page and scrub their copies of an address on erasure."""

from __future__ import annotations

import sqlalchemy as sa
from sqlalchemy.orm import Session

from campaigns.events.subscriber_history import erase_send_records, send_history
from campaigns.sending.models import Campaign, Delivery, DeliveryStatus
from tests.campaigns.sending.conftest import make_issue
from tests.factories import make_subscriber


def _delivery(session: Session, address: str) -> tuple[Campaign, Delivery]:
    issue = make_issue(session)
    campaign = Campaign(issue_id=issue.id, issue_revision=1, name="January spotlight")
    session.add(campaign)
    session.flush()
    subscriber = make_subscriber(session, address)
    delivery = Delivery(
        campaign_id=campaign.id,
        subscriber_id=subscriber.id,
        address=address,
        status=DeliveryStatus.ACCEPTED,
    )
    session.add(delivery)
    session.flush()
    return campaign, delivery


def test_sends_appear_in_the_subscriber_history(app, session: Session) -> None:
    _, delivery = _delivery(session, "reader@example.com")
    entries = list(send_history(session, delivery.subscriber_id, 10))
    assert [entry.summary for entry in entries] == ["January spotlight: accepted"]


def test_erasure_blanks_delivery_addresses(app, session: Session) -> None:
    _, delivery = _delivery(session, "reader@example.com")
    erase_send_records(session, delivery.subscriber_id, "reader@example.com")
    session.expire_all()
    stored = session.scalar(sa.select(Delivery.address).where(Delivery.id == delivery.id))
    assert stored == f"erased-{delivery.id}"
