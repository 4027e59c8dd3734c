"""Housekeeping of sign-ups: forget addresses that asked to subscribe and never confirmed."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

import sqlalchemy as sa
from sqlalchemy.orm import Session

from engine.db import rowcount
from subscribers.models import Subscriber, SubscriberStatus, Subscription, SubscriptionStatus


@dataclass(frozen=True, slots=True)
class PurgeReport:
    subscribers: int
    subscriptions: int


def purge_stale_signups(session: Session, *, created_before: datetime) -> PurgeReport:
    """Delete never-confirmed sign-ups and stale pending subscriptions made before the cut-off.

    A subscriber goes only when nothing about them was ever confirmed: no confirmation time and
    every subscription still unconfirmed, so an unsubscribed reader's history is kept.
    """
    ever_confirmed = (
        sa.select(Subscription.id)
        .where(
            Subscription.subscriber_id == Subscriber.id,
            Subscription.status != SubscriptionStatus.UNCONFIRMED,
        )
        .exists()
    )
    stale = sa.select(Subscriber.id).where(
        Subscriber.status == SubscriberStatus.ACTIVE,
        Subscriber.confirmed_at.is_(None),
        Subscriber.created_at < created_before,
        ~ever_confirmed,
    )
    ids = list(session.scalars(stale))
    subscriptions = 0
    if ids:
        subscriptions += rowcount(
            session.execute(sa.delete(Subscription).where(Subscription.subscriber_id.in_(ids)))
        )
        session.execute(sa.delete(Subscriber).where(Subscriber.id.in_(ids)))
    subscriptions += rowcount(
        session.execute(
            sa.delete(Subscription).where(
                Subscription.status == SubscriptionStatus.UNCONFIRMED,
                Subscription.created_at < created_before,
            )
        )
    )
    session.expire_all()
    return PurgeReport(len(ids), subscriptions)
