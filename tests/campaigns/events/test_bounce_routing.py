"""Bounce routing: a campaign sent with per-delivery return paths, bounces matched by them."""

from __future__ import annotations

import pytest
import sqlalchemy as sa
from flask.testing import FlaskClient, FlaskCliRunner
from sqlalchemy.orm import Session

from campaigns.sending.models import CampaignStatus, Delivery
from campaigns.sending.runner import BatchRunner
from campaigns.sending.service import create_campaign, start_campaign
from engine.config import Settings
from engine.db import Database
from engine.delivery.smtp import SmtpBackend
from engine.delivery.verp import parse_return_path
from subscribers.models import SuppressionReason
from subscribers.suppression import find_suppression
from tests.campaigns.events.conftest import DSN_TOKEN, event_state
from tests.campaigns.sending.conftest import make_issue
from tests.conftest import SECRET
from tests.factories import make_subscriber, make_topic
from tests.fakes.smtp_sink import SmtpSink

RETURN_PATH = "bounces@agency.example"


@pytest.fixture
def sent(session: Session, database: Database, settings: Settings) -> dict[str, str]:
    """Send a two-reader campaign through the SMTP sink; map each address to its MAIL FROM."""
    topic = make_topic(session)
    for n in range(2):
        make_subscriber(session, f"reader{n}@example.com", topics=[topic])
    campaign = create_campaign(session, make_issue(session), [topic], settings=settings)
    session.commit()
    assert start_campaign(
        session, campaign.id, expected=CampaignStatus.DRAFT, batch_size=10, settings=settings
    )
    session.commit()
    with SmtpSink() as sink:
        configured = settings.with_overrides(SMTP_URL=sink.url(), RETURN_PATH=RETURN_PATH)
        runner = BatchRunner(database, configured, SmtpBackend(configured), worker="w")
        while runner.run_next(campaign.id):
            pass
    return {message.recipients[0]: message.mail_from for message in sink.messages}


def _delivery(session: Session, address: str) -> int:
    delivery_id = session.scalar(sa.select(Delivery.id).where(Delivery.address == address))
    session.rollback()
    assert delivery_id is not None
    return delivery_id


def _bounce(return_path: str, *, headers: str = "", recipient: str = "") -> bytes:
    """A late report addressed to ``return_path`` that quotes nothing of the original message."""
    named = f"Final-Recipient: rfc822; {recipient}\n" if recipient else ""
    return f"""\
Return-Path: <>
Date: Tue, 24 Nov 2026 09:12:44 +0000
From: Mail Delivery Subsystem <mailer-daemon@mx.forwarder.example>
To: {return_path}
{headers}Subject: Delivery Status Notification (Failure)
Message-Id: <late.{return_path.split("@")[0]}@mx.forwarder.example>
MIME-Version: 1.0
Content-Type: multipart/report; report-type=delivery-status; boundary="R"

--R
Content-Type: text/plain

The mailbox you forwarded to no longer exists.

--R
Content-Type: message/delivery-status

Reporting-MTA: dns; mx.forwarder.example

{named}Action: failed
Status: 5.1.1
Diagnostic-Code: smtp; 550 5.1.1 user unknown

--R--
""".replace("\n", "\r\n").encode()


def test_each_message_has_its_own_signed_return_path(
    session: Session, sent: dict[str, str]
) -> None:
    assert set(sent) == {"reader0@example.com", "reader1@example.com"}
    for address, mail_from in sent.items():
        local, _, domain = mail_from.partition("@")
        assert local.startswith("bounces+") and domain == "agency.example"
        assert len(local) <= 64 and local == local.lower()
        assert parse_return_path(mail_from, secret=SECRET) == _delivery(session, address)


def test_a_late_bounce_to_the_return_path_suppresses_the_right_reader(
    session: Session, runner: FlaskCliRunner, sent: dict[str, str]
) -> None:
    bounced, kept = "reader1@example.com", "reader0@example.com"
    result = runner.invoke(args=["events", "ingest-dsn"], input=_bounce(sent[bounced]))
    assert result.exit_code == 0, result.output
    assert "1 new event(s)" in result.output and "1 address(es) suppressed" in result.output
    assert find_suppression(session, bounced).reason == SuppressionReason.BOUNCE
    assert find_suppression(session, kept) is None
    assert event_state(session, _delivery(session, bounced)) == "bounced"
    assert event_state(session, _delivery(session, kept)) is None


def test_the_endpoint_matches_on_the_delivering_servers_header_and_ignores_the_body_address(
    session: Session, client: FlaskClient, sent: dict[str, str]
) -> None:
    bounced = "reader0@example.com"
    raw = _bounce(
        "Bounces <bounces@agency.example>",
        headers=f"Delivered-To: {sent[bounced]}\n",
        recipient="old-alias@forwarder.example",
    )
    headers = {"Authorization": f"Bearer {DSN_TOKEN}", "Content-Type": "message/rfc822"}
    response = client.post("/webhooks/dsn", data=raw, headers=headers)
    assert response.status_code == 200, response.get_data(as_text=True)
    assert response.get_json()["suppressed"] == 1
    assert find_suppression(session, bounced).reason == SuppressionReason.BOUNCE
    assert find_suppression(session, "old-alias@forwarder.example") is None
    assert event_state(session, _delivery(session, bounced)) == "bounced"


def test_a_tampered_return_path_is_ignored(
    session: Session, runner: FlaskCliRunner, sent: dict[str, str]
) -> None:
    target, other = "reader0@example.com", "reader1@example.com"
    # Another delivery's signature on this delivery's id: no match, and nothing else names one.
    forged = f"bounces+{_delivery(session, target)}-{sent[other].split('-', 1)[1]}"
    result = runner.invoke(args=["events", "ingest-dsn"], input=_bounce(forged, recipient=target))
    assert result.exit_code == 0, result.output
    assert "1 ignored" in result.output
    assert find_suppression(session, target) is None
    assert event_state(session, _delivery(session, target)) is None
