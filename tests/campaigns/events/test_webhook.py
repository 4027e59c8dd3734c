"""The signed SendGrid Event Webhook: verification, idempotent storage, states and actions."""

from __future__ import annotations

import random
from collections.abc import Callable
from datetime import timedelta

import orjson
import sqlalchemy as sa
from flask import Flask
from flask.testing import FlaskCliRunner
from sqlalchemy.orm import Session

from campaigns.events.models import DeliveryEvent, WebhookBatch
from campaigns.events.webhook_batches import SENDGRID, store_batch
from engine.clock import now
from engine.delivery.sendgrid_webhook import SIGNATURE_HEADER, TIMESTAMP_HEADER
from subscribers.audience import audience_select
from subscribers.models import Suppression, SuppressionReason
from subscribers.suppression import find_suppression
from tests.campaigns.events.conftest import (
    add_deliveries,
    audience_fixture,
    count_rows,
    event,
    event_state,
    make_campaign,
    stored_nothing,
)
from tests.fakes.sendgrid_signing import SendGridSigner, sendgrid_batch


def _one_delivery(session: Session) -> tuple[int, int, str]:
    campaign = make_campaign(session)
    _, readers = audience_fixture(session, 1)
    [delivery_id] = add_deliveries(session, campaign, readers)
    session.commit()
    return campaign.id, delivery_id, readers[0].email


def test_good_signature_is_accepted_and_stored(session: Session, post_events: Callable) -> None:
    campaign_id, delivery_id, email = _one_delivery(session)
    response = post_events([event("delivered", delivery_id, campaign_id, email, 1)])
    assert response.status_code == 200, response.get_data(as_text=True)
    stored = session.scalars(sa.select(DeliveryEvent)).one()
    assert (stored.kind, stored.campaign_id, stored.delivery_id) == (
        "delivered",
        campaign_id,
        delivery_id,
    )
    assert event_state(session, delivery_id) == "delivered"
    # The stored payload keeps ids, not the address, IP or user agent.
    assert {"email", "ip", "useragent"}.isdisjoint(stored.payload)
    assert count_rows(session, WebhookBatch) == 0


def test_tampered_body_is_rejected(session: Session, post_events: Callable, signer) -> None:
    campaign_id, delivery_id, email = _one_delivery(session)
    body = orjson.dumps([event("bounce", delivery_id, campaign_id, email, 1)])
    headers = signer.headers(body, now())
    response = post_events(body.replace(b"bounce", b"bounze"), headers)
    assert response.status_code == 403
    assert response.get_json()["error"]["code"] == "bad_signature"
    assert stored_nothing(session)


def test_wrong_key_is_rejected(session: Session, post_events: Callable) -> None:
    campaign_id, delivery_id, email = _one_delivery(session)
    body = orjson.dumps([event("spamreport", delivery_id, campaign_id, email, 1)])
    response = post_events(body, SendGridSigner().headers(body, now()))
    assert response.status_code == 403
    assert stored_nothing(session) and find_suppression(session, email) is None


def test_missing_headers_are_rejected(session: Session, post_events: Callable, signer) -> None:
    body = orjson.dumps([event("delivered", 1, 1, "a@example.org", 1)])
    signed = signer.headers(body, now())
    for headers in (
        {},
        {SIGNATURE_HEADER: signed[SIGNATURE_HEADER]},
        {TIMESTAMP_HEADER: signed[TIMESTAMP_HEADER]},
    ):
        assert post_events(body, headers).status_code == 401
    assert stored_nothing(session)


def test_reserialised_json_is_rejected(session: Session, post_events: Callable, signer) -> None:
    elements = [event("delivered", 1, 1, "a@example.org", 1)]
    headers = signer.headers(orjson.dumps(elements), now())
    pretty = orjson.dumps(elements, option=orjson.OPT_INDENT_2)
    assert post_events(pretty, headers).status_code == 403
    assert stored_nothing(session)


def test_stale_timestamp_is_rejected(session: Session, post_events: Callable, signer) -> None:
    body = orjson.dumps([event("delivered", 1, 1, "a@example.org", 1)])
    response = post_events(body, signer.headers(body, now() - timedelta(minutes=10)))
    assert response.status_code == 403
    assert "old" in response.get_json()["error"]["message"]
    assert stored_nothing(session)


def test_missing_public_key_answers_503(app: Flask, session: Session, post_events) -> None:
    settings = app.extensions["pinwheel.settings"]
    app.extensions["pinwheel.settings"] = settings.with_overrides(SENDGRID_WEBHOOK_PUBLIC_KEY="")
    response = post_events([event("delivered", 1, 1, "a@example.org", 1)])
    assert response.status_code == 503
    assert "PINWHEEL_SENDGRID_WEBHOOK_PUBLIC_KEY" in response.get_json()["error"]["message"]
    assert stored_nothing(session)


def test_batch_replayed_five_times_is_stored_once(session: Session, post_events) -> None:
    campaign_id, delivery_id, email = _one_delivery(session)
    elements = [
        event("processed", delivery_id, campaign_id, email, 1),
        event("delivered", delivery_id, campaign_id, email, 2),
        event("open", delivery_id, campaign_id, email, 3),
    ]
    for _ in range(5):
        assert post_events(elements).status_code == 200
    assert count_rows(session, DeliveryEvent) == 3
    assert event_state(session, delivery_id) == "opened"


def test_events_out_of_order_end_in_the_right_state(session: Session, post_events) -> None:
    campaign = make_campaign(session)
    _, readers = audience_fixture(session, 2)
    opened_id, bounced_id = add_deliveries(session, campaign, readers)
    session.commit()
    a, b = readers[0].email, readers[1].email
    kinds = ["processed", "delivered", "open", "click", "deferred"]
    elements = [event(kind, opened_id, campaign.id, a, n) for n, kind in enumerate(kinds)]
    elements += [
        event(kind, bounced_id, campaign.id, b, 10 + n)
        for n, kind in enumerate(["processed", "deferred", "bounce", "delivered"])
    ]
    random.Random(7).shuffle(elements)
    for element in elements:  # one batch per event, in shuffled order
        assert post_events([element]).status_code == 200
    assert event_state(session, opened_id) == "clicked"
    assert event_state(session, bounced_id) == "bounced"


def test_one_malformed_element_does_not_reject_the_batch(session: Session, post_events) -> None:
    campaign_id, delivery_id, email = _one_delivery(session)
    elements = [
        event("delivered", delivery_id, campaign_id, email, 1),
        {"event": "delivered", "timestamp": "yesterday"},
        "not an object",
        event("open", delivery_id, campaign_id, email, 2, sg_machine_open=True),
    ]
    assert post_events(elements).status_code == 200
    assert count_rows(session, DeliveryEvent) == 2
    assert session.scalar(sa.select(DeliveryEvent.machine_open).where(DeliveryEvent.kind == "open"))


def test_body_that_is_not_an_array_is_refused(session: Session, post_events) -> None:
    response = post_events(b'{"event": "delivered"}')
    assert response.status_code == 400
    assert stored_nothing(session)


def test_large_batch_is_handled(session: Session, post_events) -> None:
    body = sendgrid_batch(5000)
    assert len(body) > 1_000_000
    response = post_events(body)
    assert response.status_code == 200
    assert count_rows(session, DeliveryEvent) == 5000
    assert count_rows(session, WebhookBatch) == 0
    # Hard bounces (every seventh event) were suppressed even without a known delivery.
    assert count_rows(session, Suppression) == len(range(5, 5000, 7))


def test_suppressing_events_keep_addresses_out_of_the_next_campaign(
    session: Session, post_events
) -> None:
    topic, readers = audience_fixture(session, 5)
    first = make_campaign(session, topics=[topic])
    ids = add_deliveries(session, first, readers)
    session.commit()
    emails = [reader.email for reader in readers]
    kinds = [
        ("bounce", {"type": "bounce"}),
        ("spamreport", {}),
        ("unsubscribe", {}),
        ("bounce", {"type": "blocked"}),
        ("deferred", {}),
    ]
    elements = [
        event(kind, ids[n], first.id, emails[n], n, **fields)
        for n, (kind, fields) in enumerate(kinds)
    ]
    assert post_events(elements).status_code == 200
    reasons = {s.address: s.reason for s in session.scalars(sa.select(Suppression))}
    assert reasons == {
        emails[0]: SuppressionReason.BOUNCE,
        emails[1]: SuppressionReason.COMPLAINT,
        emails[2]: SuppressionReason.UNSUBSCRIBE,
    }
    next_audience = {row.email for row in session.execute(audience_select([topic.id]))}
    assert next_audience == {emails[3], emails[4]}


def test_qualifying_drop_suppresses_and_other_drops_only_count(
    session: Session, post_events
) -> None:
    campaign = make_campaign(session)
    _, readers = audience_fixture(session, 2)
    ids = add_deliveries(session, campaign, readers)
    session.commit()
    elements = [
        event("dropped", ids[0], campaign.id, readers[0].email, 1, reason="Bounced Address"),
        event("dropped", ids[1], campaign.id, readers[1].email, 2, reason="Spam Content"),
    ]
    assert post_events(elements).status_code == 200
    assert find_suppression(session, readers[0].email) is not None
    assert find_suppression(session, readers[1].email) is None
    assert event_state(session, ids[1]) == "dropped"


def test_event_naming_another_campaigns_delivery_is_not_linked(
    session: Session, post_events
) -> None:
    _, delivery_id, email = _one_delivery(session)
    other = make_campaign(session)
    session.commit()
    assert post_events([event("delivered", delivery_id, other.id, email, 1)]).status_code == 200
    stored = session.scalars(sa.select(DeliveryEvent)).one()
    assert (stored.campaign_id, stored.delivery_id) == (other.id, None)
    assert event_state(session, delivery_id) is None


def test_pending_batch_is_processed_by_the_command(
    session: Session, runner: FlaskCliRunner
) -> None:
    campaign_id, delivery_id, email = _one_delivery(session)
    body = orjson.dumps([event("spamreport", delivery_id, campaign_id, email, 1)])
    store_batch(session, SENDGRID, body)  # as if the process died right after answering
    session.commit()
    result = runner.invoke(args=["events", "process"])
    assert result.exit_code == 0, result.output
    assert "Processed 1" in result.output
    assert count_rows(session, WebhookBatch) == 0
    assert find_suppression(session, email).reason == SuppressionReason.COMPLAINT


def test_failed_processing_keeps_the_verified_batch(
    session: Session, post_events: Callable, runner: FlaskCliRunner, monkeypatch
) -> None:
    campaign_id, delivery_id, email = _one_delivery(session)
    elements = [event("bounce", delivery_id, campaign_id, email, 1, type="bounce")]

    def broken(*args: object, **kwargs: object) -> None:
        raise RuntimeError("database went away")

    with monkeypatch.context() as patch:
        patch.setattr("campaigns.events.webhook_batches.ingest_events", broken)
        assert post_events(elements).status_code == 200  # the answer does not wait
    batch = session.scalars(sa.select(WebhookBatch)).one()
    assert batch.attempts == 1 and "went away" in batch.last_error
    session.rollback()
    assert runner.invoke(args=["events", "process"]).exit_code == 0
    assert count_rows(session, WebhookBatch) == 0
    assert find_suppression(session, email).reason == SuppressionReason.BOUNCE
