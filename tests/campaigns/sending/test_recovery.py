"""Recovery: expired claims go back to the queue, expired submissions become uncertain."""

from __future__ import annotations

from datetime import timedelta

import sqlalchemy as sa

from campaigns.sending.batches import claim_next_batch, mark_submitting, record_results
from campaigns.sending.models import Batch, BatchStatus, Campaign, CampaignStatus, Delivery
from campaigns.sending.models import DeliveryStatus as Ds
from campaigns.sending.progress import campaign_progress, uncertain_recipients
from campaigns.sending.recovery import delivery_counts, recover, resend_uncertain
from campaigns.sending.service import start_campaign
from engine.clock import now
from engine.delivery.base import ResultStatus, SendResult
from engine.web import get_settings
from tests.campaigns.sending.conftest import make_audience


def _claimed(session, topic, new_campaign, *, submit: bool):
    make_audience(session, topic, 3)
    campaign = new_campaign()
    start_campaign(
        session, campaign.id, expected=CampaignStatus.DRAFT, batch_size=2, settings=get_settings()
    )
    lease = now() + timedelta(seconds=30)
    batch_id, _ = claim_next_batch(session, worker="crashed", lease_until=lease)
    if submit:
        assert mark_submitting(session, batch_id, worker="crashed", lease_until=lease)
    session.commit()
    return campaign, batch_id


def test_live_leases_are_left_alone(session, topic, new_campaign) -> None:
    campaign, _ = _claimed(session, topic, new_campaign, submit=True)
    report = recover(session, now())
    assert report.requeued == [] and report.uncertain == 0
    assert delivery_counts(session, campaign.id)[Ds.SUBMITTING] == 2


def test_expired_claim_goes_back_to_the_queue(session, topic, new_campaign) -> None:
    campaign, batch_id = _claimed(session, topic, new_campaign, submit=False)
    report = recover(session, now() + timedelta(minutes=5))
    assert report.requeued == [batch_id]
    assert session.get(Batch, batch_id, populate_existing=True).status == BatchStatus.QUEUED
    assert delivery_counts(session, campaign.id)[Ds.QUEUED] == 3


def test_expired_submission_becomes_uncertain_and_is_listed(session, topic, new_campaign) -> None:
    campaign, _ = _claimed(session, topic, new_campaign, submit=True)
    report = recover(session, now() + timedelta(minutes=5))
    assert report.uncertain == 2 and report.requeued == []
    rows = uncertain_recipients(session, campaign.id)
    assert [row.address for row in rows] == ["reader0@example.com", "reader1@example.com"]
    assert campaign_progress(session, campaign.id).counts["uncertain"] == 2


def test_resend_uncertain_requeues_them(session, topic, new_campaign) -> None:
    campaign, batch_id = _claimed(session, topic, new_campaign, submit=True)
    recover(session, now() + timedelta(minutes=5))
    assert resend_uncertain(session, campaign.id, approval_threshold=10**9) == 2
    assert session.get(Batch, batch_id, populate_existing=True).status == BatchStatus.QUEUED
    assert delivery_counts(session, campaign.id)[Ds.QUEUED] == 3


def test_campaign_with_uncertain_deliveries_is_sent_when_books_balance(
    session, topic, new_campaign
) -> None:
    campaign, _ = _claimed(session, topic, new_campaign, submit=True)
    session.execute(
        sa.update(Delivery).where(Delivery.status == Ds.QUEUED).values(status=Ds.ACCEPTED)
    )
    report = recover(session, now() + timedelta(minutes=5))
    assert report.finished == [campaign.id]
    assert session.get(Campaign, campaign.id, populate_existing=True).status == CampaignStatus.SENT


def _accepted_results(session, batch_id: int) -> list[SendResult]:
    ids = session.scalars(sa.select(Delivery.id).where(Delivery.batch_id == batch_id)).all()
    return [SendResult(i, ResultStatus.ACCEPTED, provider_message_id="sg-1") for i in ids]


def test_a_whole_batch_taken_in_one_request_is_accepted(session, topic, new_campaign) -> None:
    campaign, batch_id = _claimed(session, topic, new_campaign, submit=True)
    record_results(session, batch_id, _accepted_results(session, batch_id), worker="crashed")
    assert delivery_counts(session, campaign.id)[Ds.ACCEPTED] == 2
    assert session.get(Batch, batch_id, populate_existing=True).status == BatchStatus.DONE


def test_a_late_answer_never_moves_deliveries_recovery_settled(
    session, topic, new_campaign
) -> None:
    campaign, batch_id = _claimed(session, topic, new_campaign, submit=True)
    recover(session, now() + timedelta(minutes=5))
    late = _accepted_results(session, batch_id)
    assert not record_results(session, batch_id, late, worker="crashed")
    failed = [SendResult(r.delivery_id, ResultStatus.FAILED_TRANSIENT, error="500") for r in late]
    assert not record_results(session, batch_id, failed, worker="crashed")
    counts = delivery_counts(session, campaign.id)
    # Staff decide on uncertain deliveries from the list recovery made; it stays as it was.
    assert counts[Ds.UNCERTAIN] == 2 and counts[Ds.ACCEPTED] == 0
    assert counts[Ds.FAILED_TRANSIENT] == 0
    assert counts[Ds.QUEUED] == 1  # the other batch was never claimed


def test_a_late_answer_never_lands_on_another_workers_recipients(
    session, topic, new_campaign
) -> None:
    # One batch of four: two to send now, two waiting for a retry that falls due meanwhile.
    make_audience(session, topic, 4)
    campaign = new_campaign()
    start_campaign(
        session, campaign.id, expected=CampaignStatus.DRAFT, batch_size=4, settings=get_settings()
    )
    ids = session.scalars(
        sa.select(Delivery.id).where(Delivery.campaign_id == campaign.id).order_by(Delivery.id)
    ).all()
    sent_first, retried = ids[:2], ids[2:]
    session.execute(
        sa.update(Delivery)
        .where(Delivery.id.in_(retried))
        .values(status=Ds.FAILED_TRANSIENT, retry_at=now() - timedelta(minutes=1))
    )
    lease = now() + timedelta(seconds=30)
    batch_id, _ = claim_next_batch(session, worker="slow", lease_until=lease)
    assert mark_submitting(session, batch_id, worker="slow", lease_until=lease)
    # The slow worker's lease runs out: its recipients become uncertain, the retries queue up,
    # and a second worker takes the batch and submits them.
    recover(session, now() + timedelta(minutes=5))
    later = now() + timedelta(minutes=10)
    assert claim_next_batch(session, worker="second", lease_until=later) == (batch_id, campaign.id)
    assert mark_submitting(session, batch_id, worker="second", lease_until=later)

    late = [SendResult(i, ResultStatus.ACCEPTED, provider_message_id="sg-slow") for i in sent_first]
    assert not record_results(session, batch_id, late, worker="slow")

    states = dict(
        session.execute(sa.select(Delivery.id, Delivery.status).where(Delivery.id.in_(ids))).all()
    )
    assert [states[i] for i in sent_first] == [Ds.UNCERTAIN, Ds.UNCERTAIN]
    assert [states[i] for i in retried] == [Ds.SUBMITTING, Ds.SUBMITTING]
    assert session.get(Batch, batch_id, populate_existing=True).status == BatchStatus.SUBMITTING
