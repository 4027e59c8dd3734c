"""Double opt-in confirmation emails: queued by the subscribe transaction, sent by a job.

Subscribing only marks the subscriber (``confirmation_due_at``), so the form answers without
waiting for a mail provider, and a provider that fails is retried instead of losing the email.
The scheduler's ``send-confirmations`` job sends what is due every few seconds; the staff API
sends its own at once, the same way. Each round claims a batch with a lease (a compare-and-set on
``confirmation_due_at``) in one short transaction, sends with no transaction open (SQLite's write
lock is never held while a provider answers) and records the outcomes in another. A crash
between sending and recording sends that confirmation again when the lease ends: a second copy
of a confirmation email is harmless, a lost one is not.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Collection, Sequence
from dataclasses import astuple, dataclass
from datetime import datetime, timedelta
from typing import Any

import sqlalchemy as sa
from flask import Flask
from sqlalchemy.orm import Session, selectinload

from engine.clock import now
from engine.config import Settings
from engine.db import Database, get_database
from engine.delivery.base import ResultStatus, SendResult
from engine.delivery.registry import backend_from_settings
from engine.web import get_settings
from subscribers.emails import confirmation_message
from subscribers.history import record_events
from subscribers.models import (
    EventKind,
    Subscriber,
    SubscriberStatus,
    Subscription,
    SubscriptionStatus,
    Suppression,
    Topic,
)
from subscribers.suppression import HARD_REASONS, address_hash

log = logging.getLogger(__name__)

#: At most one confirmation email per address in this interval, however often the form is sent.
CONFIRMATION_INTERVAL = timedelta(hours=24)
#: Confirmations claimed per round: one short transaction each side of the sends.
BATCH_SIZE = 100
#: A claimed confirmation is due again after this, should its sender die before recording.
LEASE = timedelta(minutes=5)
#: Transient failures are retried after 1, 2, 4, 8 … minutes, up to this many attempts in all.
MAX_ATTEMPTS = 8
FIRST_RETRY = timedelta(minutes=1)
#: Seconds one scheduler tick may keep starting rounds, so that it ends while sign-ups keep
#: arriving (the next tick goes on); within the job's interval, so ticks are not skipped.
TICK_SECONDS = 4.0


def request_confirmation(subscriber: Subscriber) -> bool:
    """Queue a confirmation email for ``subscriber``; return whether one was queued.

    Nothing is queued while one is waiting, or within ``CONFIRMATION_INTERVAL`` of the last.
    """
    if not confirmation_allowed(subscriber.confirmation_sent_at, subscriber.confirmation_due_at):
        return False
    subscriber.confirmation_due_at = now()
    subscriber.confirmation_attempts = 0
    return True


def confirmation_allowed(sent_at: datetime | None, due_at: datetime | None) -> bool:
    """Tell whether a new confirmation may be queued for an address in this state."""
    return due_at is None and (sent_at is None or now() - sent_at >= CONFIRMATION_INTERVAL)


@dataclass(frozen=True, slots=True)
class PendingConfirmation:
    """A claimed confirmation: the subscriber and the topics waiting for their answer."""

    subscriber: Subscriber
    topics: list[Topic]
    #: The claim's ``confirmation_due_at``: the outcome is recorded only while it still holds.
    lease_end: datetime


@dataclass(frozen=True, slots=True)
class ConfirmationRun:
    """What one round did."""

    claimed: int = 0
    sent: int = 0
    retrying: int = 0
    given_up: int = 0
    #: Nothing left to confirm, or the address is now hard-suppressed: cleared without mail.
    dropped: int = 0

    def __add__(self, other: ConfirmationRun) -> ConfirmationRun:
        return ConfirmationRun(*(a + b for a, b in zip(astuple(self), astuple(other), strict=True)))


def claim_due_confirmations(
    session: Session, *, limit: int = BATCH_SIZE, subscriber_ids: Collection[int] | None = None
) -> tuple[list[PendingConfirmation], int]:
    """Claim up to ``limit`` due confirmations; return them and how many were dropped.

    The claim moves ``confirmation_due_at`` a lease ahead, so another sender skips them.
    """
    query = (
        sa.select(Subscriber)
        .where(Subscriber.confirmation_due_at <= now())
        .order_by(Subscriber.confirmation_due_at, Subscriber.id)
        .limit(limit)
        .options(selectinload(Subscriber.subscriptions).selectinload(Subscription.topic))
    )
    if subscriber_ids is not None:
        query = query.where(Subscriber.id.in_(subscriber_ids))
    if session.get_bind().dialect.name == "postgresql":
        query = query.with_for_update(skip_locked=True, of=Subscriber)
    subscribers = list(session.scalars(query))
    hard = _hard_suppressed(session, [subscriber.email for subscriber in subscribers])
    claimed: list[PendingConfirmation] = []
    dropped = 0
    lease_end = now() + LEASE
    for subscriber in subscribers:
        topics = [
            subscription.topic
            for subscription in subscriber.subscriptions
            if subscription.status == SubscriptionStatus.UNCONFIRMED
        ]
        if not topics or subscriber.status == SubscriberStatus.ERASED or subscriber.email in hard:
            subscriber.confirmation_due_at = None
            dropped += 1
        else:
            subscriber.confirmation_due_at = lease_end
            claimed.append(PendingConfirmation(subscriber, topics, lease_end))
    session.flush()
    return claimed, dropped


def _hard_suppressed(session: Session, addresses: Sequence[str]) -> set[str]:
    if not addresses:
        return set()
    by_hash = {address_hash(address): address for address in addresses}
    rows = session.execute(
        sa.select(Suppression.address_hash, Suppression.reason).where(
            Suppression.address_hash.in_(by_hash)
        )
    )
    return {by_hash[digest] for digest, reason in rows if reason in HARD_REASONS}


def send_confirmations(
    settings: Settings, pending: Sequence[PendingConfirmation]
) -> list[SendResult]:
    """Send each claimed confirmation (no database work); return one result per confirmation."""
    backend = backend_from_settings(settings)
    results = []
    try:
        for confirmation in pending:
            message = confirmation_message(settings, confirmation.subscriber, confirmation.topics)
            try:
                # One message per call: confirmations carry no delivery id to tell them apart.
                results.append(backend.send_batch([message])[0])
            except Exception as error:
                log.exception("confirmation to subscriber %s failed", confirmation.subscriber.id)
                results.append(SendResult(0, ResultStatus.FAILED_TRANSIENT, error=str(error)))
    finally:
        backend.close()
    return results


def record_confirmation_results(
    session: Session,
    pending: Sequence[PendingConfirmation],
    results: Sequence[SendResult],
) -> ConfirmationRun:
    """Record what the provider said: sent, retry later, or give up (in the history).

    Each update holds only while the claim does (``confirmation_due_at`` still at its lease).
    """
    sent = retrying = given_up = 0
    for confirmation, result in zip(pending, results, strict=True):
        subscriber = confirmation.subscriber
        detail = {"topics": [topic.slug for topic in confirmation.topics]}
        attempts = subscriber.confirmation_attempts + 1
        event: tuple[EventKind, dict[str, Any]] | None = None
        if result.status == ResultStatus.ACCEPTED:
            due, attempts, event = None, 0, (EventKind.CONFIRMATION_SENT, detail)
            sent += 1
        elif result.status == ResultStatus.FAILED_TRANSIENT and attempts < MAX_ATTEMPTS:
            due = max(now() + FIRST_RETRY * 2 ** (attempts - 1), result.retry_at or now())
            retrying += 1
        else:
            due, event = None, (EventKind.CONFIRMATION_FAILED, {**detail, "reason": result.error})
            log.warning("confirmation to subscriber %s given up: %s", subscriber.id, result.error)
            given_up += 1
        values: dict[str, Any] = {"confirmation_due_at": due, "confirmation_attempts": attempts}
        if result.status == ResultStatus.ACCEPTED:
            values["confirmation_sent_at"] = now()
        session.execute(
            sa.update(Subscriber)
            .where(
                Subscriber.id == subscriber.id,
                Subscriber.confirmation_due_at == confirmation.lease_end,
            )
            .values(values)
            .execution_options(synchronize_session=False)
        )
        if event is not None:
            record_events(session, subscriber, [event])
    return ConfirmationRun(len(pending), sent, retrying, given_up)


def send_due_confirmations(
    database: Database,
    settings: Settings,
    *,
    subscriber_ids: Collection[int] | None = None,
    limit: int = BATCH_SIZE,
) -> ConfirmationRun:
    """Claim, send and record one round of due confirmations, each step in its own transaction."""
    with database.session() as session:
        pending, dropped = claim_due_confirmations(
            session, limit=limit, subscriber_ids=subscriber_ids
        )
    if not pending:
        return ConfirmationRun(dropped=dropped)
    results = send_confirmations(settings, pending)
    with database.session() as session:
        run = record_confirmation_results(session, pending, results)
    return ConfirmationRun(run.claimed, run.sent, run.retrying, run.given_up, dropped)


def drain_due_confirmations(
    database: Database, settings: Settings, *, seconds: float = TICK_SECONDS
) -> ConfirmationRun:
    """Run rounds until none is due or ``seconds`` have passed; return the totals."""
    totals = ConfirmationRun()
    deadline = time.monotonic() + seconds
    while True:
        run = send_due_confirmations(database, settings)
        totals += run
        if run.claimed + run.dropped < BATCH_SIZE or time.monotonic() >= deadline:
            return totals


def send_confirmations_job(app: Flask) -> None:
    """The scheduler's job: send the confirmations due, a bounded number of rounds per tick."""
    run = drain_due_confirmations(get_database(app), get_settings(app))
    if run.claimed:
        log.info(
            "confirmations: %s sent, %s to retry, %s given up", run.sent, run.retrying, run.given_up
        )
