"""Run a campaign's batches: in-process threads without a broker, Celery tasks with one."""

from __future__ import annotations

import logging
import threading
from dataclasses import dataclass
from datetime import datetime, timedelta

import sqlalchemy as sa

from campaigns.sending.models import Batch, BatchStatus, Campaign, CampaignStatus, Delivery
from campaigns.sending.models import DeliveryStatus as Ds
from campaigns.sending.recovery import finish_if_complete, recover
from campaigns.sending.runner import BatchRunner
from engine.clock import now
from engine.config import Settings
from engine.db import Database
from engine.delivery.registry import backend_from_settings
from engine.executor import Executor

log = logging.getLogger(__name__)

#: Import path of the Celery task body (``engine`` resolves it by name, never imports it).
BATCH_TASK = "campaigns.sending.tasks:run_batch"
#: How often a running campaign re-checks for due retries and other workers' expired leases.
IDLE_POLL_SECONDS = 1.0
#: Ids per ``IN (…)`` list: well under SQLite's bound-parameter limit.
_ID_CHUNK = 500


@dataclass(slots=True)
class CampaignWorker:
    """One executor thread: its own backend connection, delivering batch after batch."""

    runner: BatchRunner
    campaign_id: int | None

    @classmethod
    def build(
        cls, database: Database, settings: Settings, campaign_id: int | None
    ) -> CampaignWorker:
        return cls(BatchRunner(database, settings, backend_from_settings(settings)), campaign_id)

    def step(self) -> bool:
        return self.runner.run_next(self.campaign_id)

    def close(self) -> None:
        self.runner.backend.close()


def run_campaign(
    database: Database, settings: Settings, campaign_id: int | None, executor: Executor
) -> None:
    """Deliver until the campaign (or, with None, every sending campaign) has nothing left to do.

    Between rounds it runs recovery, so due transient failures are retried in the same run and
    a crashed worker's expired claims are taken back; it returns when stopped or paused.
    """
    while not executor.stopping.is_set():
        executor.run(lambda: CampaignWorker.build(database, settings, campaign_id))
        if executor.stopping.is_set() or not _has_open_work(database, campaign_id):
            break
        executor.stopping.wait(IDLE_POLL_SECONDS)
    with database.session() as session:
        recover(session)
        if campaign_id is not None:
            finish_if_complete(session, campaign_id)


def _has_open_work(database: Database, campaign_id: int | None) -> bool:
    with database.session() as session:
        recover(session)
        open_states = (Ds.QUEUED, Ds.CLAIMED, Ds.SUBMITTING, Ds.FAILED_TRANSIENT)
        query = (
            sa.select(Delivery.id)
            .join(Campaign, Campaign.id == Delivery.campaign_id)
            .where(Campaign.status == CampaignStatus.SENDING, Delivery.status.in_(open_states))
            .limit(1)
        )
        if campaign_id is not None:
            query = query.where(Delivery.campaign_id == campaign_id)
        return session.scalar(query) is not None


def queued_batches(
    database: Database, campaign_id: int | None = None, *, enqueued_before: datetime | None = None
) -> list[int]:
    """Return the ids of queued batches of sending campaigns.

    With ``enqueued_before``, only those whose task was last handed to the broker before then
    (or never): a queued batch has no claim, so such a batch's task was lost.
    """
    with database.session() as session:
        query = (
            sa.select(Batch.id)
            .join(Campaign, Campaign.id == Batch.campaign_id)
            .where(Batch.status == BatchStatus.QUEUED, Campaign.status == CampaignStatus.SENDING)
            .order_by(Batch.id)
        )
        if campaign_id is not None:
            query = query.where(Batch.campaign_id == campaign_id)
        if enqueued_before is not None:
            query = query.where(
                sa.or_(Batch.enqueued_at.is_(None), Batch.enqueued_at < enqueued_before)
            )
        return list(session.scalars(query))


def enqueue_batches(database: Database, settings: Settings, batch_ids: list[int]) -> None:
    """Hand each batch to Celery and note when; a duplicate task is harmless (the claim is a CAS).

    Noted first: a task that runs before the note would otherwise look lost and be sent again.
    """
    from engine.celery_app import enqueue

    if not batch_ids:
        return
    with database.session() as session:
        stamp = now()
        for start in range(0, len(batch_ids), _ID_CHUNK):
            chunk = batch_ids[start : start + _ID_CHUNK]
            session.execute(sa.update(Batch).where(Batch.id.in_(chunk)).values(enqueued_at=stamp))
    for batch_id in batch_ids:
        enqueue(settings, BATCH_TASK, batch_id)


def dispatch_campaign(
    database: Database, settings: Settings, campaign_id: int, *, background: bool = True
) -> Executor | None:
    """Get a started campaign's batches moving: as tasks with a broker, else in local threads."""
    if settings.BROKER_URL:
        enqueue_batches(database, settings, queued_batches(database, campaign_id))
        return None
    executor = Executor(settings.WORKER_THREADS)
    if background:
        threading.Thread(
            target=run_campaign,
            args=(database, settings, campaign_id, executor),
            name=f"pinwheel-campaign-{campaign_id}",
            daemon=True,
        ).start()
    return executor


def _tasks_waiting(settings: Settings) -> bool:
    from engine.celery_app import waiting_tasks

    try:
        return waiting_tasks(settings) > 0
    except Exception:
        # The broker does not answer (restarting): queue anyway; the sends will be kept.
        log.warning("could not read the broker's queue length", exc_info=True)
        return False


def recover_and_dispatch(database: Database, settings: Settings) -> int:
    """Run recovery and, with a broker, queue tasks for batches that have none; return how many.

    Besides what recovery put back, any queued batch of a sending campaign whose last task is
    older than ``REQUEUE_AFTER_SECONDS`` gets a new one: its task went with a worker killed
    after taking it, or with a broker that lost its data. The periodic job (and each worker at
    start-up) calls this.
    """
    with database.session() as session:
        report = recover(session, now())
    if not settings.BROKER_URL:
        return len(report.requeued)
    stale_before = now() - timedelta(seconds=settings.REQUEUE_AFTER_SECONDS)
    lost = queued_batches(database, enqueued_before=stale_before)
    if lost and _tasks_waiting(settings):
        # A backlog, not a loss: their tasks still wait their turn in the broker.
        lost = []
    batch_ids = sorted({*report.requeued, *lost})
    enqueue_batches(database, settings, batch_ids)
    return len(batch_ids)
