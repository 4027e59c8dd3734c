"""Real worker processes frozen, killed or racing, on PostgreSQL: nobody lost, nobody doubled.

Each test stages one way a fleet goes wrong: a worker stopped (SIGSTOP) mid-retry and woken
after recovery settled its batch, a Celery worker killed between taking a task and claiming its
batch, a worker stopped inside a transaction while recovery runs, two batches finishing at the
same moment, and a batch that waits out rate limits for longer than its lease.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Sequence
from pathlib import Path

import pytest
import sqlalchemy as sa

from campaigns.sending.dispatch import dispatch_campaign, recover_and_dispatch
from campaigns.sending.models import Batch, BatchStatus, Campaign, CampaignStatus, Delivery
from campaigns.sending.models import DeliveryStatus as Ds
from campaigns.sending.progress import uncertain_recipients
from campaigns.sending.recovery import delivery_counts, recover
from campaigns.sending.runner import BatchRunner
from campaigns.sending.service import start_campaign
from engine.celery_app import QUEUE
from engine.delivery.base import OutgoingMessage, ResultStatus, SendResult
from engine.delivery.sendgrid import SendGridBackend
from engine.web import get_settings
from tests.campaigns.sending.conftest import bulk_audience, started_campaign
from tests.campaigns.sending.workers import kill, spawn_worker, worker_environ
from tests.fakes.sendgrid_server import FakeSendGrid

pytestmark = pytest.mark.slow
BROKER_URL = "redis://127.0.0.1:6379/14"


def _postgres_only(settings) -> None:
    if not settings.DATABASE_URL.startswith("postgresql"):
        pytest.skip(
            "row locks and concurrent transactions are PostgreSQL's (SQLite has one writer)"
        )


def _wait_for(predicate: Callable[[], bool], timeout: float, what: str) -> None:
    deadline = time.monotonic() + timeout
    while not predicate():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        time.sleep(0.05)


def _batch_status(database, batch_id: int) -> str:
    with database.session() as session:
        return session.scalar(sa.select(Batch.status).where(Batch.id == batch_id)) or ""


def _campaign_status(database, campaign_id: int) -> str:
    with database.session() as session:
        return session.scalar(sa.select(Campaign.status).where(Campaign.id == campaign_id)) or ""


def _first_batch(database, campaign_id: int) -> int:
    with database.session() as session:
        return session.scalars(
            sa.select(Batch.id).where(Batch.campaign_id == campaign_id).order_by(Batch.id)
        ).first()


def _assert_sent_and_settled(database, campaign_id: int) -> dict[Ds, int]:
    """The invariant: a campaign is ``sent`` only when every delivery is terminal."""
    with database.session() as session:
        recover(session)
        counts = delivery_counts(session, campaign_id)
        status = session.scalar(sa.select(Campaign.status).where(Campaign.id == campaign_id))
    open_states = (Ds.QUEUED, Ds.CLAIMED, Ds.SUBMITTING, Ds.FAILED_TRANSIENT)
    assert status == CampaignStatus.SENT, counts
    assert not any(counts[state] for state in open_states), counts
    return counts


def test_a_worker_woken_after_recovery_never_unsettles_its_batch(
    session, settings, database, topic, new_campaign
):
    """SIGSTOP a worker while it retries a 500; wake it after the campaign was finished."""
    _postgres_only(settings)
    campaign = started_campaign(session, new_campaign, topic, 200, batch_size=100)
    stopped_batch = _first_batch(database, campaign.id)
    with FakeSendGrid() as fake:
        fake.fail_next(*["500"] * 20)
        environ = worker_environ(settings, fake.url, BATCH_LEASE_SECONDS="2", WORKER_THREADS="1")
        late = spawn_worker(environ)
        try:
            _wait_for(lambda: len(fake.requests) >= 1, 30, "the first failed request")
            assert _batch_status(database, stopped_batch) == BatchStatus.SUBMITTING
            os.kill(late.pid, signal.SIGSTOP)
            with fake.lock:
                fake._script.clear()
            # A second worker sends the other batch; its recovery passes settle the stopped one
            # as uncertain once the lease is out, and the campaign is finished.
            other = spawn_worker(environ)
            other.join(60)
            assert other.exitcode == 0
            assert _campaign_status(database, campaign.id) == CampaignStatus.SENT
            # The late worker wakes to more failures: its retries end "failed_transient".
            fake.fail_next(*["500"] * 20)
            os.kill(late.pid, signal.SIGCONT)
            late.join(90)
            assert late.exitcode == 0
        finally:
            kill(late)
    counts = _assert_sent_and_settled(database, campaign.id)
    assert counts[Ds.ACCEPTED] == 100 and counts[Ds.UNCERTAIN] == 100
    with database.session() as session:
        listed = uncertain_recipients(session, campaign.id)
    assert len(listed) == 100
    assert len(fake.counts()) == 100 and set(fake.counts().values()) == {1}


def test_a_batch_waiting_out_rate_limits_keeps_its_lease(
    session, settings, database, topic, new_campaign
):
    """Four 429s of about a second each outlast a two-second lease; recovery runs throughout."""
    campaign = started_campaign(session, new_campaign, topic, 50, batch_size=50)
    settings = get_settings().with_overrides(BATCH_LEASE_SECONDS=2, SEND_RATE=0.0)
    with FakeSendGrid(reset_seconds=1.2, fractional_reset=True) as fake:
        fake.fail_next("429", "429", "429", "429")
        backend = SendGridBackend(
            settings.with_overrides(SENDGRID_API_URL=fake.url, SENDGRID_API_KEY="SG.test-key")
        )
        backend.rate_jitter = 0.05
        runner = BatchRunner(database, settings, backend, worker="patient")
        sender = threading.Thread(target=runner.run_next, args=(campaign.id,))
        sender.start()
        settled = 0
        while sender.is_alive():
            with database.session() as recovery_session:
                settled += recover(recovery_session).uncertain
            time.sleep(0.2)
        sender.join()
    assert settled == 0, "recovery took a batch that was waiting out a rate limit"
    assert len(fake.requests) == 5
    counts = _assert_sent_and_settled(database, campaign.id)
    assert counts[Ds.ACCEPTED] == 50 and counts[Ds.UNCERTAIN] == 0


class _SimultaneousBackend:
    """Answers every batch handed to it at the same instant as the other runner's batch."""

    name = "simultaneous"

    def __init__(self, barrier: threading.Barrier):
        self.barrier = barrier

    def send_batch(self, messages: Sequence[OutgoingMessage]) -> list[SendResult]:
        self.barrier.wait(timeout=30)
        return [
            SendResult(
                m.delivery_id, ResultStatus.ACCEPTED, provider_message_id=f"m{m.delivery_id}"
            )
            for m in messages
        ]

    def close(self) -> None:
        pass


def test_the_last_batch_to_finish_marks_the_campaign_sent(
    session, settings, database, topic, new_campaign
):
    """Two batches answered together, repeatedly: each campaign is sent with no recovery pass."""
    _postgres_only(settings)
    bulk_audience(session, topic, 2)
    session.commit()
    for _ in range(12):
        campaign = new_campaign()
        assert start_campaign(
            session, campaign.id, expected=CampaignStatus.DRAFT, batch_size=1, settings=settings
        )
        session.commit()
        barrier = threading.Barrier(2)
        runners = [
            BatchRunner(database, settings, _SimultaneousBackend(barrier), worker=f"w{n}")
            for n in range(2)
        ]
        threads = [threading.Thread(target=r.run_next, args=(campaign.id,)) for r in runners]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(60)
        assert _campaign_status(database, campaign.id) == CampaignStatus.SENT


_HOLD_A_BATCH = """
import os, signal, sys
import sqlalchemy as sa
from engine.config import load_settings
from engine.db import Database
import campaigns.sending.models as models
import engine.users, subscribers
subscribers.load_models()
database = Database(load_settings())
with database.session() as session:
    # A worker renewing its lease, stopped before it commits: its row lock stays taken.
    session.execute(
        sa.update(models.Batch).where(models.Batch.id == int(sys.argv[1]))
        .values(attempts=models.Batch.attempts + 1)
    )
    print("locked", flush=True)
    os.kill(os.getpid(), signal.SIGSTOP)
"""


def test_a_worker_stopped_inside_a_transaction_never_holds_recovery_up(
    session, settings, database, topic, new_campaign
):
    _postgres_only(settings)
    campaign = started_campaign(session, new_campaign, topic, 4, batch_size=2)
    with database.session() as s:
        frozen, other = s.scalars(
            sa.select(Batch.id).where(Batch.campaign_id == campaign.id).order_by(Batch.id)
        ).all()
        # Both batches were submitting on a worker whose lease has run out.
        expired = sa.func.now() - sa.text("interval '1 minute'")
        s.execute(
            sa.update(Batch)
            .where(Batch.campaign_id == campaign.id)
            .values(status=BatchStatus.SUBMITTING, claimed_by="gone", lease_expires_at=expired)
        )
        s.execute(
            sa.update(Delivery)
            .where(Delivery.campaign_id == campaign.id)
            .values(status=Ds.SUBMITTING)
        )
    environ = {
        **os.environ,
        **worker_environ(settings, "http://127.0.0.1:9", IDLE_IN_TRANSACTION_SECONDS="2"),
    }
    holder = subprocess.Popen(
        [sys.executable, "-c", _HOLD_A_BATCH, str(frozen)],
        env=environ,
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert holder.stdout is not None and holder.stdout.readline().strip() == "locked"
        reports = []

        def recovery_pass() -> None:
            with database.session() as s:
                reports.append(recover(s))

        recovery = threading.Thread(target=recovery_pass, daemon=True)
        recovery.start()
        recovery.join(3)
        assert not recovery.is_alive(), "recovery waited on a stopped worker's lock"
        (report,) = reports
        assert report.uncertain == 2  # the other batch's deliveries
        assert _batch_status(database, other) == BatchStatus.DONE
        assert _batch_status(database, frozen) == BatchStatus.SUBMITTING
        # The server ends the stopped session; the next pass settles its batch too.
        time.sleep(3)
        with database.session() as s:
            assert recover(s).uncertain == 2
        assert _batch_status(database, frozen) == BatchStatus.DONE
    finally:
        holder.kill()
        holder.wait(10)


def _redis_or_skip():
    import redis

    client = redis.Redis.from_url(BROKER_URL)
    try:
        client.ping()
    except redis.exceptions.ConnectionError:
        pytest.skip("Redis is not reachable on 127.0.0.1:6379")
    client.flushdb()
    return client


def _celery_worker(environ: dict[str, str], log: Path) -> subprocess.Popen[bytes]:
    return subprocess.Popen(
        [str(Path(sys.executable).parent / "pinwheel"), "worker", "--threads", "1"],
        env={**os.environ, **environ},
        stdout=subprocess.DEVNULL,
        stderr=log.open("a"),
        start_new_session=True,
    )


def test_a_task_lost_with_a_killed_worker_is_queued_again(
    session, settings, database, topic, new_campaign, tmp_path: Path
):
    """SIGKILL a Celery worker after it took a task, before it claimed the batch."""
    _postgres_only(settings)
    redis_client = _redis_or_skip()
    campaign = started_campaign(session, new_campaign, topic, 100, batch_size=100)
    batch_id = _first_batch(database, campaign.id)
    log = tmp_path / "worker.log"
    with FakeSendGrid() as fake:
        environ = worker_environ(
            settings,
            fake.url,
            BROKER_URL=BROKER_URL,
            BATCH_LEASE_SECONDS="5",
            # The workers' own start-up pass must not queue it again: the test's passes do.
            REQUEUE_AFTER_SECONDS="3600",
        )
        broker_settings = get_settings().with_overrides(
            BROKER_URL=BROKER_URL, REQUEUE_AFTER_SECONDS=2
        )
        dispatch_campaign(database, broker_settings, campaign.id)
        # Hold the batch row so the worker's claim waits: the task is taken, not yet claimed.
        with database.engine.connect() as blocker:
            blocker.execute(sa.select(Batch.id).where(Batch.id == batch_id).with_for_update())
            first = _celery_worker(environ, log)
            try:
                _wait_for(lambda: _claim_waiting(database), 40, "the worker's claim to wait")
                os.killpg(first.pid, signal.SIGKILL)
                first.wait(10)
            finally:
                if first.poll() is None:
                    os.killpg(first.pid, signal.SIGKILL)
            blocker.rollback()
        assert _batch_status(database, batch_id) == BatchStatus.QUEUED
        assert redis_client.llen(QUEUE) == 0  # its only task sits unacknowledged
        second = _celery_worker(environ, log)
        try:
            deadline = time.monotonic() + 60
            while _campaign_status(database, campaign.id) != CampaignStatus.SENT:
                assert time.monotonic() < deadline, log.read_text()[-3000:]
                recover_and_dispatch(database, broker_settings)
                time.sleep(0.5)
        finally:
            os.killpg(second.pid, signal.SIGTERM)
            second.wait(30)
    counts = _assert_sent_and_settled(database, campaign.id)
    assert counts[Ds.ACCEPTED] == 100
    assert len(fake.counts()) == 100 and set(fake.counts().values()) == {1}


def _claim_waiting(database) -> bool:
    with database.session() as session:
        waiting = session.scalar(
            sa.text(
                "SELECT count(*) FROM pg_stat_activity "
                "WHERE datname = current_database() AND wait_event_type = 'Lock' "
                "AND query ILIKE 'UPDATE batch%'"
            )
        )
    return bool(waiting)
