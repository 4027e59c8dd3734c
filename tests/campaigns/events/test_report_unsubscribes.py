"""Unsubscribes through the email's own link count in the campaign's report at once."""

from __future__ import annotations

import html
import re
from collections.abc import Callable
from urllib.parse import urlsplit

import pytest
from flask.testing import FlaskClient
from sqlalchemy.orm import Session

from campaigns.events.reports import campaign_report
from campaigns.scheduling.starting import send_now
from campaigns.sending.models import Campaign
from campaigns.sending.recovery import finish_if_complete
from campaigns.sending.runner import BatchRunner
from campaigns.sending.service import create_campaign
from engine.config import Settings
from engine.db import Database
from engine.delivery.memory import MemoryBackend
from tests.campaigns.events.conftest import event
from tests.campaigns.sending.conftest import make_audience, make_issue
from tests.factories import login, make_topic, make_user

ONE_CLICK = {"List-Unsubscribe": "One-Click"}


def _sent(session: Session, database: Database, settings: Settings, outbox: MemoryBackend) -> int:
    """Send a campaign to three readers through the memory backend; return its id."""
    topic = make_topic(session, slug="kinship")
    make_audience(session, topic, 3)
    campaign = create_campaign(session, make_issue(session), [topic], settings=settings)
    send_now(session, campaign.id, settings, batch_size=10)
    session.commit()
    runner = BatchRunner(database, settings, outbox, worker="report-test")
    while runner.run_next(campaign.id):
        pass
    with database.session() as db_session:
        finish_if_complete(db_session, campaign.id)
        db_session.commit()
    return campaign.id


def _unsubscribe_path(outbox: MemoryBackend, address: str) -> str:
    """Return the path of the HTTPS link in ``List-Unsubscribe`` of the message to ``address``."""
    [message] = [m for m in outbox.sent if m.to_address == address]
    url = re.search(r"<(https://[^>]+)>", message.headers["List-Unsubscribe"])
    assert url is not None
    return urlsplit(url.group(1)).path


def _unsubscribes_row(client: FlaskClient, campaign_id: int) -> str:
    page = client.get(f"/admin/campaigns/{campaign_id}/report").get_data(as_text=True)
    row = re.search(r'<th scope="row">Unsubscribes</th><td>([^<]*)</td>', page)
    assert row is not None
    return html.unescape(row.group(1))


@pytest.mark.parametrize("form", [{}, ONE_CLICK], ids=["page", "one-click"])
def test_an_unsubscribe_through_the_email_shows_in_the_report(
    session: Session,
    database: Database,
    settings: Settings,
    outbox: MemoryBackend,
    client: FlaskClient,
    form: dict[str, str],
) -> None:
    campaign_id = _sent(session, database, settings, outbox)
    editor = make_user(session, "editor")
    session.commit()
    session.expunge(editor)
    login(client, editor)
    assert _unsubscribes_row(client, campaign_id) == "0"
    response = client.post(_unsubscribe_path(outbox, "reader1@example.com"), data=form)
    assert response.status_code == 200
    assert _unsubscribes_row(client, campaign_id) == "1"


def test_the_link_and_the_providers_event_count_one_reader_once(
    session: Session,
    database: Database,
    settings: Settings,
    outbox: MemoryBackend,
    client: FlaskClient,
    post_events: Callable,
) -> None:
    campaign_id = _sent(session, database, settings, outbox)
    other_id = _sent_again(session, settings)
    path = _unsubscribe_path(outbox, "reader0@example.com")
    assert client.post(path, data=ONE_CLICK).status_code == 200
    [message] = [m for m in outbox.sent if m.to_address == "reader0@example.com"]
    reported = event("unsubscribe", message.delivery_id, campaign_id, message.to_address, 1)
    assert post_events([reported]).status_code == 200
    session.expire_all()
    assert campaign_report(session, campaign_id, "UTC").counts.unsubscribes == 1
    # The reader also got another campaign, but left through this one's link.
    assert campaign_report(session, other_id, "UTC").counts.unsubscribes == 0


def _sent_again(session: Session, settings: Settings) -> int:
    """Start a second campaign to the same topic (its deliveries frozen, nothing sent)."""
    campaign = session.query(Campaign).one()
    second = create_campaign(session, campaign.issue, campaign.topics, settings=settings)
    send_now(session, second.id, settings, batch_size=10)
    session.commit()
    return second.id
