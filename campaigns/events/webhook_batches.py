"""Keep verified webhook bodies until processed, and process them: parse, ingest, guard.

The webhook answers as soon as the body is committed here; processing runs after the answer
and deletes the row (and with it the addresses in the body) once its events are stored.
Whatever a crash leaves behind, ``process_pending_batches`` finishes.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from datetime import timedelta

import sqlalchemy as sa
from sqlalchemy.orm import Session

from campaigns.events.guard import GuardTrip, alert_staff, enforce_guard_rails
from campaigns.events.ingest import IngestResult, ingest_events
from campaigns.events.models import WebhookBatch
from engine.clock import now
from engine.config import Settings
from engine.db import Database
from engine.delivery.sendgrid_webhook import PayloadError, parse_events

log = logging.getLogger(__name__)

SENDGRID = "sendgrid"


@dataclass(slots=True)
class Outcome:
    """What processing one batch did, and which campaigns the guard paused."""

    result: IngestResult
    trips: list[GuardTrip] = field(default_factory=list)


def store_batch(session: Session, source: str, body: bytes) -> int:
    """Keep a verified ``body`` for processing; return its id."""
    batch = WebhookBatch(source=source, body=body)
    session.add(batch)
    session.flush()
    return batch.id


def process_batch(session: Session, settings: Settings, batch_id: int) -> Outcome | None:
    """Ingest the stored batch, enforce the guard rails and delete it; None if already gone.

    A body that is not a JSON array can never succeed, so it is logged and dropped.
    """
    batch = session.scalar(
        sa.select(WebhookBatch).where(WebhookBatch.id == batch_id).with_for_update(skip_locked=True)
    )
    if batch is None:
        return None
    try:
        parsed = parse_events(batch.body)
    except PayloadError as error:
        log.error("events: dropping webhook batch %s: %s", batch_id, error)
        session.delete(batch)
        return Outcome(IngestResult())
    if parsed.rejected:
        log.warning(
            "events: batch %s: %s element(s) rejected, first: %s",
            batch_id,
            len(parsed.rejected),
            parsed.rejected[:5],
        )
    result = ingest_events(session, parsed.events, source=batch.source)
    result.rejected = len(parsed.rejected)
    trips = enforce_guard_rails(session, settings, result.campaign_ids)
    session.delete(batch)
    session.flush()
    return Outcome(result, trips)


def run_batch(database: Database, settings: Settings, batch_id: int) -> Outcome | None:
    """Process one batch in its own transaction, then alert staff about any pause."""
    try:
        with database.session() as session:
            outcome = process_batch(session, settings, batch_id)
    except Exception as error:
        log.exception("events: webhook batch %s failed; it stays pending", batch_id)
        _note_failure(database, batch_id, error)
        return None
    if outcome is not None and outcome.trips:
        with database.session() as session:
            alert_staff(session, settings, outcome.trips)
    return outcome


def _note_failure(database: Database, batch_id: int, error: Exception) -> None:
    with database.session() as session:
        session.execute(
            sa.update(WebhookBatch)
            .where(WebhookBatch.id == batch_id)
            .values(attempts=WebhookBatch.attempts + 1, last_error=str(error)[:2000])
        )


def pending_batch_ids(
    session: Session, *, min_age_seconds: float = 0, limit: int = 100
) -> list[int]:
    """Return the ids of stored batches not processed yet, oldest first."""
    query = sa.select(WebhookBatch.id).order_by(WebhookBatch.id).limit(limit)
    if min_age_seconds:
        cutoff = now() - timedelta(seconds=min_age_seconds)
        query = query.where(WebhookBatch.received_at < cutoff)
    return list(session.scalars(query))


def process_pending_batches(
    database: Database, settings: Settings, *, min_age_seconds: float = 0
) -> int:
    """Process batches left pending (after a crash or a failure); return how many were done.

    ``min_age_seconds`` leaves alone batches that the web process is probably handling now.
    """
    with database.session() as session:
        ids = pending_batch_ids(session, min_age_seconds=min_age_seconds, limit=10_000)
    return sum(1 for batch_id in ids if run_batch(database, settings, batch_id) is not None)
