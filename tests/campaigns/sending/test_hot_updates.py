"""A batch's changes of state write no index entry, and a campaign still finishes exactly once.

``delivery.status`` is in no index (migration 0015), so on PostgreSQL the claim, the mark
before the provider call and the recorded answer are heap-only (HOT) updates. What the index
served before, ``finish_if_complete`` now asks the batches and the waiting retries.
"""

from __future__ import annotations

from datetime import timedelta

import pytest
import sqlalchemy as sa
from sqlalchemy.orm import Session

from campaigns.sending.batches import claim_next_batch, mark_submitting, record_results
from campaigns.sending.models import Batch, BatchStatus, Campaign, CampaignStatus, Delivery
from campaigns.sending.models import DeliveryStatus as Ds
from campaigns.sending.recovery import finish_if_complete, recover
from campaigns.sending.service import start_campaign
from engine.clock import now
from engine.db import Database
from engine.delivery.base import ResultStatus, SendResult
from engine.web import get_settings
from tests.campaigns.sending.conftest import bulk_audience, make_audience

LEASE = timedelta(minutes=5)


def _start(session: Session, new_campaign, batch_size: int) -> Campaign:
    campaign = new_campaign()
    start_campaign(
        session,
        campaign.id,
        expected=CampaignStatus.DRAFT,
        batch_size=batch_size,
        settings=get_settings(),
    )
    session.commit()
    return campaign


def _submitted(session: Session, worker: str = "w") -> tuple[int, list[int]]:
    """Claim the next batch and mark it submitting, committing each step as the runner does."""
    claimed = claim_next_batch(session, worker=worker, lease_until=now() + LEASE)
    assert claimed is not None
    session.commit()
    batch_id = claimed[0]
    assert mark_submitting(session, batch_id, worker=worker, lease_until=now() + LEASE)
    session.commit()
    ids = session.scalars(
        sa.select(Delivery.id).where(Delivery.batch_id == batch_id).order_by(Delivery.id)
    ).all()
    return batch_id, list(ids)


def _status(session: Session, campaign_id: int) -> str:
    return session.get(Campaign, campaign_id, populate_existing=True).status


def test_no_index_of_delivery_holds_its_status(session: Session) -> None:
    indexes = sa.inspect(session.get_bind()).get_indexes("delivery")
    assert all("status" not in index["column_names"] for index in indexes)


def test_a_waiting_retry_keeps_the_campaign_open_until_it_is_accepted(
    session: Session, topic, new_campaign
) -> None:
    make_audience(session, topic, 2)
    campaign = _start(session, new_campaign, batch_size=2)
    batch_id, ids = _submitted(session)
    first, second = sorted(ids)
    retry_at = now() + timedelta(minutes=2)
    results = [
        SendResult(first, ResultStatus.ACCEPTED, provider_message_id="sg-1"),
        SendResult(second, ResultStatus.FAILED_TRANSIENT, error="busy", retry_at=retry_at),
    ]
    assert record_results(session, batch_id, results, worker="w")
    session.commit()
    # Every batch is done, but a delivery waits for its retry.
    assert not finish_if_complete(session, campaign.id)
    assert _status(session, campaign.id) == CampaignStatus.SENDING

    report = recover(session, retry_at + timedelta(seconds=1))
    assert report.retried == 1 and report.requeued == [batch_id]
    retried = session.get(Delivery, second, populate_existing=True)
    assert retried.status == Ds.QUEUED and retried.retry_at is None
    session.commit()
    again, ids = _submitted(session)
    assert again == batch_id and sorted(ids) == [first, second]
    accepted = [SendResult(second, ResultStatus.ACCEPTED, provider_message_id="sg-2")]
    assert record_results(session, batch_id, accepted, worker="w")
    session.commit()
    assert finish_if_complete(session, campaign.id)
    assert _status(session, campaign.id) == CampaignStatus.SENT


def test_an_open_delivery_outside_any_batch_still_keeps_the_campaign_open(
    session: Session, topic, new_campaign
) -> None:
    make_audience(session, topic, 2)
    campaign = _start(session, new_campaign, batch_size=2)
    batch_id, ids = _submitted(session)
    results = [SendResult(i, ResultStatus.ACCEPTED, provider_message_id="sg") for i in ids]
    # One delivery left its batch while still queued (the probes cannot see it; the count does).
    session.execute(
        sa.update(Delivery).where(Delivery.id == ids[1]).values(batch_id=None, status=Ds.QUEUED)
    )
    assert record_results(session, batch_id, results[:1], worker="w")
    session.commit()
    assert session.get(Batch, batch_id).status == BatchStatus.DONE
    assert not finish_if_complete(session, campaign.id)
    assert _status(session, campaign.id) == CampaignStatus.SENDING


def _hot_updates(session: Session) -> tuple[int, int]:
    session.execute(sa.text("SELECT pg_stat_clear_snapshot()"))
    row = session.execute(
        sa.text(
            "SELECT n_tup_upd, n_tup_hot_upd FROM pg_stat_user_tables WHERE relname = 'delivery'"
        )
    ).one()
    return row[0], row[1]


def _flush_statistics(session: Session) -> None:
    # Statistics reach the shared counters when a transaction ends, at most once a second
    # unless forced.
    session.execute(sa.text("SELECT pg_stat_force_next_flush()"))
    session.commit()


def test_a_batch_moves_through_its_states_with_heap_only_updates(
    session: Session, database: Database, topic, new_campaign
) -> None:
    if session.get_bind().dialect.name != "postgresql":
        pytest.skip("heap-only updates are PostgreSQL's")
    bulk_audience(session, topic, 600)
    session.commit()
    _start(session, new_campaign, batch_size=300)
    # One connection, so that its own statistics are the ones flushed and read.
    with database.engine.connect() as connection, Session(bind=connection) as worker:
        _flush_statistics(worker)
        updates, hot = _hot_updates(worker)
        for _ in range(2):
            batch_id, ids = _submitted(worker)
            results = [SendResult(i, ResultStatus.ACCEPTED, provider_message_id="sg") for i in ids]
            assert record_results(worker, batch_id, results, worker="w")
            worker.commit()
        _flush_statistics(worker)
        after_updates, after_hot = _hot_updates(worker)
    # Three updates of each of the 600 deliveries; the pages' free room takes nearly all.
    assert after_updates - updates == 1800
    assert after_hot - hot >= 0.9 * 1800
