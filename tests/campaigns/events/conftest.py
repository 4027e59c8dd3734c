"""Builders for the events tests: a sending campaign with deliveries, signed webhook posts, DSNs."""

from __future__ import annotations

import itertools
from collections.abc import Callable, Sequence
from datetime import datetime
from typing import Any

import orjson
import pytest
import sqlalchemy as sa
from flask.testing import FlaskClient
from sqlalchemy.orm import Session
from werkzeug.test import TestResponse

from campaigns.events.models import DeliveryEvent, WebhookBatch
from campaigns.issues.models import Issue
from campaigns.sending.models import Campaign, CampaignStatus, Delivery, DeliveryStatus
from engine.clock import now
from engine.config import Settings
from engine.delivery.dsn import make_message_id
from subscribers.models import Subscriber
from tests.campaigns.seed_issues import SPOTLIGHT_000
from tests.conftest import SECRET
from tests.factories import make_subscriber, make_topic
from tests.fakes.sendgrid_signing import SendGridSigner

DSN_TOKEN = "dsn-token-for-tests-only"
DOMAIN = "pinwheel.example.org"
_numbers = itertools.count(1)


@pytest.fixture(scope="session")
def signer() -> SendGridSigner:
    return SendGridSigner()


@pytest.fixture
def settings(settings: Settings, signer: SendGridSigner, database_url: str) -> Settings:
    """Test settings with the signer's public key and a DSN token configured."""
    # Naming ``database_url`` keeps the SQLite/PostgreSQL parametrisation of the base fixture.
    return settings.with_overrides(
        SENDGRID_WEBHOOK_PUBLIC_KEY=signer.public_key_b64, DSN_WEBHOOK_TOKEN=DSN_TOKEN
    )


def make_campaign(
    session: Session,
    *,
    status: CampaignStatus = CampaignStatus.SENDING,
    html: str = "<html><body><p>Hello</p></body></html>",
    **fields: Any,
) -> Campaign:
    """Create a campaign (sending by default) of a fresh issue."""
    n = next(_numbers)
    issue = Issue(
        slug=f"events-issue-{n}",
        title=f"Issue {n}",
        layout="spotlight",
        content=dict(SPOTLIGHT_000),
    )
    session.add(issue)
    session.flush()
    campaign = Campaign(
        issue_id=issue.id,
        issue_revision=issue.revision or 1,
        name=fields.pop("name", f"Campaign {n}"),
        status=status,
        subject="Subject",
        html=html,
        text="Hello",
        started_at=now() if status != CampaignStatus.DRAFT else None,
        **fields,
    )
    session.add(campaign)
    session.flush()
    return campaign


def add_deliveries(
    session: Session,
    campaign: Campaign,
    subscribers: Sequence[Subscriber] = (),
    *,
    anonymous: int = 0,
    status: DeliveryStatus = DeliveryStatus.ACCEPTED,
) -> list[int]:
    """Insert one delivery per subscriber plus ``anonymous`` extra ones; return their ids."""
    rows = [
        {"campaign_id": campaign.id, "subscriber_id": s.id, "address": s.email} for s in subscribers
    ]
    rows += [
        {"campaign_id": campaign.id, "subscriber_id": None, "address": f"anon{i}@example.net"}
        for i in range(anonymous)
    ]
    for row in rows:
        row.update(status=status, attempts=1, last_error="", updated_at=now())
    ids = session.scalars(
        sa.insert(Delivery).returning(Delivery.id, sort_by_parameter_order=True), rows
    ).all()
    campaign.recipients = len(rows)
    session.flush()
    return list(ids)


def audience_fixture(session: Session, count: int = 3) -> tuple[Any, list[Subscriber]]:
    """Create a topic with ``count`` confirmed subscribers."""
    topic = make_topic(session)
    readers = [make_subscriber(session, topics=[topic]) for _ in range(count)]
    return topic, readers


def event(
    kind: str, delivery_id: int | None, campaign_id: int | None, email: str, n: int, **fields: Any
) -> dict[str, Any]:
    """Build one SendGrid event element about a delivery."""
    element: dict[str, Any] = {
        "email": email,
        "timestamp": int(now().timestamp()) - 60 + n,
        "event": kind,
        "sg_event_id": f"evt-{kind}-{delivery_id}-{n}",
        "sg_message_id": f"msg{delivery_id}.filter0001.1.2",
        "ip": "203.0.113.9",
        "useragent": "Mozilla/5.0",
    }
    if campaign_id is not None:
        element["campaign_id"] = str(campaign_id)
    if delivery_id is not None:
        element["delivery_id"] = str(delivery_id)
    element.update(fields)
    return element


@pytest.fixture
def post_events(client: FlaskClient, signer: SendGridSigner) -> Callable[..., TestResponse]:
    """Return a function posting signed events (a list, or raw bytes) to the webhook."""

    def post(payload: list[Any] | bytes, headers: dict[str, str] | None = None) -> TestResponse:
        body = payload if isinstance(payload, bytes) else orjson.dumps(payload)
        signed = signer.headers(body, now()) if headers is None else headers
        # buffered: the test client then closes the response, which runs the processing.
        return client.post(
            "/webhooks/sendgrid",
            data=body,
            headers=signed,
            content_type="application/json",
            buffered=True,
        )

    return post


def count_rows(session: Session, model: type[Any]) -> int:
    """Count ``model``'s rows and end the read (SQLite: a reader must not block the app)."""
    session.expire_all()
    count = session.scalar(sa.select(sa.func.count()).select_from(model)) or 0
    session.rollback()
    return count


def stored_nothing(session: Session) -> bool:
    return count_rows(session, DeliveryEvent) == 0 and count_rows(session, WebhookBatch) == 0


def event_state(session: Session, delivery_id: int) -> str | None:
    session.expire_all()
    state = session.scalar(sa.select(Delivery.event_state).where(Delivery.id == delivery_id))
    session.rollback()
    return state


def dsn_message(
    campaign_id: int,
    subscriber_id: int,
    recipient: str,
    *,
    status: str = "5.1.1",
    action: str = "failed",
    secret: str = SECRET,
) -> bytes:
    """Build a Postfix-style DSN about the message Pinwheel sent to ``recipient``."""
    message_id = make_message_id(campaign_id, subscriber_id, secret, DOMAIN)
    return f"""\
Return-Path: <>
Date: Sat, 21 Nov 2026 15:00:03 -0500
From: MAILER-DAEMON@mx1.example.net (Mail Delivery System)
Subject: Undelivered Mail Returned to Sender
To: bounces@pinwheel.example.org
MIME-Version: 1.0
Content-Type: multipart/report; report-type=delivery-status; boundary="BOUNDARY"
Message-Id: <20261121200003.4Xk2@mx1.example.net>

--BOUNDARY
Content-Type: text/plain; charset=us-ascii

Your message could not be delivered.

--BOUNDARY
Content-Type: message/delivery-status

Reporting-MTA: dns; mx1.example.net
Arrival-Date: Sat, 21 Nov 2026 15:00:01 -0500

Final-Recipient: rfc822; {recipient}
Original-Recipient: rfc822; {recipient}
Action: {action}
Status: {status}
Diagnostic-Code: smtp; 550 {status} <{recipient}>: Recipient address rejected

--BOUNDARY
Content-Type: text/rfc822-headers

From: Pinwheel Newsletters <newsletters@pinwheel.example.org>
To: {recipient}
Subject: News
Message-ID: {message_id}

--BOUNDARY--
""".replace("\n", "\r\n").encode()


def add_event(
    session: Session,
    campaign: Campaign,
    delivery_id: int,
    kind: str,
    at: datetime,
    **fields: Any,
) -> None:
    """Store one provider event as the webhook would, at a chosen time."""
    session.add(
        DeliveryEvent(
            provider_event_id=f"evt-{next(_numbers)}",
            campaign_id=campaign.id,
            delivery_id=delivery_id,
            kind=kind,
            occurred_at=at,
            **fields,
        )
    )
    session.flush()
