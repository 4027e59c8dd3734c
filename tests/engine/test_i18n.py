"""Readers' languages: complete catalogues, the page language, and Spanish pages without English."""

from __future__ import annotations

import re
from datetime import UTC, datetime
from pathlib import Path

import pytest
import sqlalchemy as sa
from babel.messages.catalog import Catalog, Message
from babel.messages.extract import extract_from_dir
from babel.messages.frontend import parse_mapping_cfg
from babel.messages.pofile import read_po
from flask.testing import FlaskClient
from sqlalchemy.orm import Session

from engine.config import PROJECT_ROOT, Settings
from engine.i18n import CODES, COOKIE, TRANSLATIONS, supported
from subscribers.links import SubscriberLinks
from subscribers.models import Subscriber, SubscriberEvent
from tests.factories import make_sent_issue, make_subscriber, make_topic

CATALOGUES = sorted(TRANSLATIONS.glob("*/LC_MESSAGES/messages.po"))


def catalogue(path: Path) -> Catalog:
    with path.open("rb") as file:
        return read_po(file)


def test_every_reader_language_but_english_has_a_catalogue() -> None:
    assert {path.parts[-3] for path in CATALOGUES} == set(CODES) - {"en"}


@pytest.mark.parametrize("path", CATALOGUES, ids=lambda p: p.parts[-3])
def test_catalogues_are_complete_without_fuzzy_entries(path: Path) -> None:
    found = catalogue(path)
    entries = [m for m in found if m.id]
    untranslated = [m.id for m in entries if not _translated(m, found.num_plurals)]
    fuzzy = [m.id for m in entries if m.fuzzy]
    assert untranslated == [], f"untranslated in {path}"
    assert fuzzy == [], f"fuzzy in {path}"
    # Placeholders must survive translation: babel's checkers compare them.
    problems = [(m.id, [str(e) for e in errors]) for m, errors in found.check() if errors]
    assert problems == []


@pytest.mark.parametrize("path", CATALOGUES, ids=lambda p: p.parts[-3])
def test_catalogues_hold_every_string_readers_see(path: Path) -> None:
    """A string added to a page without ``make translations-update`` would show in English."""
    with (PROJECT_ROOT / "babel.cfg").open() as config:
        method_map, options_map = parse_mapping_cfg(config)
    extracted = {
        message if isinstance(message, str) else message[0]
        for _file, _line, message, _comments, _context in extract_from_dir(
            str(PROJECT_ROOT),
            method_map,
            options_map,
            keywords={
                "_": None,
                "_l": None,
                "gettext": None,
                "lazy_gettext": None,
                "ngettext": (1, 2),
            },
        )
    }
    listed = {m.id if isinstance(m.id, str) else m.id[0] for m in catalogue(path) if m.id}
    assert sorted(extracted - listed) == []


def _translated(message: Message, plurals: int) -> bool:
    if isinstance(message.string, str):
        return bool(message.string.strip())
    return len(message.string) == plurals and all(s.strip() for s in message.string)


@pytest.mark.parametrize(
    ("asked", "language"),
    [("es-MX", "es"), ("es_ES", "es"), ("EN-us", "en"), ("fr", None), ("", None), (None, None)],
)
def test_language_codes_are_read_by_their_base(asked: str | None, language: str | None) -> None:
    assert supported(asked) == language


def page_language(html: str) -> str:
    match = re.search(r'<html lang="([^"]+)"', html)
    assert match, "the page has no <html lang>"
    return match.group(1)


def test_accept_language_picks_spanish_and_the_switch_is_remembered(client: FlaskClient) -> None:
    spanish = client.get("/archive", headers={"Accept-Language": "es-MX,es;q=0.9,en;q=0.5"})
    assert page_language(spanish.get_data(as_text=True)) == "es"
    assert "Archivo de boletines" in spanish.get_data(as_text=True)
    assert "Accept-Language" in spanish.headers["Vary"]
    english = client.get("/archive", headers={"Accept-Language": "en-US"})
    assert page_language(english.get_data(as_text=True)) == "en"
    # The switch link: the chosen language, then remembered without asking again.
    chosen = client.get("/archive?lang=es", headers={"Accept-Language": "en-US"})
    assert page_language(chosen.get_data(as_text=True)) == "es"
    assert client.get_cookie(COOKIE).value == "es"
    later = client.get("/archive", headers={"Accept-Language": "en-US"})
    assert page_language(later.get_data(as_text=True)) == "es"
    client.get("/archive?lang=en")
    assert page_language(client.get("/archive").get_data(as_text=True)) == "en"


def test_the_language_switch_links_to_the_same_page_in_the_other_language(
    client: FlaskClient,
) -> None:
    page = client.get("/archive?year=2026", headers={"Accept-Language": "es"})
    html = page.get_data(as_text=True)
    assert re.search(r'<a href="/archive\?year=2026&amp;lang=en" lang="en"[^>]*>English</a>', html)


def test_staff_pages_stay_in_english(client: FlaskClient) -> None:
    page = client.get("/admin/login", headers={"Accept-Language": "es"})
    assert page_language(page.get_data(as_text=True)) == "en"
    assert "pinwheel_lang" not in page.headers.get("Set-Cookie", "")


def english_fragments() -> set[str]:
    """Words of each catalogue entry that a Spanish page must not show (markup left out)."""
    fragments = set()
    for message in catalogue(TRANSLATIONS / "es" / "LC_MESSAGES" / "messages.po"):
        if message.string == message.id:
            continue  # the same in both languages ("Alaska (Anchorage)")
        for english in [message.id] if isinstance(message.id, str) else message.id:
            text = re.sub(r"<[^>]+>", " ", english)
            for part in re.split(r"%\([a-z_]+\)[sd]", text):
                part = part.strip(" .:,")
                # Short fragments ("Error", "Tema") may be the same in both languages.
                if len(part) >= 8 and " " in part:
                    fragments.add(part)
    return fragments


def visible_text(html: str) -> str:
    html = re.sub(r"<(script|style)\b.*?</\1>", " ", html, flags=re.S)
    html = re.sub(r'\b(?:aria-label|title|alt|placeholder)="([^"]*)"', r"> \1 <", html)
    return re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", html))


@pytest.fixture
def published(session: Session, settings: Settings) -> str:
    topic = make_topic(session, name="Human trafficking")
    issue = make_sent_issue(
        session, settings, "Spotlight", datetime(2026, 1, 12, tzinfo=UTC), [topic]
    )
    session.commit()
    return issue.slug


@pytest.mark.parametrize(
    "path", ["/archive", "/archive?q=nothing-matches", "/view/{slug}", "/no-such-page"]
)
def test_spanish_pages_say_nothing_in_english(
    client: FlaskClient, published: str, path: str
) -> None:
    page = client.get(path.format(slug=published), headers={"Accept-Language": "es"})
    html = page.get_data(as_text=True)
    assert page_language(html) == "es"
    text = visible_text(html)
    assert [f for f in english_fragments() if f in text] == []
    assert "Skip to main content" not in text and "Ir al contenido principal" in text


def test_dates_on_spanish_pages_are_written_in_spanish(client: FlaskClient, published: str) -> None:
    html = client.get("/archive", headers={"Accept-Language": "es"}).get_data(as_text=True)
    assert "12 de enero de 2026" in html
    assert "1 boletín" in html


def test_a_web_view_link_speaks_its_reader_s_language(
    client: FlaskClient, session: Session, settings: Settings, published: str
) -> None:
    reader = make_subscriber(session, language="es")
    session.commit()
    link = SubscriberLinks.from_settings(settings).webview(published, reader.id)
    page = client.get(link.removeprefix(settings.BASE_URL), headers={"Accept-Language": "en"})
    html = page.get_data(as_text=True)
    assert page_language(html) == "es"
    assert "Abrir solo el correo electrónico" in html
    # The issue itself is English: its title says so inside the Spanish page.
    assert '<h1 id="issue-title" class="visually-hidden" lang="en">Spotlight</h1>' in html


@pytest.fixture
def spanish_links(session: Session, settings: Settings) -> dict[str, str]:
    """The signed pages of a Spanish subscriber to one topic, by name (site-relative)."""
    topic = make_topic(session, name="Trata de personas")
    reader = make_subscriber(session, language="es", topics=[topic])
    session.commit()
    links = SubscriberLinks.from_settings(settings)
    return {
        name: url.removeprefix(settings.BASE_URL)
        for name, url in (
            ("confirm", links.confirm(reader.id)),
            ("preferences", links.preferences(reader.id)),
            ("unsubscribe", links.unsubscribe(reader.id)),
        )
    }


@pytest.mark.parametrize("page", ["confirm", "preferences", "unsubscribe"])
def test_a_subscriber_s_own_pages_speak_their_language(
    client: FlaskClient, spanish_links: dict[str, str], page: str
) -> None:
    # The browser asks for English; the link was made for a reader who chose Spanish.
    answer = client.get(spanish_links[page], headers={"Accept-Language": "en-US"})
    html = answer.get_data(as_text=True)
    assert answer.status_code == 200
    assert page_language(html) == "es"
    assert [f for f in english_fragments() if f in visible_text(html)] == []


def test_unsubscribing_answers_in_the_reader_s_language(
    client: FlaskClient, spanish_links: dict[str, str]
) -> None:
    answer = client.post(spanish_links["unsubscribe"], headers={"Accept-Language": "en"})
    html = answer.get_data(as_text=True)
    assert page_language(html) == "es" and "Canceló su suscripción" in html


@pytest.mark.parametrize("path", ["/subscribe", "/confirm/not-a-token"])
def test_other_spanish_public_pages_say_nothing_in_english(
    client: FlaskClient, session: Session, path: str
) -> None:
    make_topic(session, name="Trata de personas")
    session.commit()
    answer = client.get(path, headers={"Accept-Language": "es-MX"})
    html = answer.get_data(as_text=True)
    assert page_language(html) == "es"
    assert [f for f in english_fragments() if f in visible_text(html)] == []


def test_the_subscribe_form_offers_the_page_s_language_and_keeps_the_choice(
    client: FlaskClient, session: Session
) -> None:
    topic = make_topic(session, name="Trata de personas", opt_in="single")
    session.commit()
    form = client.get("/subscribe", headers={"Accept-Language": "es"}).get_data(as_text=True)
    assert re.search(
        r'<input type="radio" name="language" value="es" id="language-es" checked>', form
    )
    answer = client.post(
        "/subscribe",
        data={"email": "lucia@example.org", "topics": str(topic.id), "language": "es"},
        headers={"Accept-Language": "en"},
    )
    assert answer.status_code == 200
    stored = session.scalar(sa.select(Subscriber).where(Subscriber.email == "lucia@example.org"))
    assert stored is not None and stored.language == "es"
    # The consent history says which language was asked for.
    details = session.scalars(
        sa.select(SubscriberEvent.detail).where(SubscriberEvent.subscriber_id == stored.id)
    ).all()
    assert [d.get("language") for d in details] == ["es", "es"]
