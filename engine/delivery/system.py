"""System emails (confirmations, staff alerts, notices): one builder, one Message-ID scheme.

Campaign messages are personalized from a frozen issue by the send pipeline; everything else
Pinwheel mails is a single transactional message built here, so every one carries the same
headers: a ``Message-ID`` on the sender's domain (``<kind.random@domain>``), never the web
host's, and a category naming its kind.
"""

from __future__ import annotations

import secrets
from collections.abc import Sequence
from email.utils import parseaddr

from jinja2 import Environment, FileSystemLoader, StrictUndefined, Template, select_autoescape

from engine.config import PROJECT_ROOT, Settings
from engine.delivery.base import OutgoingMessage, SendResult
from engine.delivery.registry import backend_from_settings

#: Email templates render without a request: links come from ``BASE_URL``, never ``url_for``.
_templates = Environment(
    loader=FileSystemLoader(PROJECT_ROOT / "templates" / "email"),
    autoescape=select_autoescape(["html"]),
    undefined=StrictUndefined,
    keep_trailing_newline=True,
)


def sender_domain(sender_address: str) -> str:
    """Return the domain of a ``From`` address (``localhost`` when it has none)."""
    _local, at, domain = parseaddr(sender_address)[1].rpartition("@")
    return domain if at and domain else "localhost"


def system_template(name: str) -> Template:
    """Return a template of ``templates/email/`` for a system email's HTML or text part."""
    return _templates.get_template(name)


def system_message(
    settings: Settings,
    *,
    kind: str,
    to_address: str,
    subject: str,
    html: str,
    text: str,
    to_name: str = "",
) -> OutgoingMessage:
    """Build one system email of ``kind`` (``confirmation``, ``staff-alert`` …) from the sender."""
    message_id = f"<{kind}.{secrets.token_hex(12)}@{sender_domain(settings.SENDER_ADDRESS)}>"
    return OutgoingMessage(
        delivery_id=0,
        to_address=to_address,
        to_name=to_name,
        from_address=settings.SENDER_ADDRESS,
        subject=subject,
        html=html,
        text=text,
        headers={"Message-ID": message_id},
        categories=(kind,),
    )


def send_system_messages(
    settings: Settings, messages: Sequence[OutgoingMessage]
) -> list[SendResult]:
    """Hand system emails to the configured backend in one batch; the caller handles errors."""
    if not messages:
        return []
    backend = backend_from_settings(settings)
    try:
        return backend.send_batch(messages)
    finally:
        backend.close()
