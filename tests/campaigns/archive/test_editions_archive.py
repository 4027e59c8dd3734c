"""A campaign with a Spanish edition publishes both: web views, archive and feeds per language."""

from __future__ import annotations

import xml.etree.ElementTree as ET
from pathlib import Path

import pytest
from flask.testing import FlaskClient
from sqlalchemy.orm import Session

from campaigns.demo.content import SPOTLIGHT_ISSUE
from campaigns.issues.editions import create_edition
from campaigns.issues.models import Issue, IssueStatus
from campaigns.issues.service import create_issue, save_revision
from campaigns.sending.models import CampaignStatus
from campaigns.sending.runner import BatchRunner
from campaigns.sending.service import create_campaign, start_campaign
from engine.config import Settings
from engine.db import Database
from engine.delivery.memory import MemoryBackend
from tests.factories import make_subscriber, make_topic
from tests.html_validator import html_errors

ATOM = "{http://www.w3.org/2005/Atom}"
SPANISH_TITLE = "Enfoque: la trata con fines sexuales"


@pytest.fixture
def sent(
    session: Session, settings: Settings, database: Database, outbox: MemoryBackend
) -> dict[str, Issue]:
    topic = make_topic(session, "practice", name="Practice")
    english = create_issue(session, SPOTLIGHT_ISSUE, topics=[topic])
    spanish = create_edition(session, english, "es", "test")
    content = {**spanish.content, "title": SPANISH_TITLE, "subject": "Enfoque en español"}
    save_revision(session, spanish, content, base_revision=1, saved_by_id=None)
    spanish.status = IssueStatus.APPROVED
    make_subscriber(session, "ana@example.com", topics=[topic], language="es")
    make_subscriber(session, "carol@example.com", topics=[topic], language="en")
    campaign = create_campaign(session, english, [topic], settings=settings)
    session.commit()
    relaxed = settings.with_overrides(APPROVAL_THRESHOLD=10**9)
    assert start_campaign(
        session, campaign.id, expected=CampaignStatus.DRAFT, settings=relaxed, batch_size=5
    )
    session.commit()
    runner = BatchRunner(database, relaxed, outbox, worker="test")
    while runner.run_next(campaign.id):
        pass
    session.expire_all()
    issues = {"en": session.get(Issue, english.id), "es": session.get(Issue, spanish.id)}
    session.commit()
    return issues


def test_each_edition_is_published_with_links_to_the_other(
    client: FlaskClient, sent: dict[str, Issue], outbox: MemoryBackend, tmp_path: Path
) -> None:
    english, spanish = sent["en"], sent["es"]
    assert english.published_at is not None and spanish.published_at is not None
    page = client.get(f"/view/{spanish.slug}").get_data(as_text=True)
    home = "https://news.example.org/view"
    assert f'<link rel="alternate" hreflang="en" href="{home}/{english.slug}">' in page
    assert f'hreflang="es" href="{home}/{spanish.slug}"' in page
    assert f'hreflang="en" lang="en">{english.title}</a>' in page
    assert html_errors({"webview": page}, tmp_path) == []
    email = client.get(f"/view/{spanish.slug}/email").get_data(as_text=True)
    assert '<html lang="es"' in email and SPANISH_TITLE in email
    page = client.get(f"/view/{english.slug}").get_data(as_text=True)
    assert f'hreflang="es" lang="es">{SPANISH_TITLE}</a>' in page
    assert '<html lang="en"' in client.get(f"/view/{english.slug}/email").get_data(as_text=True)

    # The Spanish reader's "view it as a web page" link opens the Spanish edition, as sent.
    spanish_message = next(m for m in outbox.sent if m.to_address == "ana@example.com")
    assert f"https://news.example.org/view/{spanish.slug}?t=" in spanish_message.html
    token = spanish_message.html.split(f"/view/{spanish.slug}?t=", 1)[1].split('"', 1)[0]
    personal = client.get(f"/view/{spanish.slug}/email?t={token}").get_data(as_text=True)
    assert '<html lang="es"' in personal and "/unsubscribe/" in personal
    assert '<html lang="es"' in client.get(f"/view/{spanish.slug}?t={token}").get_data(as_text=True)


def test_the_archive_lists_editions_under_their_language_and_feeds_per_language(
    client: FlaskClient, sent: dict[str, Issue], tmp_path: Path
) -> None:
    english, spanish = sent["en"], sent["es"]
    archive = client.get("/archive").get_data(as_text=True)
    assert archive.count(f'href="/view/{spanish.slug}"') == 1
    assert "In Spanish:" in archive and "Feed of the issues in Spanish" in archive
    assert "En español:" in client.get("/archive?lang=es").get_data(as_text=True)
    assert html_errors({"archive": archive}, tmp_path) == []

    feed = ET.fromstring(client.get("/archive/es/feed.atom").data)
    assert feed.get("{http://www.w3.org/XML/1998/namespace}lang") == "es"
    assert [e.findtext(f"{ATOM}title") for e in feed.iter(f"{ATOM}entry")] == [SPANISH_TITLE]
    everything = ET.fromstring(client.get("/archive/feed.atom").data)
    titles = [e.findtext(f"{ATOM}title") for e in everything.iter(f"{ATOM}entry")]
    assert titles == [english.title]
