"""The confirmation email: a system email with the topics and the link that confirms them."""

from __future__ import annotations

from engine.config import Settings
from subscribers.emails import SUBJECT, confirmation_message
from subscribers.models import Subscriber, Topic
from tests.system_emails import assert_system_email

SETTINGS = Settings(
    SECRET_KEY="s" * 32,
    BASE_URL="https://news.example.org",
    SENDER_ADDRESS="Agency News <news@agency.example.gov>",
)


def test_the_confirmation_is_a_branded_accessible_system_email() -> None:
    reader = Subscriber(id=7, email="ana@example.org", name="Ana Lima", language="en")
    topics = [Topic(id=1, name="Human trafficking"), Topic(id=2, name="Kinship & foster care")]
    message = confirmation_message(SETTINGS, reader, topics)
    assert (message.to_address, message.to_name, message.subject) == (
        "ana@example.org",
        "Ana Lima",
        SUBJECT,
    )
    assert message.categories == ("confirmation",)
    link = assert_system_email(
        message,
        SETTINGS,
        link_prefix="https://news.example.org/confirm/",
        says=("Hello Ana,", "Human trafficking", "Kinship & foster care", "you will not be"),
    )
    assert message.headers["Message-ID"].startswith("<confirmation.")
    assert "Kinship &amp; foster care" in message.html
    assert '<html lang="en"' in message.html
    assert link.startswith("https://news.example.org/confirm/")


def test_a_spanish_reader_gets_the_confirmation_in_spanish() -> None:
    reader = Subscriber(id=9, email="lucia@example.org", name="Lucía Pérez", language="es-MX")
    message = confirmation_message(SETTINGS, reader, [Topic(id=1, name="Trata de personas")])
    assert message.subject == "Confirme su suscripción"
    assert '<html lang="es"' in message.html
    assert_system_email(
        message,
        SETTINGS,
        link_prefix="https://news.example.org/confirm/",
        says=(
            "Hola, Lucía:",
            "Trata de personas",
            "Confirmar mi suscripción",
            "no quedará suscrito",
        ),
    )
    assert "Hello" not in message.text and "Confirm my" not in message.html


def test_a_reader_without_a_name_is_greeted_plainly() -> None:
    reader = Subscriber(id=8, email="x@example.org", name="")
    message = confirmation_message(SETTINGS, reader, [Topic(id=1, name="Digest")])
    assert message.text.count("Hello,") == 1 and "Hello ," not in message.text
