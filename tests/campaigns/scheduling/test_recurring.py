"""Annual series drafts, editor notifications, and the purge of stale sign-ups."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

import pytest
import sqlalchemy as sa
import time_machine
from flask import Flask
from sqlalchemy.orm import Session

from campaigns.issues.models import Issue
from campaigns.issues.service import create_issue
from campaigns.jobs import prepare_recurring_campaigns
from campaigns.observances.models import Notification
from campaigns.scheduling.recurring import create_series, prepare_recurring_drafts
from engine.config import Settings
from engine.delivery.memory import MemoryBackend
from engine.errors import NotFound, ValidationFailed
from subscribers.housekeeping import purge_stale_signups
from subscribers.models import Subscriber, Subscription, SubscriptionStatus
from tests.factories import login, make_subscriber, make_topic, make_user
from tests.system_emails import assert_system_email

CONTENT = {
    "title": "Child Abuse Prevention Month 2026",
    "subject": "April 2026: prevention starts with us",
    "layout": "spotlight",
    "blocks": [{"id": "p1", "type": "paragraph", "text": "Pinwheels everywhere."}],
}


def _series(session: Session) -> int:
    topic = make_topic(session, slug="child-abuse-prevention")
    issue = create_issue(session, CONTENT, topics=[topic])
    series = create_series(
        session,
        observance_slug="child-abuse-prevention-month",
        source_issue_id=issue.id,
        weeks_before=6,
        topics=["child-abuse-prevention"],
        rule="first-business-day 10:00",
    )
    return series.id


def test_draft_is_cloned_once_weeks_before_the_window(session: Session):
    _series(session)
    # April 1, 2027 minus six weeks is February 18.
    assert prepare_recurring_drafts(session, date(2027, 2, 17)) == []
    drafts = prepare_recurring_drafts(session, date(2027, 2, 18))
    assert len(drafts) == 1
    assert prepare_recurring_drafts(session, date(2027, 2, 19)) == []
    issue = session.get(Issue, drafts[0].issue_id)
    assert issue.title == "Child Abuse Prevention Month 2027"
    assert issue.content["subject"] == "April 2027: prevention starts with us"
    assert issue.observance_slug == "child-abuse-prevention-month"
    assert [t.slug for t in issue.topics] == ["child-abuse-prevention"]
    assert session.scalar(sa.select(Notification.message)).startswith(
        "A draft for National Child Abuse Prevention Month 2027"
    )


def test_series_validation(session: Session):
    topic = make_topic(session)
    issue = create_issue(session, CONTENT, topics=[topic])
    good = {
        "observance_slug": "mentoring-month",
        "source_issue_id": issue.id,
        "weeks_before": 4,
        "topics": [topic.slug],
        "rule": "start 09:00",
    }
    with pytest.raises(NotFound):
        create_series(session, **{**good, "observance_slug": "nope"})
    with pytest.raises(ValidationFailed):
        create_series(session, **{**good, "weeks_before": 99})
    with pytest.raises(ValidationFailed):
        create_series(session, **{**good, "rule": "later"})
    with pytest.raises(ValidationFailed):
        create_series(session, **{**good, "topics": ["ghost"]})


def test_job_emails_editors_and_lists_on_dashboard(
    app: Flask, session: Session, settings: Settings, outbox: MemoryBackend, client
):
    _series(session)
    editor = make_user(session, role="editor")
    make_user(session, role="approver")
    session.commit()
    with time_machine.travel(datetime(2027, 2, 20, 12, tzinfo=UTC)):
        prepare_recurring_campaigns(app)
    assert [m.to_address for m in outbox.sent] == [editor.email]
    assert "recurring draft" in outbox.sent[0].subject
    assert "https://news.example.org/admin/issues/" in outbox.sent[0].text
    assert_system_email(
        outbox.sent[0],
        settings,
        link_prefix="https://news.example.org/admin/issues/",
        says=("New recurring drafts are waiting for you",),
    )
    login(client, editor)
    page = client.get("/admin/calendar/").get_data(as_text=True)
    assert "A draft for National Child Abuse Prevention Month 2027" in page


def test_purge_stale_signups(session: Session):
    topic = make_topic(session)
    old = datetime(2026, 1, 1, tzinfo=UTC)
    stale = make_subscriber(
        session, topics=[topic], created_at=old, subscription_status=SubscriptionStatus.UNCONFIRMED
    )
    fresh = make_subscriber(
        session, topics=[topic], subscription_status=SubscriptionStatus.UNCONFIRMED
    )
    reader = make_subscriber(session, topics=[topic], created_at=old, confirmed_at=old)
    other = make_topic(session)
    session.add(
        Subscription(
            subscriber_id=reader.id,
            topic_id=other.id,
            status=SubscriptionStatus.UNCONFIRMED,
            created_at=old,
        )
    )
    session.flush()
    report = purge_stale_signups(session, created_before=datetime.now(UTC) - timedelta(days=30))
    assert report.subscribers == 1
    assert report.subscriptions == 2
    remaining = set(session.scalars(sa.select(Subscriber.id)))
    assert remaining == {fresh.id, reader.id}
    assert stale.id not in remaining
    statuses = session.scalars(
        sa.select(Subscription.status).where(Subscription.subscriber_id == reader.id)
    ).all()
    assert statuses == [SubscriptionStatus.CONFIRMED]
