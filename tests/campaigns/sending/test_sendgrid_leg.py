"""The pipeline against the fake SendGrid API: template + substitutions, faults, refused keys."""

from __future__ import annotations

import time
from collections import Counter

import pytest
import sqlalchemy as sa

from campaigns.sending.models import Campaign, CampaignStatus, Delivery
from campaigns.sending.models import DeliveryStatus as Ds
from campaigns.sending.personalize import CampaignMessages
from campaigns.sending.progress import uncertain_recipients
from campaigns.sending.recovery import delivery_counts, recover, resend_uncertain
from campaigns.sending.runner import BatchRunner
from campaigns.sending.service import start_campaign
from engine.delivery.sendgrid import SendGridBackend
from engine.web import get_settings
from tests.campaigns.sending.conftest import make_audience
from tests.factories import make_subscriber
from tests.fakes.sendgrid_server import FakeSendGrid


def _start(session, topic, new_campaign, count: int, batch_size: int) -> Campaign:
    make_audience(session, topic, count)
    campaign = new_campaign()
    assert start_campaign(
        session,
        campaign.id,
        expected=CampaignStatus.DRAFT,
        batch_size=batch_size,
        settings=get_settings(),
    )
    session.commit()
    return campaign


def _backend(settings, fake: FakeSendGrid, **options) -> SendGridBackend:
    configured = settings.with_overrides(
        MAIL_BACKEND="sendgrid", SENDGRID_API_KEY=fake.api_key, SENDGRID_API_URL=fake.url
    )
    return SendGridBackend(configured, **options)


def _drain(runner: BatchRunner, campaign_id: int) -> None:
    while runner.run_next(campaign_id):
        pass


def test_one_request_per_batch_with_personal_substitutions(
    session, settings, database, topic, new_campaign
):
    campaign = _start(session, topic, new_campaign, count=5, batch_size=2)
    with FakeSendGrid() as fake:
        _drain(BatchRunner(database, settings, _backend(settings, fake), worker="w"), campaign.id)
    assert len(fake.requests) == 3
    assert sorted(m.to for m in fake.accepted) == [f"reader{n}@example.com" for n in range(5)]
    message = fake.accepted[0]
    assert message.headers["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"
    url = message.headers["List-Unsubscribe"][1:-1]
    assert url.startswith("https://news.example.org/unsubscribe/") and url in message.html
    assert "%%" not in message.html and "%%" not in message.text
    assert message.custom_args == {
        "campaign_id": str(campaign.id),
        "delivery_id": message.delivery_id,
    }
    session.expire_all()
    assert session.get(Campaign, campaign.id).status == CampaignStatus.SENT
    ids = set(session.scalars(sa.select(Delivery.provider_message_id)))
    assert None not in ids


def test_a_recipient_that_cannot_be_built_fails_alone(
    session, settings, database, topic, new_campaign
):
    make_subscriber(session, "crlf@example.com", topics=[topic], name="Eve\r\nBcc: x@example.com")
    campaign = _start(session, topic, new_campaign, count=2, batch_size=10)
    with FakeSendGrid() as fake:
        _drain(BatchRunner(database, settings, _backend(settings, fake), worker="w"), campaign.id)
    assert len(fake.requests) == 1
    assert sorted(m.to for m in fake.accepted) == ["reader0@example.com", "reader1@example.com"]
    session.expire_all()
    rows = session.execute(sa.select(Delivery.address, Delivery.status, Delivery.last_error))
    outcomes = {address: (status, error) for address, status, error in rows}
    status, error = outcomes.pop("crlf@example.com")
    assert status == Ds.FAILED_PERMANENT and "carriage return (U+000D)" in error
    assert {status for status, _ in outcomes.values()} == {Ds.ACCEPTED}
    assert session.get(Campaign, campaign.id).status == CampaignStatus.SENT


def test_any_error_building_one_personalization_fails_only_that_one(
    session, settings, database, topic, new_campaign, monkeypatch
):
    campaign = _start(session, topic, new_campaign, count=3, batch_size=10)
    values = CampaignMessages.values

    def broken(self, recipient, unsubscribe_url):
        if recipient.address == "reader1@example.com":
            raise KeyError("first_name")
        return values(self, recipient, unsubscribe_url)

    monkeypatch.setattr(CampaignMessages, "values", broken)
    with FakeSendGrid() as fake:
        _drain(BatchRunner(database, settings, _backend(settings, fake), worker="w"), campaign.id)
    assert sorted(m.to for m in fake.accepted) == ["reader0@example.com", "reader2@example.com"]
    session.expire_all()
    failed = session.scalar(sa.select(Delivery).where(Delivery.address == "reader1@example.com"))
    assert (failed.status, failed.last_error) == (
        Ds.FAILED_PERMANENT, "The message could not be built: 'first_name'"
    )  # fmt: skip
    assert session.get(Campaign, campaign.id).status == CampaignStatus.SENT


def test_refused_key_pauses_after_at_most_one_batch(
    session, settings, database, topic, new_campaign
):
    campaign = _start(session, topic, new_campaign, count=6, batch_size=2)
    with FakeSendGrid(auth_fail=True) as fake:
        _drain(BatchRunner(database, settings, _backend(settings, fake), worker="w"), campaign.id)
    assert len(fake.requests) == 1 and not fake.accepted
    session.expire_all()
    paused = session.get(Campaign, campaign.id)
    assert paused.status == CampaignStatus.PAUSED and "credentials" in paused.paused_reason
    assert delivery_counts(session, campaign.id)[Ds.QUEUED] == 6


def _open(session, campaign_id: int) -> bool:
    accepted = delivery_counts(session, campaign_id)[Ds.ACCEPTED]
    session.rollback()  # on SQLite even a read holds the write lock until the transaction ends
    return accepted < 400


def _resend_unreached(database, campaign_id: int, fake: FakeSendGrid) -> None:
    """Resend uncertain deliveries the fake never took (a reset the client cannot tell apart)."""
    with database.session() as session:
        uncertain = {str(row.delivery_id) for row in uncertain_recipients(session, campaign_id)}
        if uncertain:
            assert not uncertain & {m.delivery_id for m in fake.accepted}
            resend_uncertain(session, campaign_id, approval_threshold=10**9)


@pytest.mark.slow
def test_faults_still_deliver_every_message_exactly_once(
    session, settings, database, topic, new_campaign
):
    campaign_id = _start(session, topic, new_campaign, count=400, batch_size=20).id
    mix = {"429": 0.15, "500": 0.10, "reset": 0.05}
    with FakeSendGrid(fault_mix=mix, seed=7, reset_seconds=0.05, fractional_reset=True) as fake:
        backend = _backend(settings, fake, backoff_base=0.01, max_attempts=8)
        runner = BatchRunner(database, settings, backend, worker="w")
        deadline = time.monotonic() + 60
        while _open(session, campaign_id) and time.monotonic() < deadline:
            _drain(runner, campaign_id)
            _resend_unreached(database, campaign_id, fake)
            with database.session() as recovery:
                recover(recovery)  # due retries only: their retry_at honours the 429 reset
            time.sleep(0.05)
    counts = Counter(m.delivery_id for m in fake.accepted)
    assert len(counts) == 400 and set(counts.values()) == {1}
    assert fake.early_requests == 0
    assert {f.fault for f in fake.requests} >= {"429", "500", "reset"}
    assert delivery_counts(session, campaign_id)[Ds.ACCEPTED] == 400
