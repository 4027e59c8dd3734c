"""System emails: one builder, Message-IDs on the sender's domain, one batch to the backend."""

from __future__ import annotations

import re

from engine.config import Settings
from engine.delivery.base import DeliveryBackend, TemplateBackend
from engine.delivery.memory import MemoryBackend
from engine.delivery.sendgrid import SendGridBackend
from engine.delivery.system import (
    send_system_messages,
    sender_domain,
    system_message,
    system_template,
)

SETTINGS = Settings(SENDER_ADDRESS="Agency News <news@agency.example.gov>", MAIL_BACKEND="memory")


def test_message_id_is_on_the_senders_domain_and_unique() -> None:
    first, second = (
        system_message(
            SETTINGS,
            kind="staff-alert",
            to_address="a@example.org",
            subject="s",
            html="h",
            text="t",
        )
        for _ in range(2)
    )
    assert re.fullmatch(
        r"<staff-alert\.[0-9a-f]{24}@agency\.example\.gov>", first.headers["Message-ID"]
    )
    assert first.headers["Message-ID"] != second.headers["Message-ID"]
    assert first.from_address == SETTINGS.SENDER_ADDRESS
    assert first.categories == ("staff-alert",)


def test_sender_domain_without_an_address_is_localhost() -> None:
    assert sender_domain("Agency <news@Agency.example.gov>") == "Agency.example.gov"
    assert sender_domain("no address here") == "localhost"


def test_system_templates_render_without_a_request() -> None:
    text = system_template("confirm.txt").render(
        subscriber={"first_name": "Ana", "email": "ana@example.org"},
        topics=[],
        confirm_url="https://x.example/confirm/t",
        subscribe_url="https://x.example/subscribe",
        postal_address="1 Main St",
    )
    assert text.startswith("Hello Ana,")
    assert "https://x.example/confirm/t" in text


def test_send_system_messages_hands_one_batch_to_the_backend() -> None:
    messages = [
        system_message(
            SETTINGS, kind="notice", to_address=f"{n}@example.org", subject="s", html="h", text="t"
        )
        for n in range(3)
    ]
    results = send_system_messages(SETTINGS, messages)
    assert [result.status for result in results] == ["accepted"] * 3
    assert send_system_messages(SETTINGS, []) == []


def test_template_backends_are_recognised_by_their_declared_interface() -> None:
    sendgrid = SendGridBackend(SETTINGS.with_overrides(SENDGRID_API_KEY="SG.test"))
    memory: DeliveryBackend = MemoryBackend()
    assert isinstance(sendgrid, TemplateBackend)
    assert not isinstance(memory, TemplateBackend)
