"""Builders for the send pipeline's tests: a sendable issue, an audience, a campaign."""

from __future__ import annotations

import copy
import itertools
from collections.abc import Callable

import pytest
from sqlalchemy.orm import Session

from campaigns.issues.models import Issue
from campaigns.sending.models import Campaign
from campaigns.sending.runner import BatchRunner
from campaigns.sending.service import create_campaign
from engine.config import Settings
from engine.db import Database
from engine.delivery.memory import MemoryBackend
from subscribers.models import Topic
from tests.campaigns.seed_issues import SPOTLIGHT_000
from tests.factories import make_subscriber, make_topic

_numbers = itertools.count(1)


def make_issue(session: Session, **content_changes: object) -> Issue:
    """Create an issue whose content passes the pre-send checks (unless changed)."""
    n = next(_numbers)
    content = copy.deepcopy(SPOTLIGHT_000)
    content.update(content_changes)
    issue = Issue(slug=f"issue-{n}", title=content["title"], layout="spotlight", content=content)
    session.add(issue)
    session.flush()
    return issue


def make_audience(session: Session, topic: Topic, count: int, prefix: str = "reader") -> list[int]:
    """Create ``count`` confirmed subscribers of ``topic``; return their ids."""
    return [
        make_subscriber(session, f"{prefix}{n}@example.com", topics=[topic], name=f"Reader {n}").id
        for n in range(count)
    ]


@pytest.fixture
def topic(session: Session) -> Topic:
    return make_topic(session, slug="practice")


@pytest.fixture
def new_campaign(session: Session, settings: Settings, topic: Topic) -> Callable[..., Campaign]:
    """Return a builder of committed draft campaigns to ``topic`` (or the given topics)."""

    def build(topics: list[Topic] | None = None, **fields: object) -> Campaign:
        issue = make_issue(session)
        campaign = create_campaign(session, issue, topics or [topic], settings=settings, **fields)
        session.commit()
        return campaign

    return build


@pytest.fixture
def batch_runner(database: Database, settings: Settings, outbox: MemoryBackend) -> BatchRunner:
    """A batch runner on the memory backend."""
    return BatchRunner(database, settings, outbox, worker="test-worker")


def bulk_audience(session: Session, topic: Topic, count: int) -> None:
    """Insert ``count`` confirmed subscribers of ``topic`` quickly (Core, not ORM)."""
    import sqlalchemy as sa

    from engine.clock import now
    from subscribers.models import Subscriber, Subscription

    stamp = now()
    session.execute(
        sa.insert(Subscriber),
        [
            {
                "email": f"bulk{n}@example.com",
                "name": f"Bulk Reader {n}",
                "status": "active",
                "attributes": {},
                "created_at": stamp,
                "updated_at": stamp,
            }
            for n in range(count)
        ],
    )
    ids = session.scalars(sa.select(Subscriber.id).where(Subscriber.email.like("bulk%")))
    session.execute(
        sa.insert(Subscription),
        [
            {"subscriber_id": i, "topic_id": topic.id, "status": "confirmed", "created_at": stamp}
            for i in ids
        ],
    )


@pytest.fixture(autouse=True)
def _no_approval_needed(app) -> None:
    """Let these tests send large audiences; the approval gate has tests of its own."""
    settings = app.extensions["pinwheel.settings"]
    app.extensions["pinwheel.settings"] = settings.with_overrides(APPROVAL_THRESHOLD=10**9)


def started_campaign(
    session: Session,
    new_campaign: Callable[..., Campaign],
    topic: Topic,
    recipients: int,
    batch_size: int,
) -> Campaign:
    """Give ``topic`` ``recipients`` readers, then create and start a campaign to them."""
    from campaigns.sending.models import CampaignStatus
    from campaigns.sending.service import start_campaign
    from engine.web import get_settings

    bulk_audience(session, topic, recipients)
    session.commit()
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
