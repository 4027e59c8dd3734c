"""What a welcome says: the approved issue, the topics, how often, and where to change them."""

from __future__ import annotations

from email.message import Message

from sqlalchemy.orm import Session

from campaigns.welcome.delivering import send_pending_welcomes
from engine.config import Settings
from engine.db import Database
from engine.delivery.base import OutgoingMessage
from engine.delivery.memory import MemoryBackend
from engine.outbox_index import MessageKind, message_kind
from engine.render.accessibility import check_html
from subscribers.models import Frequency, Subscriber, Topic
from subscribers.tokens import Purpose, TokenSigner
from tests.campaigns.welcome.conftest import MakeWelcome, join


def _welcome_for(
    session: Session,
    database: Database,
    settings: Settings,
    outbox: MemoryBackend,
    topics: list[Topic],
    frequency: Frequency,
) -> OutgoingMessage:
    join(session, "kim@example.org", topics, frequency=frequency, name="Kim Lee")
    session.rollback()
    assert send_pending_welcomes(database, settings).sent == 1
    (message,) = outbox.sent
    return message


def test_the_welcome_names_the_topics_the_frequency_and_the_preference_page(
    session: Session,
    database: Database,
    settings: Settings,
    outbox: MemoryBackend,
    topics: dict[str, Topic],
    make_welcome: MakeWelcome,
) -> None:
    make_welcome("Practice")
    message = _welcome_for(
        session, database, settings, outbox, [topics["foster"], topics["kinship"]], Frequency.DAILY
    )
    assert message.subject == "Welcome, and thank you for subscribing"
    assert message.to_address == "kim@example.org" and message.to_name == "Kim Lee"
    text = message.text
    # The issue as approved, filled for the reader …
    assert "Hello Kim, and thank you for subscribing." in text
    # … then what they signed up for and how often, generated.
    assert "What you signed up for" in text
    assert "Foster care" in text and "Kinship care" in text
    assert text.count("one email a day with the day's bulletins") == 2
    assert "Policy" not in text
    assert "https://news.example.org/preferences/" in text
    assert "Change what you get" in message.html and "%%" not in message.html + text
    # No web page shows a welcome, so it offers none.
    assert "View it as a web page" not in message.html
    assert [check for check in check_html(message.html) if check.is_error] == []


def test_the_preference_and_unsubscribe_links_are_the_reader_s_own(
    session: Session,
    database: Database,
    settings: Settings,
    outbox: MemoryBackend,
    topics: dict[str, Topic],
    make_welcome: MakeWelcome,
) -> None:
    make_welcome()
    message = _welcome_for(
        session, database, settings, outbox, [topics["policy"]], Frequency.IMMEDIATELY
    )
    assert "Policy &amp; law" in message.html
    assert "each bulletin as soon as it is sent" in message.text
    signer = TokenSigner(settings.SECRET_KEY, settings.TOKEN_MAX_AGE_DAYS)
    preferences = message.text.split("https://news.example.org/preferences/")[1].split()[0]
    reader = session.query(Subscriber).filter_by(email="kim@example.org").one()
    assert signer.load(Purpose.PREFERENCES, preferences.strip("<>)]."))[0] == reader.id
    unsubscribe = message.headers["List-Unsubscribe"]
    assert unsubscribe.startswith("<https://news.example.org/unsubscribe/")
    assert message.headers["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"


def test_the_welcome_is_a_system_email_of_its_own_kind(
    session: Session,
    database: Database,
    settings: Settings,
    outbox: MemoryBackend,
    topics: dict[str, Topic],
    make_welcome: MakeWelcome,
) -> None:
    make_welcome()
    message = _welcome_for(
        session, database, settings, outbox, [topics["foster"]], Frequency.WEEKLY
    )
    assert message.headers["Auto-Submitted"] == "auto-generated"
    assert message.headers["Message-ID"].startswith("<welcome.")
    assert message.categories == ("welcome",) and message.delivery_id == 0
    headers = Message()
    for name, value in message.headers.items():
        headers[name] = value
    headers["Subject"] = message.subject
    assert message_kind(headers) == (MessageKind.WELCOME, "welcome")


def test_a_spanish_welcome_says_its_own_part_in_spanish() -> None:
    from campaigns.content.document import content_from_dict
    from campaigns.welcome.composition import SignedUp, welcome_content
    from tests.campaigns.issues.issue_data import basic

    spanish = content_from_dict(basic(language="es"))
    added = welcome_content(spanish, [SignedUp("Trata de personas", Frequency.WEEKLY)])
    words = [getattr(b, "text", "") or getattr(b, "label", "") for b in added.blocks[-4:]]
    assert "A qué se suscribió" in words and "Cambiar lo que recibe" in words
    items = added.blocks[-3].items  # type: ignore[attr-defined]
    assert items[0].text.endswith("un correo a la semana con los boletines de la semana")
