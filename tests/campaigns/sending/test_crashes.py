"""Real worker processes killed mid-send, and processes racing to start and deliver."""

from __future__ import annotations

from pathlib import Path

import pytest

from campaigns.sending.models import Campaign, CampaignStatus
from campaigns.sending.models import DeliveryStatus as Ds
from campaigns.sending.service import start_campaign
from engine.web import get_settings
from tests.campaigns.sending.conftest import bulk_audience
from tests.campaigns.sending.workers import (
    check_one_copy,
    delivery_outcomes,
    kill_workers_then_finish,
    shared_counter,
    spawn_scheduler,
    spawn_worker_until_sent,
    worker_environ,
)
from tests.fakes.sendgrid_server import fake_sendgrid_process, read_state

pytestmark = pytest.mark.slow
RECIPIENTS = 5000
KILLS = 20


def _campaign(session, topic, new_campaign, count: int) -> Campaign:
    bulk_audience(session, topic, count)
    session.commit()
    return new_campaign()


def test_sigkilled_worker_never_sends_twice_nor_loses_anyone(
    session, settings, topic, new_campaign, tmp_path: Path
):
    campaign = _campaign(session, topic, new_campaign, RECIPIENTS)
    assert start_campaign(
        session, campaign.id, expected=CampaignStatus.DRAFT, batch_size=100, settings=get_settings()
    )
    session.commit()
    state = tmp_path / "sendgrid.jsonl"
    with fake_sendgrid_process(state) as url:
        # SEND_RATE paces the workers so that the kills land while the campaign is running.
        kill_workers_then_finish(worker_environ(settings, url, SEND_RATE="700"), KILLS, seed=20)
    session.expire_all()
    outcomes = delivery_outcomes(session, campaign.id)
    assert len(outcomes) == RECIPIENTS
    sink = read_state(state).counts()
    uncertain = check_one_copy(outcomes, sink)
    assert 0 < uncertain <= KILLS * 2 * 100, "kills should have left some batches in flight"
    assert session.get(Campaign, campaign.id).status == CampaignStatus.SENT


def test_two_schedulers_and_two_workers_start_once_and_send_once(
    session, settings, topic, new_campaign, tmp_path: Path
):
    if not settings.DATABASE_URL.startswith("postgresql"):
        pytest.skip("process races are meaningful on PostgreSQL (SQLite has one writer)")
    campaign = _campaign(session, topic, new_campaign, 1500)
    campaign.status = CampaignStatus.SCHEDULED
    session.commit()
    state = tmp_path / "sendgrid.jsonl"
    with fake_sendgrid_process(state) as url:
        environ = worker_environ(settings, url, BATCH_LEASE_SECONDS="60")
        wins = shared_counter()
        workers = [spawn_worker_until_sent(environ, campaign.id, 60) for _ in range(2)]
        schedulers = [spawn_scheduler(environ, campaign.id, wins) for _ in range(2)]
        for process in [*schedulers, *workers]:
            process.join(90)
    assert wins.value == 1  # type: ignore[attr-defined]
    session.expire_all()
    outcomes = delivery_outcomes(session, campaign.id)
    assert len(outcomes) == 1500 and set(outcomes.values()) == {Ds.ACCEPTED}
    sink = read_state(state).counts()
    assert len(sink) == 1500 and set(sink.values()) == {1}
    assert session.get(Campaign, campaign.id).status == CampaignStatus.SENT
