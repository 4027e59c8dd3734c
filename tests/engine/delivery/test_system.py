"""System emails: one builder, branded layouts, Message-IDs on the sender's domain, one batch."""

from __future__ import annotations

import re

from engine.config import Settings
from engine.delivery.base import DeliveryBackend, TemplateBackend
from engine.delivery.memory import MemoryBackend
from engine.delivery.sendgrid import SendGridBackend
from engine.delivery.system import send_system_messages, sender_domain, system_message
from engine.render.accessibility import check_html

SETTINGS = Settings(
    SENDER_ADDRESS="Agency News <news@agency.example.gov>",
    POSTAL_ADDRESS="1 Main St, Springfield",
    BASE_URL="https://news.example.org",
    MAIL_BACKEND="memory",
)
REPORT = "https://news.example.org/admin/campaigns/3/report"
ALERT = {
    "campaign_id": "3",
    "campaign_name": "March",
    "reason": "Paused automatically.",
    "accepted": "100",
    "bounced": "6",
    "complained": "0",
    "report_url": REPORT,
}


def _alert(to_address: str = "a@example.org", settings: Settings = SETTINGS):
    return system_message(
        settings,
        kind="staff-alert",
        layout="campaign_paused",
        to_address=to_address,
        subject="Campaign paused: March",
        fields=ALERT,
    )


def test_message_id_is_on_the_senders_domain_and_unique() -> None:
    first, second = _alert(), _alert()
    assert re.fullmatch(
        r"<staff-alert\.[0-9a-f]{24}@agency\.example\.gov>", first.headers["Message-ID"]
    )
    assert first.headers["Message-ID"] != second.headers["Message-ID"]
    assert first.from_address == SETTINGS.SENDER_ADDRESS
    assert first.categories == ("staff-alert",)


def test_every_system_email_is_auto_submitted_and_has_no_list_headers() -> None:
    headers = _alert().headers
    assert headers["Auto-Submitted"] == "auto-generated"
    assert set(headers) == {"Message-ID", "Auto-Submitted"}


def test_the_layout_carries_the_senders_branding_and_subject() -> None:
    message = _alert()
    assert "<title>Campaign paused: March</title>" in message.html
    assert '<html lang="en"' in message.html and check_html(message.html) == []
    for text in ("Agency News", "news@agency.example.gov", "1 Main St, Springfield", REPORT):
        assert text in message.text
    bare = _alert(settings=SETTINGS.with_overrides(SENDER_ADDRESS="news@agency.example.gov"))
    # Without a display name, the address names the sender.
    assert bare.text.startswith("news@agency.example.gov\n")


def test_sender_domain_without_an_address_is_localhost() -> None:
    assert sender_domain("Agency <news@Agency.example.gov>") == "agency.example.gov"
    assert sender_domain("no address here") == "localhost"


def test_send_system_messages_hands_one_batch_to_the_backend() -> None:
    messages = [_alert(f"{n}@example.org") for n in range(3)]
    results = send_system_messages(SETTINGS, messages)
    assert [result.status for result in results] == ["accepted"] * 3
    assert send_system_messages(SETTINGS, []) == []


def test_template_backends_are_recognised_by_their_declared_interface() -> None:
    sendgrid = SendGridBackend(SETTINGS.with_overrides(SENDGRID_API_KEY="SG.test"))
    memory: DeliveryBackend = MemoryBackend()
    assert isinstance(sendgrid, TemplateBackend)
    assert not isinstance(memory, TemplateBackend)
