"""The one place that decides who must never be mailed.

An address is suppressed when its owner unsubscribed from everything, when mail to it hard-bounced,
when its owner complained, when staff suppressed it, or when its owner asked to be erased.

Only an unsubscribe can be undone by the owner: confirming a new double opt-in request proves
they hold the mailbox and want mail again (``lift_unsubscribe``). Bounces, complaints, manual
suppressions and erasures stay until staff lift them (``lift_suppression``): a complaint or an
erasure request must never be overridden by someone typing the address into a form.
"""

from __future__ import annotations

from collections.abc import Collection

import sqlalchemy as sa
from sqlalchemy.orm import Session

from engine.clock import now
from subscribers.addresses import InvalidAddress, address_hash, normalise_address
from subscribers.history import record_event
from subscribers.models import (
    EventKind,
    Subscriber,
    SubscriberStatus,
    SubscriptionStatus,
    Suppression,
    SuppressionReason,
)

#: Reasons the address owner cannot undo by themselves.
HARD_REASONS = frozenset(
    {
        SuppressionReason.BOUNCE,
        SuppressionReason.COMPLAINT,
        SuppressionReason.MANUAL,
        SuppressionReason.ERASED,
    }
)

__all__ = [
    "HARD_REASONS",
    "address_hash",
    "find_suppression",
    "hard_suppressed",
    "is_suppressed",
    "lift_suppression",
    "lift_unsubscribe",
    "not_suppressed_clause",
    "suppress",
    "unsubscribe_everywhere",
]


def find_suppression(session: Session, address: str) -> Suppression | None:
    """Return the suppression entry for ``address``, if any."""
    digest = address_hash(address)
    return session.scalar(sa.select(Suppression).where(Suppression.address_hash == digest))


def hard_suppressed(session: Session, addresses: Collection[str]) -> set[str]:
    """Return which of ``addresses`` carry a suppression their owner cannot undo (one query)."""
    if not addresses:
        return set()
    by_hash = {address_hash(address): address for address in addresses}
    rows = session.execute(
        sa.select(Suppression.address_hash, Suppression.reason).where(
            Suppression.address_hash.in_(by_hash)
        )
    )
    return {by_hash[digest] for digest, reason in rows if reason in HARD_REASONS}


def is_suppressed(session: Session, address: str) -> bool:
    """Return whether ``address`` is on the suppression list, for whatever reason."""
    return find_suppression(session, address) is not None


def suppress(
    session: Session,
    address: str,
    reason: SuppressionReason,
    *,
    source: str = "",
    note: str = "",
    ip: str | None = None,
) -> Suppression:
    """Suppress ``address`` (idempotent) and note it in the subscriber's history.

    An existing entry keeps its first reason, except that a hard reason replaces an unsubscribe
    (so the owner can no longer lift it) and an erasure replaces everything and drops the address.
    """
    address = address.strip().lower()
    entry = find_suppression(session, address)
    if entry is None:
        entry = Suppression(address_hash=address_hash(address), address=address, reason=reason)
        entry.source, entry.note = source, note
        session.add(entry)
    elif _outranks(reason, entry.reason):
        entry.reason, entry.source, entry.note = reason, source, note
    else:
        return entry
    if reason == SuppressionReason.ERASED:
        entry.address = None
    else:
        _note_on_subscriber(session, address, reason, source, ip)
    session.flush()
    return entry


def _outranks(new: SuppressionReason, old: SuppressionReason) -> bool:
    if new == SuppressionReason.ERASED:
        return old != SuppressionReason.ERASED
    return old == SuppressionReason.UNSUBSCRIBE and new in HARD_REASONS


def _note_on_subscriber(
    session: Session, address: str, reason: SuppressionReason, source: str, ip: str | None
) -> None:
    subscriber = session.scalar(sa.select(Subscriber).where(Subscriber.email == address))
    if subscriber is not None and reason != SuppressionReason.UNSUBSCRIBE:
        record_event(
            session, subscriber, EventKind.SUPPRESSED, {"reason": reason, "source": source}, ip
        )


def unsubscribe_everywhere(
    session: Session,
    address_or_subscriber: str | Subscriber,
    source: str,
    *,
    campaign_id: int | None = None,
    ip: str | None = None,
) -> Subscriber | None:
    """Unsubscribe an address from every topic and suppress it (idempotent).

    Works for addresses that have no subscriber row (e.g. a provider's unsubscribe event for a
    removed address): the suppression is still recorded. Returns the subscriber, if there is one.
    """
    subscriber = _subscriber_for(session, address_or_subscriber)
    address = subscriber.email if subscriber else str(address_or_subscriber).strip().lower()
    if subscriber is not None and subscriber.status != SubscriberStatus.ERASED:
        _end_subscriptions(session, subscriber)
        subscriber.status = SubscriberStatus.UNSUBSCRIBED
        detail: dict[str, object] = {"source": source}
        if campaign_id is not None:
            detail["campaign_id"] = campaign_id
        record_event(session, subscriber, EventKind.UNSUBSCRIBED, detail, ip)
    suppress(session, address, SuppressionReason.UNSUBSCRIBE, source=source, ip=ip)
    return subscriber


def _subscriber_for(session: Session, value: str | Subscriber) -> Subscriber | None:
    if isinstance(value, Subscriber):
        return value
    try:
        # A lookup: any address the list may hold, whatever the mail service takes today.
        address = normalise_address(value, smtputf8=True)
    except InvalidAddress:
        address = value.strip().lower()
    return session.scalar(sa.select(Subscriber).where(Subscriber.email == address))


def _end_subscriptions(session: Session, subscriber: Subscriber) -> None:
    at = now()
    for subscription in subscriber.subscriptions:
        if subscription.status != SubscriptionStatus.UNSUBSCRIBED:
            subscription.status = SubscriptionStatus.UNSUBSCRIBED
            subscription.unsubscribed_at = at
    session.flush()


def lift_suppression(
    session: Session, address: str, *, source: str, note: str = ""
) -> Suppression | None:
    """Remove ``address`` from the suppression list (staff only); return the removed entry.

    Lifting does not subscribe anyone: the address can be mailed again only after it subscribes.
    """
    entry = find_suppression(session, address)
    if entry is None:
        return None
    session.delete(entry)
    subscriber = session.scalar(
        sa.select(Subscriber).where(Subscriber.email == address.strip().lower())
    )
    if subscriber is not None:
        detail = {"reason": entry.reason, "source": source, "note": note}
        record_event(session, subscriber, EventKind.SUPPRESSION_LIFTED, detail)
    session.flush()
    return entry


def lift_unsubscribe(session: Session, address: str) -> bool:
    """Remove an unsubscribe suppression (the owner re-subscribed); leave hard ones alone."""
    entry = find_suppression(session, address)
    if entry is None or entry.reason != SuppressionReason.UNSUBSCRIBE:
        return entry is None
    session.delete(entry)
    session.flush()
    return True


def not_suppressed_clause() -> sa.ColumnElement[bool]:
    """Return a SQL condition on ``Subscriber`` that excludes suppressed addresses."""
    return ~sa.exists().where(Suppression.address == Subscriber.email)
