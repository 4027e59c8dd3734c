"""Batches as Celery tasks through the real Redis on 127.0.0.1, run by a ``pinwheel worker``."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest
import sqlalchemy as sa

from campaigns.sending.dispatch import dispatch_campaign
from campaigns.sending.models import Campaign, CampaignStatus
from campaigns.sending.service import start_campaign
from engine.celery_app import QUEUE
from engine.web import get_settings
from tests.campaigns.sending.conftest import bulk_audience
from tests.campaigns.sending.workers import worker_environ
from tests.fakes.sendgrid_server import fake_sendgrid_process, read_state

pytestmark = pytest.mark.slow
BROKER_URL = "redis://127.0.0.1:6379/13"
RECIPIENTS = 300


def _redis_reachable() -> bool:
    try:
        with socket.create_connection(("127.0.0.1", 6379), timeout=1):
            return True
    except OSError:
        return False


def _wait_until_sent(database, campaign_id: int, timeout: float) -> str:
    deadline = time.time() + timeout
    status = ""
    while time.time() < deadline:
        with database.session() as session:
            status = session.scalar(sa.select(Campaign.status).where(Campaign.id == campaign_id))
        if status == CampaignStatus.SENT:
            break
        time.sleep(0.5)
    return status


def test_celery_worker_delivers_every_batch_once(
    session, settings, database, topic, new_campaign, tmp_path: Path
):
    if not _redis_reachable():
        pytest.skip("Redis is not reachable on 127.0.0.1:6379")
    import redis

    redis.Redis.from_url(BROKER_URL).delete(QUEUE)
    bulk_audience(session, topic, RECIPIENTS)
    campaign = new_campaign()
    assert start_campaign(
        session, campaign.id, expected=CampaignStatus.DRAFT, batch_size=50, settings=get_settings()
    )
    session.commit()
    state = tmp_path / "sendgrid.jsonl"
    with fake_sendgrid_process(state) as url:
        environ = worker_environ(settings, url, BROKER_URL=BROKER_URL, BATCH_LEASE_SECONDS="120")
        log = tmp_path / "worker.log"
        worker = subprocess.Popen(
            [str(Path(sys.executable).parent / "pinwheel"), "worker", "--threads", "2"],
            env={**os.environ, **environ},
            stdout=subprocess.DEVNULL,
            stderr=log.open("w"),
        )
        try:
            broker_settings = settings.with_overrides(BROKER_URL=BROKER_URL)
            dispatch_campaign(database, broker_settings, campaign.id)
            status = _wait_until_sent(database, campaign.id, timeout=120)
        finally:
            worker.send_signal(signal.SIGTERM)
            worker.wait(30)
    assert status == CampaignStatus.SENT, log.read_text()[-4000:]
    sink = read_state(state).counts()
    assert len(sink) == RECIPIENTS and set(sink.values()) == {1}
