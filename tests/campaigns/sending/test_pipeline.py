"""Delivering batches: states, headers, results written at once, one copy per recipient."""

from __future__ import annotations

from datetime import timedelta

import pytest
import sqlalchemy as sa

from campaigns.sending.models import Batch, BatchStatus, Campaign, CampaignStatus, Delivery
from campaigns.sending.models import DeliveryStatus as Ds
from campaigns.sending.personalize import CampaignMessages
from campaigns.sending.recovery import delivery_counts, finish_if_complete
from campaigns.sending.runner import BatchRunner
from campaigns.sending.service import pause_campaign, start_campaign
from engine.clock import now
from engine.delivery.base import BackendAuthError, OutcomeUnknownError, ResultStatus, SendResult
from engine.delivery.dsn import make_message_id, parse_message_id
from engine.delivery.outbox import OutboxBackend
from engine.web import get_settings
from subscribers.models import SuppressionReason
from subscribers.suppression import suppress
from subscribers.tokens import Purpose, TokenSigner
from tests.campaigns.sending.conftest import make_audience
from tests.conftest import SECRET
from tests.factories import make_subscriber


def _started(session, topic, new_campaign, count=5, batch_size=2):
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


def _drain(runner: BatchRunner, campaign_id: int, session=None) -> int:
    if session is not None:
        session.commit()  # on SQLite even a read holds the write lock (BEGIN IMMEDIATE)
    batches = 0
    while runner.run_next(campaign_id):
        batches += 1
    return batches


def test_every_recipient_gets_exactly_one_message(
    session, topic, new_campaign, batch_runner, outbox
):
    campaign = _started(session, topic, new_campaign, count=5)
    assert _drain(batch_runner, campaign.id, session) == 3
    assert sorted(m.to_address for m in outbox.sent) == [f"reader{n}@example.com" for n in range(5)]
    session.expire_all()
    assert session.get(Campaign, campaign.id).status == CampaignStatus.SENT
    assert session.get(Campaign, campaign.id).issue.published_at is not None
    counts = delivery_counts(session, campaign.id)
    assert counts[Ds.ACCEPTED] == 5 == campaign.recipients
    session.commit()
    assert not batch_runner.run_next(campaign.id)


def test_message_headers_and_personalization(
    session, topic, new_campaign, batch_runner, outbox, settings
):
    campaign = _started(session, topic, new_campaign, count=1)
    _drain(batch_runner, campaign.id, session)
    message = outbox.sent[0]
    subscriber_id = session.scalar(sa.select(Delivery.subscriber_id))
    expected_id = make_message_id(campaign.id, subscriber_id, SECRET, "pinwheel.example.org")
    assert message.headers["Message-ID"] == expected_id
    assert parse_message_id(expected_id, secret=SECRET) == (campaign.id, subscriber_id)
    unsubscribe = message.headers["List-Unsubscribe"]
    assert unsubscribe.startswith(
        "<https://news.example.org/unsubscribe/"
    ) and unsubscribe.endswith(">")
    token = unsubscribe[1:-1].rsplit("/", 1)[1]
    signer = TokenSigner(SECRET, settings.TOKEN_MAX_AGE_DAYS)
    assert signer.load(Purpose.UNSUBSCRIBE, token) == (subscriber_id, f"c{campaign.id}")
    assert message.headers["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"
    assert message.custom_args == {
        "campaign_id": str(campaign.id),
        "delivery_id": str(message.delivery_id),
    }
    assert unsubscribe[1:-1] in message.html and unsubscribe[1:-1] in message.text
    assert "%%" not in message.html and "%%" not in message.text


def test_mailto_unsubscribe_when_configured(
    session, topic, new_campaign, database, settings, outbox
):
    campaign = _started(session, topic, new_campaign, count=1)
    configured = settings.with_overrides(UNSUBSCRIBE_MAILTO="unsubscribe@pinwheel.example.org")
    _drain(BatchRunner(database, configured, outbox, worker="w"), campaign.id, session)
    assert (
        outbox.sent[0]
        .headers["List-Unsubscribe"]
        .endswith(", <mailto:unsubscribe@pinwheel.example.org?subject=unsubscribe>")
    )


def test_message_id_is_stable_across_a_resend(session, topic, new_campaign, batch_runner, outbox):
    from campaigns.sending.recovery import resend_uncertain

    campaign = _started(session, topic, new_campaign, count=1)
    _drain(batch_runner, campaign.id, session)
    first = outbox.sent[0].headers["Message-ID"]
    session.execute(sa.update(Delivery).values(status=Ds.UNCERTAIN))
    session.commit()
    assert resend_uncertain(session, campaign.id, approval_threshold=10**9) == 1
    session.commit()
    _drain(batch_runner, campaign.id, session)
    assert [m.headers["Message-ID"] for m in outbox.sent] == [first, first]


def test_failures_are_recorded_per_delivery(session, topic, new_campaign, batch_runner, outbox):
    campaign = _started(session, topic, new_campaign, count=3, batch_size=10)
    outbox.fail_addresses["reader0@example.com"] = ResultStatus.FAILED_PERMANENT
    outbox.fail_addresses["reader1@example.com"] = ResultStatus.FAILED_TRANSIENT
    _drain(batch_runner, campaign.id, session)
    rows = dict(session.execute(sa.select(Delivery.address, Delivery.status)).all())
    assert rows == {
        "reader0@example.com": Ds.FAILED_PERMANENT,
        "reader1@example.com": Ds.FAILED_TRANSIENT,
        "reader2@example.com": Ds.ACCEPTED,
    }
    transient = session.scalar(sa.select(Delivery).where(Delivery.address == "reader1@example.com"))
    assert transient.attempts == 1 and transient.retry_at > now()
    assert session.get(Campaign, campaign.id).status == CampaignStatus.SENDING


def _started_with_a_broken_name(session, topic, new_campaign):
    """Start a one-batch send to two readers and one whose name an older version let in."""
    make_audience(session, topic, 2)
    make_subscriber(session, "crlf@example.com", topics=[topic], name="Eve\r\nBcc: x@example.com")
    return _started(session, topic, new_campaign, count=0, batch_size=10)


def _outcomes(session) -> dict[str, tuple[str, str]]:
    session.expire_all()
    rows = session.execute(sa.select(Delivery.address, Delivery.status, Delivery.last_error))
    return {address: (status, error) for address, status, error in rows}


@pytest.mark.parametrize("backend", ["memory", "outbox"])
def test_a_message_that_cannot_be_built_fails_alone(
    session, topic, new_campaign, database, settings, outbox, tmp_path, backend
):
    campaign = _started_with_a_broken_name(session, topic, new_campaign)
    chosen = outbox if backend == "memory" else OutboxBackend(tmp_path / "outbox")
    _drain(BatchRunner(database, settings, chosen, worker="w"), campaign.id, session)
    outcomes = _outcomes(session)
    status, error = outcomes.pop("crlf@example.com")
    assert status == Ds.FAILED_PERMANENT
    assert error == (
        "The message could not be built: the subscriber's name contains a carriage return "
        "(U+000D); correct it on the subscriber's page"
    )
    assert {address: status for address, (status, _) in outcomes.items()} == {
        "reader0@example.com": Ds.ACCEPTED,
        "reader1@example.com": Ds.ACCEPTED,
    }
    if backend == "memory":
        assert sorted(m.to_address for m in outbox.sent) == sorted(outcomes)
    else:
        assert len(list((tmp_path / "outbox").glob("*.eml"))) == 2
    assert session.get(Campaign, campaign.id).status == CampaignStatus.SENT


def test_any_error_building_one_message_fails_only_that_one(
    session, topic, new_campaign, batch_runner, outbox, monkeypatch
):
    campaign = _started(session, topic, new_campaign, count=3, batch_size=10)
    values = CampaignMessages.values

    def broken(self, recipient, unsubscribe_url):
        if recipient.address == "reader1@example.com":
            raise KeyError("first_name")
        return values(self, recipient, unsubscribe_url)

    monkeypatch.setattr(CampaignMessages, "values", broken)
    _drain(batch_runner, campaign.id, session)
    outcomes = _outcomes(session)
    assert outcomes["reader1@example.com"] == (
        Ds.FAILED_PERMANENT, "The message could not be built: 'first_name'"
    )  # fmt: skip
    sent = sorted(m.to_address for m in outbox.sent)
    assert sent == ["reader0@example.com", "reader2@example.com"]
    assert session.get(Campaign, campaign.id).status == CampaignStatus.SENT


def test_suppressed_after_freeze_is_not_sent(session, topic, new_campaign, batch_runner, outbox):
    campaign = _started(session, topic, new_campaign, count=2)
    suppress(session, "reader1@example.com", SuppressionReason.UNSUBSCRIBE)
    session.commit()
    _drain(batch_runner, campaign.id, session)
    assert [m.to_address for m in outbox.sent] == ["reader0@example.com"]
    assert delivery_counts(session, campaign.id)[Ds.SUPPRESSED] == 1
    session.expire_all()
    assert session.get(Campaign, campaign.id).status == CampaignStatus.SENT


def test_pause_takes_effect_before_the_next_batch(
    session, topic, new_campaign, batch_runner, outbox
):
    campaign = _started(session, topic, new_campaign, count=6, batch_size=2)
    assert batch_runner.run_next(campaign.id)
    pause_campaign(session, campaign.id)
    session.commit()
    assert not batch_runner.run_next(campaign.id)
    assert len(outbox.sent) == 2


def test_a_redelivered_batch_task_is_harmless(session, topic, new_campaign, batch_runner, outbox):
    _started(session, topic, new_campaign, count=2, batch_size=2)
    batch_id = session.scalar(sa.select(Batch.id))
    session.commit()
    assert batch_runner.run_batch(batch_id)
    assert not batch_runner.run_batch(batch_id)
    assert len(outbox.sent) == 2


class _RefusingBackend:
    name = "refusing"

    def send_batch(self, messages):
        raise BackendAuthError("401 Unauthorized")

    def close(self):
        return None


def test_refused_credentials_pause_the_campaign_and_keep_the_batch(
    session, topic, new_campaign, database, settings
):
    campaign = _started(session, topic, new_campaign, count=4, batch_size=2)
    runner = BatchRunner(database, settings, _RefusingBackend(), worker="w")
    runner.run_next(campaign.id)
    assert not runner.run_next(campaign.id)
    session.expire_all()
    paused = session.get(Campaign, campaign.id)
    assert paused.status == CampaignStatus.PAUSED
    assert "refused our credentials" in paused.paused_reason
    assert delivery_counts(session, campaign.id)[Ds.QUEUED] == 4
    assert set(session.scalars(sa.select(Batch.status))) == {BatchStatus.QUEUED}


class _HalfKnownBackend:
    name = "half"

    def send_batch(self, messages):
        known = [SendResult(messages[0].delivery_id, ResultStatus.ACCEPTED, "x")]
        raise OutcomeUnknownError([m.delivery_id for m in messages[1:]], known, "reset")

    def close(self):
        return None


def test_unknown_outcomes_become_uncertain(session, topic, new_campaign, database, settings):
    campaign = _started(session, topic, new_campaign, count=3, batch_size=3)
    BatchRunner(database, settings, _HalfKnownBackend(), worker="w").run_next(campaign.id)
    counts = delivery_counts(session, campaign.id)
    assert (counts[Ds.ACCEPTED], counts[Ds.UNCERTAIN]) == (1, 2)
    session.expire_all()
    assert session.get(Campaign, campaign.id).status == CampaignStatus.SENT


def test_not_sent_while_anything_is_open(session, topic, new_campaign, batch_runner):
    campaign = _started(session, topic, new_campaign, count=2, batch_size=1)
    batch_runner.run_next(campaign.id)
    assert not finish_if_complete(session, campaign.id)
    session.execute(sa.update(Campaign).values(recipients=3))
    session.commit()
    batch_runner.run_next(campaign.id)
    # Every delivery is terminal but the books do not balance: never "sent".
    assert not finish_if_complete(session, campaign.id)


@pytest.mark.parametrize("retry_in", [timedelta(seconds=-1)])
def test_due_transient_failure_is_retried(
    session, topic, new_campaign, batch_runner, outbox, retry_in
):
    from campaigns.sending.recovery import recover

    campaign = _started(session, topic, new_campaign, count=1)
    outbox.fail_addresses["reader0@example.com"] = ResultStatus.FAILED_TRANSIENT
    _drain(batch_runner, campaign.id, session)
    del outbox.fail_addresses["reader0@example.com"]
    report = recover(session, now() + timedelta(hours=1))
    session.commit()
    assert report.retried == 1 and len(report.requeued) == 1
    _drain(batch_runner, campaign.id, session)
    assert [m.to_address for m in outbox.sent] == ["reader0@example.com"]
    session.expire_all()
    assert session.get(Campaign, campaign.id).status == CampaignStatus.SENT
