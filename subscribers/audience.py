"""The audience query: who a campaign would reach right now."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import Session

from subscribers.models import Subscriber, SubscriberStatus, Subscription, SubscriptionStatus
from subscribers.suppression import not_suppressed_clause


def audience_select(
    topic_ids: Iterable[int], segment: Mapping[str, Any] | None = None
) -> sa.Select[Any]:
    """Return a Core select of ``(id, email, name)`` for every mailable subscriber.

    A subscriber is mailable when active, confirmed on at least one of the topics and not
    suppressed. Overlapping topics give one row per subscriber (``EXISTS``, not a join).
    """
    ids = list(topic_ids)
    confirmed = (
        sa.select(Subscription.id)
        .where(
            Subscription.subscriber_id == Subscriber.id,
            Subscription.topic_id.in_(ids),
            Subscription.status == SubscriptionStatus.CONFIRMED,
        )
        .exists()
    )
    query = sa.select(Subscriber.id, Subscriber.email, Subscriber.name).where(
        Subscriber.status == SubscriberStatus.ACTIVE, confirmed, not_suppressed_clause()
    )
    for key, value in (segment or {}).items():
        query = query.where(Subscriber.attributes[key].as_string() == str(value))
    return query.order_by(Subscriber.id)


def count_audience(
    session: Session, topic_ids: Iterable[int], segment: Mapping[str, Any] | None = None
) -> int:
    """Return how many subscribers the audience has now."""
    inner = audience_select(topic_ids, segment).order_by(None).subquery()
    return session.scalar(sa.select(sa.func.count()).select_from(inner)) or 0
