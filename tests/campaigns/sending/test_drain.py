"""Draining a worker host: SIGTERM finishes the batches in flight and leaves the rest queued.

A real ``pinwheel worker`` (Celery on the real Redis at 127.0.0.1, or the in-process pool) sends
to the fake SendGrid, whose answers take a while; it is stopped while batches are in flight.
"""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from collections import Counter
from pathlib import Path

import pytest
import sqlalchemy as sa

from campaigns.sending.dispatch import dispatch_campaign
from campaigns.sending.models import Batch, BatchStatus, CampaignStatus, Delivery
from campaigns.sending.models import DeliveryStatus as Ds
from campaigns.sending.service import start_campaign
from engine.celery_app import QUEUE
from engine.db import Database
from engine.web import get_settings
from tests.campaigns.sending.conftest import bulk_audience
from tests.campaigns.sending.test_celery_leg import _wait_until_sent
from tests.campaigns.sending.workers import worker_environ
from tests.fakes.sendgrid_server import fake_sendgrid_process, read_state

pytestmark = pytest.mark.slow
#: A database number no other test uses, so its queue is this test's alone.
BROKER_URL = "redis://127.0.0.1:6379/12"
RECIPIENTS, BATCH_SIZE = 60, 10
#: Seconds the fake SendGrid takes to answer: the window in which SIGTERM arrives.
LATENCY = 2.0
#: A stopped worker waits for its batches in flight (one answer each), not for the queue.
EXIT_BOUND = LATENCY + 20


def _redis_reachable() -> bool:
    try:
        with socket.create_connection(("127.0.0.1", 6379), timeout=1):
            return True
    except OSError:
        return False


def _start_worker(environ: dict[str, str], log: Path, *options: str) -> subprocess.Popen[bytes]:
    command = [str(Path(sys.executable).parent / "pinwheel"), "worker", *options]
    with log.open("a") as output:
        # A session of its own, so the signal can go to all of its processes (as systemd does).
        return subprocess.Popen(
            command,
            env={**os.environ, **environ},
            stdout=output,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )


def _batches(database: Database, campaign_id: int) -> dict[int, str]:
    with database.session() as session:
        rows = session.execute(
            sa.select(Batch.id, Batch.status).where(Batch.campaign_id == campaign_id)
        )
        return {batch_id: str(status) for batch_id, status in rows}


def _deliveries(database: Database, campaign_id: int) -> dict[int, tuple[int, str]]:
    """Return each delivery's batch and status, by delivery id."""
    with database.session() as session:
        rows = session.execute(
            sa.select(Delivery.id, Delivery.batch_id, Delivery.status).where(
                Delivery.campaign_id == campaign_id
            )
        )
        return {delivery_id: (batch_id, str(status)) for delivery_id, batch_id, status in rows}


def _wait_for_flight(
    database: Database, campaign_id: int, worker: subprocess.Popen[bytes], log: Path
) -> set[int]:
    """Wait until the worker has batches handed to the provider; return their ids."""
    deadline = time.monotonic() + 90
    while time.monotonic() < deadline:
        assert worker.poll() is None, log.read_text()[-4000:]
        batches = _batches(database, campaign_id)
        in_flight = {i for i, status in batches.items() if status == BatchStatus.SUBMITTING}
        if in_flight:
            return in_flight
        time.sleep(0.05)
    pytest.fail(f"no batch was handed to the provider: {log.read_text()[-4000:]}")


def _stop(worker: subprocess.Popen[bytes], log: Path, *, every_process: bool = False) -> float:
    """SIGTERM the worker and return how long it took to exit; it must exit 0.

    With ``every_process``, the Celery pool's processes get the signal too, as systemd's
    default ``KillMode=control-group`` sends it; otherwise only the main process does, as
    ``docker stop`` and Kubernetes do.
    """
    started = time.monotonic()
    if every_process:
        os.killpg(worker.pid, signal.SIGTERM)
    else:
        worker.send_signal(signal.SIGTERM)
    try:
        code = worker.wait(EXIT_BOUND)
    except subprocess.TimeoutExpired:
        worker.kill()
        worker.wait(10)
        pytest.fail(f"the worker did not exit within {EXIT_BOUND} s: {log.read_text()[-4000:]}")
    assert code == 0, log.read_text()[-4000:]
    return time.monotonic() - started


def _assert_drained(database: Database, campaign_id: int, in_flight: set[int]) -> set[int]:
    """Assert the batches in flight were finished and nothing is left half-done.

    Return the ids of the batches still queued.
    """
    batches = _batches(database, campaign_id)
    assert {batches[i] for i in in_flight} == {BatchStatus.DONE}
    assert set(batches.values()) <= {BatchStatus.DONE, BatchStatus.QUEUED}, batches
    # Not one uncertain delivery: each is accepted with its finished batch, or still queued.
    for batch_id, status in _deliveries(database, campaign_id).values():
        assert status == (Ds.ACCEPTED if batches[batch_id] == BatchStatus.DONE else Ds.QUEUED)
    left = {i for i, status in batches.items() if status == BatchStatus.QUEUED}
    assert left, "every batch was sent before the stop: nothing shows the rest stays queued"
    return left


def _assert_one_copy_each(database: Database, campaign_id: int, state: Path) -> None:
    deliveries = _deliveries(database, campaign_id)
    assert {status for _, status in deliveries.values()} == {Ds.ACCEPTED}
    sink = read_state(state).counts()
    assert sink == Counter({str(delivery_id): 1 for delivery_id in deliveries})


def _started_campaign(session, topic, new_campaign) -> int:
    bulk_audience(session, topic, RECIPIENTS)
    campaign = new_campaign()
    assert start_campaign(
        session,
        campaign.id,
        expected=CampaignStatus.DRAFT,
        batch_size=BATCH_SIZE,
        settings=get_settings(),
    )
    session.commit()
    return campaign.id


@pytest.mark.parametrize("every_process", [False, True], ids=["main-process", "process-group"])
def test_celery_worker_finishes_batches_in_flight_on_sigterm(
    session, settings, database, topic, new_campaign, tmp_path: Path, every_process: bool
):
    if not _redis_reachable():
        pytest.skip("Redis is not reachable on 127.0.0.1:6379")
    import redis

    broker = redis.Redis.from_url(BROKER_URL)
    broker.flushdb()
    campaign_id = _started_campaign(session, topic, new_campaign)
    state, log = tmp_path / "sendgrid.jsonl", tmp_path / "worker.log"
    with fake_sendgrid_process(state, "--latency", str(LATENCY)) as url:
        environ = worker_environ(settings, url, BROKER_URL=BROKER_URL, BATCH_LEASE_SECONDS="120")
        # Queued before the worker starts: its start-up recovery then finds every task fresh.
        dispatch_campaign(database, settings.with_overrides(BROKER_URL=BROKER_URL), campaign_id)
        first = _start_worker(environ, log, "--concurrency", "2")
        try:
            in_flight = _wait_for_flight(database, campaign_id, first, log)
        finally:
            took = _stop(first, log, every_process=every_process)
        assert took < EXIT_BOUND
        left = _assert_drained(database, campaign_id, in_flight)
        # The batches the worker had not started are back on the broker, not lost with it.
        assert broker.llen(QUEUE) == len(left)

        second = _start_worker(environ, log, "--concurrency", "2")
        try:
            status = _wait_until_sent(database, campaign_id, timeout=120)
        finally:
            _stop(second, log)
    assert status == CampaignStatus.SENT, log.read_text()[-4000:]
    _assert_one_copy_each(database, campaign_id, state)


def test_in_process_worker_finishes_batches_in_flight_on_sigterm(
    session, settings, database, topic, new_campaign, tmp_path: Path
):
    campaign_id = _started_campaign(session, topic, new_campaign)
    state, log = tmp_path / "sendgrid.jsonl", tmp_path / "worker.log"
    with fake_sendgrid_process(state, "--latency", str(LATENCY)) as url:
        environ = worker_environ(settings, url, BATCH_LEASE_SECONDS="120")
        first = _start_worker(environ, log, "--concurrency", "2")
        try:
            in_flight = _wait_for_flight(database, campaign_id, first, log)
        finally:
            took = _stop(first, log)
        assert took < EXIT_BOUND
        _assert_drained(database, campaign_id, in_flight)

        second = _start_worker(environ, log, "--once")
        assert second.wait(120) == 0, log.read_text()[-4000:]
    assert _wait_until_sent(database, campaign_id, timeout=5) == CampaignStatus.SENT
    _assert_one_copy_each(database, campaign_id, state)
