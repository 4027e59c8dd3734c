"""Take back what crashed workers left behind, retry due failures and close finished campaigns."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime

import sqlalchemy as sa
from sqlalchemy.orm import Session

from campaigns.sending.approval import ensure_send_allowed
from campaigns.sending.models import (
    TERMINAL_DELIVERY_STATUSES,
    Batch,
    BatchStatus,
    Campaign,
    CampaignStatus,
    Delivery,
    DeliveryStatus,
)
from campaigns.sending.publication import publish_campaign_issues
from campaigns.sending.service import get_campaign
from engine.clock import now
from engine.db import rowcount
from engine.errors import Conflict

_OPEN_STATES = [s.value for s in DeliveryStatus if s not in TERMINAL_DELIVERY_STATUSES]
_d = Delivery.__table__
_b = Batch.__table__
_c = Campaign.__table__


@dataclass(slots=True)
class RecoveryReport:
    """What one recovery pass changed; ``requeued`` batches need a worker (or a task) again."""

    requeued: list[int] = field(default_factory=list)
    uncertain: int = 0
    retried: int = 0
    finished: list[int] = field(default_factory=list)


def recover(session: Session, at: datetime | None = None) -> RecoveryReport:
    """Run one recovery pass: expired claims back to the queue, expired submissions uncertain.

    A ``claimed`` batch never reached the provider, so it is safe to hand out again; a
    ``submitting`` one may have, so its deliveries become ``uncertain`` and are never resent
    without a staff decision. Due transient failures go back to the queue with their batch.
    """
    at = at or now()
    report = RecoveryReport()
    if session.get_bind().dialect.name == "postgresql":
        # A backstop: rows are picked with SKIP LOCKED below, but nothing recovery touches
        # should ever make it wait long; a pass that would is given up and the next tick retries.
        session.execute(sa.text("SET LOCAL lock_timeout = '5s'"))
    report.requeued += _requeue_expired_claims(session, at)
    report.uncertain += _expire_submissions(session, at)
    retried, batches = _retry_due_failures(session, at)
    report.retried += retried
    report.requeued += batches
    for campaign_id in _sending_campaigns(session):
        if finish_if_complete(session, campaign_id):
            report.finished.append(campaign_id)
    return report


def _expired(status: BatchStatus, at: datetime) -> sa.ColumnElement[bool]:
    return sa.and_(_b.c.status == status, _b.c.lease_expires_at < at)


def _take_batches(
    session: Session, condition: sa.ColumnElement[bool], values: dict[str, object]
) -> list[int]:
    """Update the batches matching ``condition`` that nobody holds a lock on; return their ids.

    On PostgreSQL the rows are picked with ``SKIP LOCKED``: a worker frozen inside a
    transaction (stopped, or cut off mid-commit) must hold up only its own batch, never the
    whole pass; its batch is taken on a later tick, once its session has been ended.
    """
    if session.get_bind().dialect.name == "postgresql":
        ids = list(
            session.scalars(sa.select(_b.c.id).where(condition).with_for_update(skip_locked=True))
        )
        if not ids:
            return []
        condition = sa.and_(condition, _b.c.id.in_(ids))
    return list(session.scalars(sa.update(_b).where(condition).values(**values).returning(_b.c.id)))


def _requeue_expired_claims(session: Session, at: datetime) -> list[int]:
    ids = _take_batches(
        session,
        _expired(BatchStatus.CLAIMED, at),
        {"status": BatchStatus.QUEUED, "claimed_by": None, "lease_expires_at": None},
    )
    if ids:
        _move_deliveries(session, ids, DeliveryStatus.CLAIMED, DeliveryStatus.QUEUED)
    return ids


def _expire_submissions(session: Session, at: datetime) -> int:
    ids = _take_batches(
        session,
        _expired(BatchStatus.SUBMITTING, at),
        {"status": BatchStatus.DONE, "finished_at": at, "lease_expires_at": None},
    )
    if not ids:
        return 0
    return _move_deliveries(session, ids, DeliveryStatus.SUBMITTING, DeliveryStatus.UNCERTAIN)


def _retry_due_failures(session: Session, at: datetime) -> tuple[int, list[int]]:
    due = sa.and_(_d.c.status == DeliveryStatus.FAILED_TRANSIENT, _d.c.retry_at <= at)
    candidates = sa.select(_d.c.batch_id).where(due).distinct()
    # Only batches at rest: a batch still being worked on must not gain deliveries mid-flight.
    ids = _take_batches(
        session,
        sa.and_(_b.c.status == BatchStatus.DONE, _b.c.id.in_(candidates)),
        {"status": BatchStatus.QUEUED, "claimed_by": None, "finished_at": None},
    )
    if not ids:
        return 0, []
    # ``retry_at`` is cleared on the way back: set, it marks a delivery waiting for its retry
    # (``ix_delivery_campaign_retry``, which ``finish_if_complete`` probes).
    moved = rowcount(
        session.execute(
            sa.update(_d)
            .where(due, _d.c.batch_id.in_(ids))
            .values(status=DeliveryStatus.QUEUED, retry_at=None)
        )
    )
    return moved, ids


def _move_deliveries(
    session: Session, batch_ids: list[int], source: DeliveryStatus, target: DeliveryStatus
) -> int:
    return rowcount(
        session.execute(
            sa.update(_d)
            .where(_d.c.batch_id.in_(batch_ids), _d.c.status == source)
            .values(status=target, updated_at=now())
        )
    )


def _sending_campaigns(session: Session) -> list[int]:
    return list(session.scalars(sa.select(_c.c.id).where(_c.c.status == CampaignStatus.SENDING)))


def delivery_counts(session: Session, campaign_id: int) -> dict[DeliveryStatus, int]:
    """Return the number of deliveries in each state (every state present, zeros included)."""
    counts = dict.fromkeys(DeliveryStatus, 0)
    rows = session.execute(
        sa.select(_d.c.status, sa.func.count())
        .where(_d.c.campaign_id == campaign_id)
        .group_by(_d.c.status)
    )
    for status, count in rows:
        counts[DeliveryStatus(status)] = count
    return counts


def finish_if_complete(session: Session, campaign_id: int) -> bool:
    """Mark a sending campaign ``sent`` when every delivery is terminal and the books balance."""
    # Called after every batch: two indexed probes keep that cheap (an open delivery in a
    # batch not done yet, a transient failure waiting for its retry), and the full count,
    # which decides, runs only once neither finds one. No index holds a delivery's status
    # (``models``), so the probes go through the batches and the waiting retries instead.
    if _looks_open(session, campaign_id):
        return False
    counts = delivery_counts(session, campaign_id)
    if any(counts[status] for status in DeliveryStatus if status not in TERMINAL_DELIVERY_STATUSES):
        return False
    accounted = sum(counts[status] for status in TERMINAL_DELIVERY_STATUSES)
    at = now()
    moved = rowcount(
        session.execute(
            sa.update(_c)
            .where(
                _c.c.id == campaign_id,
                _c.c.status == CampaignStatus.SENDING,
                _c.c.recipients == accounted,
            )
            .values(status=CampaignStatus.SENT, finished_at=at, updated_at=at)
        )
    )
    if moved != 1:
        return False
    # Published at the start; a send started before that rule is published now.
    publish_campaign_issues(session, campaign_id, at)
    return True


def _looks_open(session: Session, campaign_id: int) -> bool:
    """Tell whether an open delivery shows in a batch not done yet, or waits for its retry."""
    open_in_batch = sa.exists().where(_d.c.batch_id == _b.c.id, _d.c.status.in_(_OPEN_STATES))
    unfinished = (
        sa.select(_b.c.id)
        .where(_b.c.campaign_id == campaign_id, _b.c.status != BatchStatus.DONE, open_in_batch)
        .limit(1)
    )
    waiting = (
        sa.select(_d.c.id)
        .where(
            _d.c.campaign_id == campaign_id,
            _d.c.retry_at.is_not(None),
            _d.c.status == DeliveryStatus.FAILED_TRANSIENT,
        )
        .limit(1)
    )
    return session.scalar(unfinished) is not None or session.scalar(waiting) is not None


def resend_uncertain(session: Session, campaign_id: int, *, approval_threshold: int) -> int:
    """Queue the uncertain deliveries again (staff accept that some may receive two copies).

    Like resuming, a resend goes out only while the campaign's approval still stands.
    """
    campaign = get_campaign(session, campaign_id)
    if campaign.status == CampaignStatus.CANCELLED:
        raise Conflict(f"Campaign {campaign_id} was cancelled; nothing is resent.")
    ensure_send_allowed(session, campaign, campaign.recipients, approval_threshold)
    uncertain = sa.and_(_d.c.campaign_id == campaign_id, _d.c.status == DeliveryStatus.UNCERTAIN)
    batch_ids = list(session.scalars(sa.select(_d.c.batch_id).where(uncertain).distinct()))
    if not batch_ids:
        return 0
    moved = rowcount(
        session.execute(
            sa.update(_d).where(uncertain).values(status=DeliveryStatus.QUEUED, updated_at=now())
        )
    )
    session.execute(
        sa.update(_b)
        .where(_b.c.id.in_(batch_ids), _b.c.status == BatchStatus.DONE)
        .values(status=BatchStatus.QUEUED, claimed_by=None, finished_at=None)
    )
    session.execute(
        sa.update(_c)
        .where(_c.c.id == campaign_id, _c.c.status == CampaignStatus.SENT)
        .values(status=CampaignStatus.SENDING, finished_at=None, updated_at=now())
    )
    return moved
