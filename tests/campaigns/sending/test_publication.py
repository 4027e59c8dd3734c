"""An issue is public from the start of its send: its first readers open the web view at once."""

from __future__ import annotations

from flask.testing import FlaskClient
from sqlalchemy.orm import Session

from campaigns.demo.content import SPOTLIGHT_ISSUE
from campaigns.issues.editions import create_edition
from campaigns.issues.models import Issue, IssueStatus
from campaigns.issues.service import create_issue, save_revision
from campaigns.sending.models import Campaign, CampaignStatus
from campaigns.sending.runner import BatchRunner
from campaigns.sending.service import (
    cancel_campaign,
    create_campaign,
    pause_campaign,
    start_campaign,
)
from engine.config import Settings
from engine.db import Database
from engine.delivery.memory import MemoryBackend
from subscribers.models import Topic
from tests.campaigns.sending.conftest import make_audience, make_issue
from tests.factories import login, make_subscriber, make_user


def _start(session: Session, settings: Settings, campaign_id: int) -> None:
    relaxed = settings.with_overrides(APPROVAL_THRESHOLD=10**9)
    assert start_campaign(
        session, campaign_id, expected=CampaignStatus.DRAFT, settings=relaxed, batch_size=2
    )
    session.commit()


def _started(session: Session, settings: Settings, topic: Topic, issue: Issue) -> Campaign:
    campaign = create_campaign(session, issue, [topic], settings=settings)
    session.commit()
    _start(session, settings, campaign.id)
    return campaign


def _is_public(client: FlaskClient, slug: str) -> bool:
    web_view = client.get(f"/view/{slug}").status_code
    listed = f"/view/{slug}" in client.get("/archive").get_data(as_text=True)
    assert (web_view == 200) == listed, "the archive lists exactly the issues it serves"
    return web_view == 200


def test_the_web_view_is_public_while_the_send_runs(
    session: Session, settings: Settings, client: FlaskClient, topic: Topic
) -> None:
    make_audience(session, topic, 5)
    issue = make_issue(session)
    assert not _is_public(client, issue.slug)

    campaign = _started(session, settings, topic, issue)

    session.refresh(issue)
    assert issue.published_at == session.get(Campaign, campaign.id).started_at
    assert _is_public(client, issue.slug)
    assert client.get(f"/view/{issue.slug}/email").status_code == 200
    editor = make_user(session, "editor")
    session.commit()
    login(client, editor)
    staff_page = client.get(f"/admin/campaigns/{campaign.id}").get_data(as_text=True)
    assert f'href="/view/{issue.slug}">Web view</a>' in staff_page
    # A pause keeps it: the first batches' readers already hold the link.
    pause_campaign(session, campaign.id)
    session.commit()
    assert _is_public(client, issue.slug)


def test_a_cancelled_send_takes_the_issue_back_unless_another_send_went_out(
    session: Session,
    settings: Settings,
    client: FlaskClient,
    topic: Topic,
    database: Database,
    outbox: MemoryBackend,
) -> None:
    make_audience(session, topic, 3)
    issue = make_issue(session)
    first = _started(session, settings, topic, issue)
    cancel_campaign(session, first.id)
    session.commit()
    session.refresh(issue)
    assert issue.published_at is None
    assert not _is_public(client, issue.slug)

    second = _started(session, settings, topic, issue)
    runner = BatchRunner(database, settings, outbox, worker="test")
    while runner.run_next(second.id):
        pass
    third = _started(session, settings, topic, issue)
    cancel_campaign(session, third.id)
    session.commit()
    session.refresh(issue)
    assert issue.published_at is not None
    assert _is_public(client, issue.slug)


def test_the_editions_a_send_carries_are_public_from_its_start(
    session: Session, settings: Settings, client: FlaskClient, topic: Topic
) -> None:
    english = create_issue(session, SPOTLIGHT_ISSUE, topics=[topic])
    spanish = create_edition(session, english, "es", "test")
    save_revision(session, spanish, dict(spanish.content), base_revision=1, saved_by_id=None)
    spanish.status = IssueStatus.APPROVED
    make_subscriber(session, "ana@example.com", topics=[topic], language="es")
    campaign = _started(session, settings, topic, english)

    assert _is_public(client, spanish.slug) and _is_public(client, english.slug)
    cancel_campaign(session, campaign.id)
    session.commit()
    assert not _is_public(client, spanish.slug) and not _is_public(client, english.slug)
