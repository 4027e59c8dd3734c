"""Double opt-in confirmation emails: queued by the subscribe transaction, sent by a job.

Subscribing only marks the subscriber (``confirmation_due_at``), so the form answers without
waiting for a mail provider, and a provider that fails is retried instead of losing the email.
The scheduler's ``send-confirmations`` job sends what is due every 0.5 s; the staff API sends its
own at once, the same way. Each round finds a batch in a read-only session, claims it with a
lease (one compare-and-set ``UPDATE`` on ``confirmation_due_at``), sends with no transaction open
(SQLite's write lock is never held while a provider answers) and records the outcomes in another
short transaction. A crash between sending and recording sends that confirmation again when the
lease ends: a second copy of a confirmation email is harmless, a lost one is not.
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
from sqlalchemy.orm import Session

from engine.clock import now
from engine.config import Settings
from engine.db import Database, get_database
from engine.delivery.base import BackendAuthError, ResultStatus, SendResult
from engine.delivery.registry import backend_from_settings
from engine.web import get_settings
from subscribers.emails import confirmation_message
from subscribers.history import record_event_each
from subscribers.links import SubscriberLinks
from subscribers.models import (
    EventKind,
    Subscriber,
    SubscriberStatus,
    Subscription,
    SubscriptionStatus,
    Topic,
)
from subscribers.suppression import hard_suppressed

log = logging.getLogger(__name__)
_subscriber = Subscriber.__table__

#: At most one confirmation email per address in this interval, however often the form is sent.
CONFIRMATION_INTERVAL = timedelta(hours=24)
#: Confirmations claimed per round: one short transaction each side of the sends. On SQLite
#: each holds the write lock that subscribe posts wait for: about 2 ms at 50, 3-5 ms at 100.
BATCH_SIZE = 50
#: A claimed confirmation is due again after this, should its sender die before recording.
LEASE = timedelta(minutes=10)
#: A round stops sending this long before its lease ends (a slow provider): the rest go back.
LEASE_MARGIN = timedelta(minutes=5)
#: Transient failures are retried after 1, 2, 4, 8 … minutes, up to this many attempts in all.
MAX_ATTEMPTS = 8
FIRST_RETRY = timedelta(minutes=1)
#: Seconds one scheduler tick may keep starting rounds, so that it ends while sign-ups keep
#: arriving (the next tick goes on); within the job's interval, so ticks are not skipped.
TICK_SECONDS = 0.4
#: Between full rounds the job rests this many times the CPU time the round took: it then sends
#: in bursts of one round between the web workers' requests and uses at most about half a core,
#: however many sign-ups wait (it drained 1,400 a second here, twice the form's peak rate).
REST_PER_ROUND = 1.0


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
class DueConfirmation:
    """A confirmation waiting to be sent: the subscriber and the topics awaiting their answer."""

    subscriber: Subscriber
    topics: list[Topic]


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


def find_due_confirmations(
    session: Session, *, limit: int = BATCH_SIZE, subscriber_ids: Collection[int] | None = None
) -> tuple[list[DueConfirmation], list[int]]:
    """Return up to ``limit`` due confirmations, and the ids of those to drop unsent.

    Only reads: run it in a read-only session, so that SQLite's write lock is not held while
    the subscribers and their topics load.
    """
    query = (
        sa.select(Subscriber)
        .where(Subscriber.confirmation_due_at <= now())
        .order_by(Subscriber.confirmation_due_at, Subscriber.id)
        .limit(limit)
    )
    if subscriber_ids is not None:
        query = query.where(Subscriber.id.in_(subscriber_ids))
    subscribers = list(session.scalars(query))
    waiting: dict[int, list[Topic]] = {subscriber.id: [] for subscriber in subscribers}
    if waiting:
        # Topics only, not Subscription entities: the scheduler runs this several times a second.
        topics = (
            sa.select(Subscription.subscriber_id, Topic)
            .join(Topic, Topic.id == Subscription.topic_id)
            .where(
                Subscription.subscriber_id.in_(waiting),
                Subscription.status == SubscriptionStatus.UNCONFIRMED,
            )
            .order_by(Subscription.subscriber_id, Subscription.id)
        )
        for subscriber_id, topic in session.execute(topics):
            waiting[subscriber_id].append(topic)
    due: list[DueConfirmation] = []
    drop: list[int] = []
    for subscriber in subscribers:
        if not waiting[subscriber.id] or subscriber.status == SubscriberStatus.ERASED:
            drop.append(subscriber.id)
        else:
            due.append(DueConfirmation(subscriber, waiting[subscriber.id]))
    return due, drop


def claim_confirmations(
    session: Session, due: Sequence[DueConfirmation], drop: Collection[int] = ()
) -> tuple[list[PendingConfirmation], int]:
    """Claim ``due`` with a lease and clear ``drop``; only rows still due are touched.

    Returns the claimed confirmations and how many were dropped. Hard suppressions and erasures
    are checked again here, in the claiming transaction. A sender that got there first (its
    lease moved ``confirmation_due_at`` ahead) keeps its rows.
    """
    hard = hard_suppressed(session, [confirmation.subscriber.email for confirmation in due])
    drop = [*drop, *(c.subscriber.id for c in due if c.subscriber.email in hard)]
    due = [confirmation for confirmation in due if confirmation.subscriber.email not in hard]
    at = now()
    still_due = _subscriber.c.confirmation_due_at <= at
    dropped = 0
    if drop:
        cleared = sa.update(_subscriber).where(_subscriber.c.id.in_(drop), still_due)
        dropped = len(
            session.scalars(
                cleared.values(confirmation_due_at=None).returning(_subscriber.c.id)
            ).all()
        )
    if not due:
        return [], dropped
    lease_end = at + LEASE
    claim = sa.update(_subscriber).where(
        _subscriber.c.id.in_([confirmation.subscriber.id for confirmation in due]),
        _subscriber.c.status != SubscriberStatus.ERASED,
        still_due,
    )
    claimed = set(
        session.scalars(claim.values(confirmation_due_at=lease_end).returning(_subscriber.c.id))
    )
    pending = [
        PendingConfirmation(confirmation.subscriber, confirmation.topics, lease_end)
        for confirmation in due
        if confirmation.subscriber.id in claimed
    ]
    return pending, dropped


def send_confirmations(
    settings: Settings, pending: Sequence[PendingConfirmation]
) -> list[SendResult]:
    """Send the claimed confirmations in order (no database work); return their results.

    Stops early, returning fewer results, when the lease is running out (a slow provider) or
    the provider refuses the credentials: the confirmations not tried go back to the queue.
    """
    backend = backend_from_settings(settings)
    links = SubscriberLinks.from_settings(settings)
    results = []
    try:
        for confirmation in pending:
            if now() >= confirmation.lease_end - LEASE_MARGIN:
                break
            subscriber, topics = confirmation.subscriber, confirmation.topics
            message = confirmation_message(settings, subscriber, topics, links)
            try:
                # One message per call: confirmations carry no delivery id to tell them apart.
                results.append(backend.send_batch([message])[0])
            except BackendAuthError as error:
                log.error("confirmations paused: the provider refused the credentials")
                results.append(SendResult(0, ResultStatus.FAILED_TRANSIENT, error=str(error)))
                break
            except Exception as error:
                log.exception("confirmation to subscriber %s failed", subscriber.id)
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

    ``results`` may be shorter than ``pending``: the confirmations not tried go back to the queue.

    An outcome is recorded only while its claim holds (``confirmation_due_at`` still at the
    lease). Alike outcomes share one UPDATE, and the history one INSERT: on SQLite this
    transaction holds the write lock that subscribe posts wait for.
    """
    groups: dict[tuple[Any, ...], list[tuple[int, tuple[EventKind, dict[str, Any]] | None]]] = {}
    due_again = now()
    for confirmation in pending[len(results) :]:
        # Not tried: due again at once, no attempt counted.
        attempts = confirmation.subscriber.confirmation_attempts
        # (lease, next due time or None when done, attempts, accepted)
        key: tuple[datetime, datetime | None, int, bool] = (
            confirmation.lease_end,
            due_again,
            attempts,
            False,
        )
        groups.setdefault(key, []).append((confirmation.subscriber.id, None))
    sent = retrying = given_up = 0
    for confirmation, result in zip(pending, results, strict=False):
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
        accepted = result.status == ResultStatus.ACCEPTED
        key = (confirmation.lease_end, due, attempts, accepted)
        groups.setdefault(key, []).append((subscriber.id, event))
    history = []
    for (lease_end, due, attempts, accepted), members in groups.items():
        values: dict[str, Any] = {"confirmation_due_at": due, "confirmation_attempts": attempts}
        if accepted:
            values["confirmation_sent_at"] = now()
        updated = set(
            session.scalars(
                sa.update(_subscriber)
                .where(
                    _subscriber.c.id.in_([subscriber_id for subscriber_id, _ in members]),
                    _subscriber.c.confirmation_due_at == lease_end,
                )
                .values(values)
                .returning(_subscriber.c.id)
            )
        )
        history += [(id_, *event) for id_, event in members if event and id_ in updated]
    record_event_each(session, history)
    return ConfirmationRun(len(results), sent, retrying, given_up)


def send_due_confirmations(
    database: Database,
    settings: Settings,
    *,
    subscriber_ids: Collection[int] | None = None,
    limit: int = BATCH_SIZE,
) -> ConfirmationRun:
    """Find, claim, send and record one round of due confirmations.

    Finding reads in a read-only session; claiming and recording are short transactions of
    their own; sending runs with no transaction open.
    """
    with database.read_sessionmaker() as reader:
        due, drop = find_due_confirmations(reader, limit=limit, subscriber_ids=subscriber_ids)
    if not due and not drop:
        return ConfirmationRun()
    with database.session() as session:
        pending, dropped = claim_confirmations(session, due, drop)
    if not pending:
        return ConfirmationRun(dropped=dropped)
    results = send_confirmations(settings, pending)
    with database.session() as session:
        run = record_confirmation_results(session, pending, results)
    return ConfirmationRun(run.claimed, run.sent, run.retrying, run.given_up, dropped)


def drain_due_confirmations(
    database: Database,
    settings: Settings,
    *,
    seconds: float = TICK_SECONDS,
    rest_per_round: float = REST_PER_ROUND,
) -> ConfirmationRun:
    """Run rounds until none is due or ``seconds`` have passed; return the totals.

    After each full round it sleeps ``rest_per_round`` times the CPU time the round took.
    """
    totals = ConfirmationRun()
    deadline = time.monotonic() + seconds
    while True:
        cpu_started = time.thread_time()
        run = send_due_confirmations(database, settings, limit=BATCH_SIZE)
        totals += run
        # CPU time, not wall time: waiting on a slow provider leaves the cores to the web.
        rest = (time.thread_time() - cpu_started) * rest_per_round
        if run.claimed + run.dropped < BATCH_SIZE or time.monotonic() + rest >= deadline:
            return totals
        if rest:
            time.sleep(rest)


def send_confirmations_job(app: Flask) -> None:
    """The scheduler's job: send the confirmations due, a bounded number of rounds per tick."""
    run = drain_due_confirmations(get_database(app), get_settings(app))
    if run.claimed:
        log.info(
            "confirmations: %s sent, %s to retry, %s given up", run.sent, run.retrying, run.given_up
        )
