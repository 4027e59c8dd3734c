"""Aggregate tracking is chosen per campaign on the compose page, off by default."""

from __future__ import annotations

from dataclasses import dataclass

import pytest
import sqlalchemy as sa
from flask.testing import FlaskClient
from sqlalchemy.orm import Session

from campaigns.events.models import TrackedLink
from campaigns.scheduling.starting import send_now
from campaigns.sending.models import Campaign
from engine.config import Settings
from tests.campaigns.sending.conftest import make_issue
from tests.factories import login, make_subscriber, make_topic, make_user


@dataclass(frozen=True)
class Composing:
    issue_id: int
    topic_id: int


@pytest.fixture
def composing(session: Session, client: FlaskClient, csrf_disabled) -> Composing:
    topic = make_topic(session, slug="adoption")
    make_subscriber(session, topics=[topic])
    issue = make_issue(session)
    editor = make_user(session, "editor")
    session.commit()
    session.expunge(editor)
    login(client, editor)
    return Composing(issue.id, topic.id)


def _compose(client: FlaskClient, session: Session, composing: Composing, **extra: str) -> int:
    form = {
        "topic_ids": str(composing.topic_id),
        "mode": "absolute",
        "local": "2099-07-01T09:00",
        "tz": "America/New_York",
        **extra,
    }
    response = client.post(f"/admin/issues/{composing.issue_id}/campaigns/new", data=form)
    assert response.status_code == 302, response.get_data(as_text=True)
    campaign_id = session.scalars(sa.select(Campaign.id)).one()
    session.rollback()
    return campaign_id


def _start(session: Session, settings: Settings, campaign_id: int) -> Campaign:
    campaign = send_now(session, campaign_id, settings, batch_size=10)
    session.commit()
    return campaign


def test_the_compose_page_offers_tracking_unticked(
    client: FlaskClient, composing: Composing
) -> None:
    page = client.get(f"/admin/issues/{composing.issue_id}/campaigns/new").get_data(as_text=True)
    assert '<input type="checkbox" name="tracking" value="on" aria-describedby' in page
    assert 'name="tracking" value="on" checked' not in page


def test_without_the_box_links_stay_as_written(
    client: FlaskClient, session: Session, settings: Settings, composing: Composing
) -> None:
    campaign_id = _compose(client, session, composing)
    campaign = _start(session, settings, campaign_id)
    assert campaign.tracking is False
    assert "/t/c/" not in campaign.html and "/t/o/" not in campaign.html
    assert session.scalar(sa.select(sa.func.count()).select_from(TrackedLink)) == 0


def test_with_the_box_the_start_counts_links(
    client: FlaskClient, session: Session, settings: Settings, composing: Composing
) -> None:
    campaign_id = _compose(client, session, composing, tracking="on")
    draft = session.get_one(Campaign, campaign_id)
    assert draft.tracking is True and "/t/c/" not in draft.html  # rewritten at the start only
    session.rollback()
    campaign = _start(session, settings, campaign_id)
    assert f"https://news.example.org/t/c/{campaign_id}/1" in campaign.html
    assert f"/t/o/{campaign_id}.gif" in campaign.html
    assert session.scalar(sa.select(sa.func.count()).select_from(TrackedLink)) >= 1
