"""What campaigns know about one subscriber: their sends and delivery events, and erasing both.

Registered with ``subscribers.history`` so the subscriber page shows sends without the
subscribers package reading campaign tables.
"""

from __future__ import annotations

from collections.abc import Iterable

import sqlalchemy as sa
from sqlalchemy.orm import Session

from campaigns.events.models import DeliveryEvent
from campaigns.sending.models import Campaign, Delivery
from subscribers.history import HistoryEntry, register_erasure_handler, register_history_source


def send_history(session: Session, subscriber_id: int, limit: int) -> Iterable[HistoryEntry]:
    """Return the subscriber's deliveries and their provider events, newest first."""
    deliveries = session.execute(
        sa.select(Delivery.id, Delivery.status, Delivery.updated_at, Campaign.id, Campaign.name)
        .join(Campaign, Campaign.id == Delivery.campaign_id)
        .where(Delivery.subscriber_id == subscriber_id)
        .order_by(Delivery.id.desc())
        .limit(limit)
    ).all()
    entries = [
        HistoryEntry(at, "send", f"{name}: {status}", {"campaign_id": campaign_id})
        for _, status, at, campaign_id, name in deliveries
    ]
    events = session.execute(
        sa.select(DeliveryEvent.kind, DeliveryEvent.occurred_at, DeliveryEvent.campaign_id)
        .where(DeliveryEvent.delivery_id.in_([row[0] for row in deliveries]))
        .order_by(DeliveryEvent.occurred_at.desc())
        .limit(limit)
    ).all()
    entries.extend(
        HistoryEntry(at, f"delivery_{kind}", f"Provider reported {kind}", {"campaign_id": cid})
        for kind, at, cid in events
    )
    return entries


def erase_send_records(session: Session, subscriber_id: int, address: str) -> None:
    """Blank the address kept on the subscriber's deliveries and the raw provider payloads."""
    delivery_ids = sa.select(Delivery.id).where(Delivery.subscriber_id == subscriber_id)
    session.execute(
        sa.update(DeliveryEvent)
        .where(DeliveryEvent.delivery_id.in_(delivery_ids))
        .values(payload={})
        .execution_options(synchronize_session=False)
    )
    # A per-row placeholder keeps "one address per campaign" unique after erasure.
    session.execute(
        sa.update(Delivery)
        .where(Delivery.subscriber_id == subscriber_id)
        .values(address=sa.literal("erased-") + sa.cast(Delivery.id, sa.String))
        .execution_options(synchronize_session=False)
    )


def register() -> None:
    """Plug the send history and erasure into the subscribers package."""
    register_history_source(send_history)
    register_erasure_handler(erase_send_records)
