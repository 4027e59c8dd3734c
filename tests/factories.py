"""Factories: build rows with sensible defaults; tests override only what they care about."""

from __future__ import annotations

import itertools
from collections.abc import Sequence
from datetime import datetime
from typing import Any, TypeVar

import sqlalchemy as sa
from flask.testing import FlaskClient
from sqlalchemy.orm import Session

from campaigns.demo.content import SPOTLIGHT_ISSUE
from campaigns.issues.compiled import render_stored_issue
from campaigns.issues.models import Issue
from campaigns.issues.service import create_issue
from campaigns.sending.models import Campaign, CampaignStatus
from engine.config import Settings
from engine.users import StaffUser, create_user
from subscribers.models import (
    OptIn,
    Subscriber,
    SubscriberStatus,
    Subscription,
    SubscriptionStatus,
    Topic,
    TopicVisibility,
)

_sequence = itertools.count(1)
PASSWORD = "correct horse battery"
#: The address of the editor the ``editor_client`` fixture signs in.
EDITOR_EMAIL = "editor@agency.example.org"

_Row = TypeVar("_Row")


def make_user(session: Session, role: str = "admin", email: str | None = None) -> StaffUser:
    """Create a staff user whose password is ``PASSWORD``."""
    n = next(_sequence)
    return create_user(
        session, email=email or f"staff{n}@agency.example.org", password=PASSWORD, role=role
    )


def read_rows(session: Session, model: type[_Row]) -> list[_Row]:
    """Return every stored row of ``model`` in key order, detached, and end the read.

    Ending it matters on SQLite, where the session's open transaction holds the write lock
    that the next request of the code under test needs.
    """
    rows = list(session.scalars(sa.select(model).order_by(*sa.inspect(model).primary_key)))
    for row in rows:
        session.expunge(row)
    session.rollback()
    return rows


def make_topic(session: Session, slug: str | None = None, **fields: Any) -> Topic:
    n = next(_sequence)
    topic = Topic(
        slug=slug or f"topic-{n}",
        name=fields.pop("name", f"Topic {n}"),
        visibility=fields.pop("visibility", TopicVisibility.PUBLIC),
        opt_in=fields.pop("opt_in", OptIn.DOUBLE),
        **fields,
    )
    session.add(topic)
    session.flush()
    return topic


def make_subscriber(
    session: Session,
    email: str | None = None,
    *,
    topics: list[Topic] = (),  # type: ignore[assignment]
    subscription_status: SubscriptionStatus = SubscriptionStatus.CONFIRMED,
    **fields: Any,
) -> Subscriber:
    """Create a subscriber subscribed to ``topics`` (confirmed unless told otherwise)."""
    n = next(_sequence)
    subscriber = Subscriber(
        email=(email or f"reader{n}@example.com").lower(),
        name=fields.pop("name", f"Reader {n}"),
        status=fields.pop("status", SubscriberStatus.ACTIVE),
        consent_source=fields.pop("consent_source", "test"),
        **fields,
    )
    session.add(subscriber)
    session.flush()
    for topic in topics:
        session.add(
            Subscription(subscriber_id=subscriber.id, topic_id=topic.id, status=subscription_status)
        )
    session.flush()
    return subscriber


def login(client: FlaskClient, user: StaffUser) -> None:
    """Sign ``user`` in through the real login form (CSRF disabled by the caller or not)."""
    response = client.get("/admin/login")
    token = _csrf_token(response.get_data(as_text=True))
    response = client.post(
        "/admin/login",
        data={"email": user.email, "password": PASSWORD, "csrf_token": token},
    )
    assert response.status_code == 302, response.get_data(as_text=True)


def _csrf_token(page: str) -> str:
    marker = 'name="csrf_token" type="hidden" value="'
    start = page.find(marker)
    if start == -1:
        marker = 'name="csrf_token" value="'
        start = page.find(marker)
    if start == -1:
        return ""
    start += len(marker)
    return page[start : page.index('"', start)]


def csrf_token_from(page: str) -> str:
    """Return the CSRF token embedded in an HTML page."""
    return _csrf_token(page)


def make_sent_issue(
    session: Session,
    settings: Settings,
    title: str,
    published: datetime,
    topics: Sequence[Topic] = (),
) -> Issue:
    """Create an issue and the sent campaign that published it (it shows in the archive)."""
    issue = create_issue(session, {**SPOTLIGHT_ISSUE, "title": title}, topics=list(topics))
    rendered = render_stored_issue(settings, issue)
    session.add(
        Campaign(
            issue_id=issue.id,
            issue_revision=issue.revision,
            name=title,
            status=CampaignStatus.SENT,
            subject=title,
            from_address=settings.SENDER_ADDRESS,
            html=rendered.html,
            text=rendered.text,
            started_at=published,
        )
    )
    issue.published_at = published
    session.flush()
    return issue
