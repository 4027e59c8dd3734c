"""SMTP bounces through ``pinwheel events ingest-dsn`` and ``POST /webhooks/dsn``."""

from __future__ import annotations

from pathlib import Path

import sqlalchemy as sa
from flask.testing import FlaskClient, FlaskCliRunner
from sqlalchemy.orm import Session

from campaigns.events.models import DeliveryEvent
from subscribers.audience import audience_select
from subscribers.models import SuppressionReason
from subscribers.suppression import find_suppression
from tests.campaigns.events.conftest import (
    DSN_TOKEN,
    add_deliveries,
    audience_fixture,
    count_rows,
    dsn_message,
    event_state,
    make_campaign,
)


def _sent(session: Session) -> tuple[int, int, int, str, int]:
    topic, [reader] = audience_fixture(session, 1)
    campaign = make_campaign(session, topics=[topic])
    [delivery_id] = add_deliveries(session, campaign, [reader])
    session.commit()
    return campaign.id, reader.id, delivery_id, reader.email, topic.id


def test_cli_ingests_a_hard_bounce_from_a_file(
    session: Session, runner: FlaskCliRunner, tmp_path: Path
) -> None:
    campaign_id, subscriber_id, delivery_id, email, topic_id = _sent(session)
    path = tmp_path / "bounce.eml"
    path.write_bytes(dsn_message(campaign_id, subscriber_id, email))
    result = runner.invoke(args=["events", "ingest-dsn", str(path)])
    assert result.exit_code == 0, result.output
    assert "1 new event(s)" in result.output and "1 address(es) suppressed" in result.output
    assert find_suppression(session, email).reason == SuppressionReason.BOUNCE
    assert event_state(session, delivery_id) == "bounced"
    assert email not in {row.email for row in session.execute(audience_select([topic_id]))}
    session.rollback()
    again = runner.invoke(args=["events", "ingest-dsn", str(path)])
    assert "0 new event(s), 1 already known" in again.output
    assert count_rows(session, DeliveryEvent) == 1


def test_cli_reads_standard_input_and_soft_bounces_only_count(
    session: Session, runner: FlaskCliRunner
) -> None:
    campaign_id, subscriber_id, delivery_id, email, _ = _sent(session)
    raw = dsn_message(campaign_id, subscriber_id, email, status="4.2.2", action="delayed")
    result = runner.invoke(args=["events", "ingest-dsn"], input=raw)
    assert result.exit_code == 0, result.output
    assert find_suppression(session, email) is None
    assert event_state(session, delivery_id) == "deferred"


def test_cli_refuses_bad_input_in_one_line(session: Session, runner: FlaskCliRunner) -> None:
    result = runner.invoke(args=["events", "ingest-dsn"], input=b"Subject: hello\r\n\r\nhi\r\n")
    assert result.exit_code == 2
    assert result.output.strip().count("\n") == 0
    assert "not a delivery status notification" in result.output
    missing = runner.invoke(args=["events", "ingest-dsn", "/nonexistent/bounce.eml"])
    assert missing.exit_code == 2
    assert count_rows(session, DeliveryEvent) == 0


def test_forged_dsn_suppresses_nobody(session: Session, runner: FlaskCliRunner) -> None:
    campaign_id, subscriber_id, _, email, _ = _sent(session)
    forged = dsn_message(campaign_id, subscriber_id, email, secret="someone-elses-secret")
    result = runner.invoke(args=["events", "ingest-dsn"], input=forged)
    assert result.exit_code == 0, result.output
    assert "1 ignored" in result.output
    assert find_suppression(session, email) is None
    assert count_rows(session, DeliveryEvent) == 0


def test_endpoint_ingests_with_the_token(session: Session, client: FlaskClient) -> None:
    campaign_id, subscriber_id, delivery_id, email, _ = _sent(session)
    raw = dsn_message(campaign_id, subscriber_id, email)
    headers = {"Authorization": f"Bearer {DSN_TOKEN}", "Content-Type": "message/rfc822"}
    response = client.post("/webhooks/dsn", data=raw, headers=headers)
    assert response.status_code == 200, response.get_data(as_text=True)
    assert response.get_json()["suppressed"] == 1
    assert find_suppression(session, email).reason == SuppressionReason.BOUNCE
    session.expire_all()
    stored = session.scalars(sa.select(DeliveryEvent)).one()
    assert stored.delivery_id == delivery_id and stored.bounce_type == "hard"


def test_endpoint_refuses_without_a_valid_token(session: Session, client: FlaskClient) -> None:
    campaign_id, subscriber_id, _, email, _ = _sent(session)
    raw = dsn_message(campaign_id, subscriber_id, email)
    for headers in ({}, {"Authorization": "Bearer wrong"}, {"Authorization": DSN_TOKEN}):
        assert client.post("/webhooks/dsn", data=raw, headers=headers).status_code == 401
    assert find_suppression(session, email) is None


def test_endpoint_answers_422_for_a_message_that_is_not_a_dsn(client: FlaskClient) -> None:
    headers = {"Authorization": f"Bearer {DSN_TOKEN}"}
    response = client.post("/webhooks/dsn", data=b"Subject: hi\r\n\r\nhello", headers=headers)
    assert response.status_code == 422
    assert response.get_json()["error"]["code"] == "validation_failed"
