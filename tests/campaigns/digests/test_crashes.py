"""A digest run's send survives SIGKILLed workers like any campaign: no one twice, no one lost."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

import pytest
import sqlalchemy as sa

from campaigns.digests.runs import run_digest
from campaigns.digests.windows import latest_window
from campaigns.sending.models import Campaign, CampaignStatus, Delivery
from engine.clock import now
from engine.web import get_settings
from subscribers.models import Frequency, Subscriber, Subscription
from tests.campaigns.sending.workers import (
    check_one_copy,
    delivery_outcomes,
    kill_workers_then_finish,
    worker_environ,
)
from tests.factories import make_topic
from tests.fakes.sendgrid_server import fake_sendgrid_process, read_state

pytestmark = pytest.mark.slow
READERS = 3000
KILLS = 12


def _daily_readers(session, topics, count: int) -> None:
    """Insert ``count`` daily readers: a third of each topic alone, a third of both."""
    stamp = now()
    session.execute(
        sa.insert(Subscriber),
        [{"email": f"digest{n}@example.com", "name": f"Digest Reader {n}", "status": "active",
          "attributes": {}, "created_at": stamp, "updated_at": stamp} for n in range(count)],
    )  # fmt: skip
    ids = session.scalars(sa.select(Subscriber.id).order_by(Subscriber.id)).all()
    rows = []
    for n, subscriber_id in enumerate(ids):
        chosen = [topics[n % 3]] if n % 3 < 2 else topics
        rows.extend(
            {"subscriber_id": subscriber_id, "topic_id": topic.id, "status": "confirmed",
             "frequency": Frequency.DAILY, "created_at": stamp}
            for topic in chosen[:2]
        )  # fmt: skip
    session.execute(sa.insert(Subscription), rows)


def test_sigkilled_workers_during_a_digest_run_lose_and_duplicate_no_one(
    session, settings, send_bulletin, tmp_path: Path
):
    topics = [make_topic(session, slug="adoption"), make_topic(session, slug="foster")]
    _daily_readers(session, topics, READERS)
    session.commit()
    window = latest_window(Frequency.DAILY, now(), "America/New_York", 5)
    send_bulletin([topics[0]], "Adoption news", window.start + timedelta(hours=1))
    send_bulletin(topics, "Shared update", window.start + timedelta(hours=2))
    send_bulletin([topics[1]], "Foster news", window.start + timedelta(hours=3))
    run = run_digest(session, window, get_settings(), started_by="test", batch_size=100)
    session.commit()
    assert run is not None and run.recipients == READERS
    state = tmp_path / "sendgrid.jsonl"
    with fake_sendgrid_process(state) as url:
        kill_workers_then_finish(worker_environ(settings, url, SEND_RATE="700"), KILLS, seed=21)
    session.expire_all()
    outcomes = delivery_outcomes(session, run.campaign_id)
    assert len(outcomes) == READERS
    sink = read_state(state).counts()
    uncertain = check_one_copy(outcomes, sink)
    assert uncertain <= KILLS * 2 * 100, "only batches in flight at a kill may be uncertain"
    assert session.get(Campaign, run.campaign_id).status == CampaignStatus.SENT
    # Three variants (each topic alone, both), and no batch mixes two of them.
    mixed = session.execute(
        sa.select(Delivery.batch_id)
        .where(Delivery.campaign_id == run.campaign_id)
        .group_by(Delivery.batch_id)
        .having(sa.func.count(sa.distinct(Delivery.variant)) > 1)
    ).all()
    assert mixed == []
