"""Digests in Spanish: a variant per set of topics and language, chosen in the freeze's SQL."""

from __future__ import annotations

from datetime import datetime, timedelta

import sqlalchemy as sa
from sqlalchemy.orm import Session

from campaigns.digests.runs import run_digest
from campaigns.digests.windows import latest_window
from campaigns.issues.editions import create_edition
from campaigns.issues.models import Issue, IssueStatus
from campaigns.issues.service import save_revision
from campaigns.sending.models import Campaign, CampaignStatus, CampaignVariant, Delivery
from campaigns.sending.runner import BatchRunner
from campaigns.sending.service import create_campaign, start_campaign
from engine.clock import now
from engine.config import Settings
from engine.delivery.memory import MemoryBackend
from engine.i18n import translations
from engine.web import get_settings
from subscribers.audience import digest_audience_select, language_of_key, topic_key_of
from subscribers.models import Frequency, Topic
from tests.campaigns.digests.conftest import _approve, make_reader
from tests.campaigns.sending.conftest import make_issue
from tests.factories import make_topic

ZONE = "America/New_York"
SPANISH = translations("es")


def _bulletin(
    session: Session,
    settings: Settings,
    topic: Topic,
    title: str,
    started_at: datetime,
    *,
    spanish: str = "",
) -> tuple[Campaign, Issue | None]:
    """Send a bulletin to ``topic``, with an approved Spanish edition titled ``spanish``."""
    issue = make_issue(session, title=title, preheader=f"What {title} is about.")
    _approve(session, issue, [topic.id], None)
    edition = None
    if spanish:
        edition = create_edition(session, issue, "es", "test")
        content = {**edition.content, "title": spanish, "preheader": f"De qué trata {spanish}."}
        save_revision(session, edition, content, base_revision=1, saved_by_id=None)
        edition.status = IssueStatus.APPROVED
    campaign = create_campaign(session, issue, [topic], settings=settings)
    session.commit()
    assert start_campaign(
        session, campaign.id, expected=CampaignStatus.DRAFT, settings=get_settings()
    )
    campaign.started_at = started_at
    session.commit()
    return campaign, edition


def test_spanish_readers_get_a_spanish_digest_with_the_editions_sent(
    session: Session, settings: Settings, database, outbox: MemoryBackend
) -> None:
    adoption = make_topic(session, "adoption", name="Adoption",
                          translations={"es": {"name": "Adopción"}})  # fmt: skip
    foster = make_topic(session, "foster", name="Foster care")
    for email, language in (("ana@example.com", "es"), ("beto@example.com", "es-MX"),
                            ("carol@example.com", "en")):  # fmt: skip
        make_reader(session, email, [adoption, foster], Frequency.DAILY).language = language
    session.commit()
    window = latest_window(Frequency.DAILY, now(), ZONE, 5)
    inside = window.start + timedelta(hours=2)
    _campaign, edition = _bulletin(session, settings, adoption, "Adoption news", inside,
                                   spanish="Noticias de adopción")  # fmt: skip
    _bulletin(session, settings, foster, "Foster update", inside + timedelta(hours=1))
    # An edition sent with its bulletin but changed since (back to draft) is not listed.
    later = inside + timedelta(hours=2)
    _campaign, changed = _bulletin(
        session, settings, foster, "Court dates", later, spanish="Fechas judiciales"
    )
    assert edition is not None and changed is not None
    changed.status = IssueStatus.DRAFT
    runner = BatchRunner(database, settings, outbox, worker="test")
    while runner.run_next():
        pass
    outbox.sent.clear()

    run = run_digest(session, window, settings, started_by="test", batch_size=10)
    session.commit()
    assert run is not None and run.recipients == 3
    while runner.run_next():
        pass
    sent = {message.to_address: message for message in outbox.sent}
    assert sorted(sent) == ["ana@example.com", "beto@example.com", "carol@example.com"]

    spanish = sent["ana@example.com"]
    assert spanish.subject.startswith("Resumen diario, ")
    assert spanish.subject.endswith(": 3 boletines nuevos")
    assert '<html lang="es"' in spanish.html
    assert ">Adopción</h2>" in spanish.html and ">Foster care</h2>" in spanish.html
    assert "Noticias de adopción" in spanish.html and "De qué trata Noticias" in spanish.html
    assert f'/view/{edition.slug}"' in spanish.html and "Adoption news" not in spanish.html
    # No approved edition: the English bulletin, marked as English for screen readers.
    assert "Foster update" in spanish.html and "Court dates" in spanish.html
    assert "Fechas judiciales" not in spanish.html
    assert spanish.html.count('font-weight:bold" lang="en"><a href') == 2
    assert "Lo que le enviamos en el último día" in spanish.html
    assert "Recibe estos boletines en un resumen diario." in spanish.text
    assert "¿Se lo reenvió alguien?" in " ".join(spanish.text.split())
    for footer in ("Manage preferences", "Unsubscribe"):
        assert SPANISH.gettext(footer) in spanish.html and footer not in spanish.text
    assert "Enviado el " in spanish.text and " de " in spanish.subject
    # es-MX reads the same Spanish variant.
    assert sent["beto@example.com"].subject == spanish.subject
    assert "Noticias de adopción" in sent["beto@example.com"].html

    english = sent["carol@example.com"]
    assert english.subject.startswith("Daily digest, ") and "3 new bulletins" in english.subject
    assert '<html lang="en"' in english.html
    assert ">Adoption</h2>" in english.html and "Adoption news" in english.html
    assert (
        "Noticias de adopción" not in english.html and f"/view/{edition.slug}" not in english.html
    )
    assert "What we sent in the last day" in english.html and "Unsubscribe" in english.text

    variants = dict(
        session.execute(
            sa.select(CampaignVariant.key, CampaignVariant.number).where(
                CampaignVariant.campaign_id == run.campaign_id
            )
        ).all()
    )
    assert sorted(variants) == ["3", "es|3"]
    batches = dict(
        session.execute(
            sa.select(Delivery.address, Delivery.batch_id).where(
                Delivery.campaign_id == run.campaign_id
            )
        ).all()
    )
    assert batches["ana@example.com"] == batches["beto@example.com"]
    assert batches["ana@example.com"] != batches["carol@example.com"]


def test_the_language_is_part_of_the_key_computed_in_sql(session: Session) -> None:
    one, two = make_topic(session, "one"), make_topic(session, "two")
    languages = {"a": "es", "b": "ES-mx", "c": "en", "d": "", "e": "fr"}
    for name, language in languages.items():
        make_reader(
            session, f"{name}@example.com", [one, two], Frequency.WEEKLY
        ).language = language
    session.flush()
    ids = [one.id, two.id]
    query = digest_audience_select(Frequency.WEEKLY, ids, ("es",)).subquery()
    keys = dict(session.execute(sa.select(query.c.email, query.c.topic_key)).all())
    spanish, english = topic_key_of(ids, ids, "es"), topic_key_of(ids, ids)
    assert keys == {"a@example.com": spanish, "b@example.com": spanish, "c@example.com": english,
                    "d@example.com": english, "e@example.com": english}  # fmt: skip
    assert spanish == "es|3" and language_of_key(spanish) == "es" and language_of_key("3") == ""
    # Without languages the keys are the English ones, as before.
    plain = digest_audience_select(Frequency.WEEKLY, ids).subquery()
    assert set(session.scalars(sa.select(plain.c.topic_key))) == {english}
