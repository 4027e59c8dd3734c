"""System emails (confirmations, staff invitations, staff alerts): one builder, one renderer.

Campaign messages are personalized from a frozen issue by the send pipeline; everything else
Pinwheel mails is a single transactional message built here from a layout of
``templates/email/system/`` (`engine.render.system_emails`), so every one carries the same
branding and the same headers: a ``Message-ID`` on the sender's domain
(``<kind.random@domain>``), never the web host's; ``Auto-Submitted: auto-generated``
(RFC 3834), which keeps vacation responders and other robots from answering it; and a
category naming its kind.
"""

from __future__ import annotations

import secrets
from collections.abc import Mapping, Sequence
from email.utils import parseaddr
from functools import lru_cache

from flask import has_app_context

from engine.config import Settings
from engine.delivery.base import OutgoingMessage, SendResult
from engine.delivery.registry import backend_from_settings
from engine.organisation_cache import current_branding, current_organisation
from engine.render.branding import Branding
from engine.render.system_emails import Field, render_system_email


def sender_domain(sender_address: str) -> str:
    """Return the lower-cased domain of a ``From`` address (``localhost`` when it has none)."""
    _local, at, domain = parseaddr(sender_address)[1].rpartition("@")
    return domain.lower() if at and domain else "localhost"


def system_message(
    settings: Settings,
    *,
    kind: str,
    layout: str,
    to_address: str,
    subject: str,
    fields: Mapping[str, Field],
    to_name: str = "",
    language: str = "en",
) -> OutgoingMessage:
    """Build one system email of ``kind`` (``confirmation``, ``staff-alert`` …) from the sender.

    ``fields`` fill the layout ``system/<layout>.mjml.j2``; the subject, the sender's name and
    address and the postal address are added from ``settings``, the organisation's look and
    reply-to address from the settings page (Pinwheel's own outside an application). The
    layout's words are in ``language``; the caller gives the subject in it.
    """
    sender = _sender_fields(settings.SENDER_ADDRESS, settings.POSTAL_ADDRESS)
    branding, reply_to = _organisation()
    body = render_system_email(layout, {**fields, **sender, "subject": subject}, branding, language)
    headers = system_headers(kind, settings.SENDER_ADDRESS, reply_to=reply_to)
    return OutgoingMessage(
        delivery_id=0,
        to_address=to_address,
        to_name=to_name,
        from_address=settings.SENDER_ADDRESS,
        subject=subject,
        html=body.html,
        text=body.text,
        headers=headers,
        categories=(kind,),
    )


def system_headers(
    kind: str, sender_address: str, *, unique: str = "", reply_to: str = ""
) -> dict[str, str]:
    """Return the headers every system email carries (the module's docstring says why).

    The ``Message-ID`` is ``<kind.unique@sender-domain>``, random without ``unique``: a caller
    that must know it before sending (a welcome's, stored on its row) gives ``unique``;
    ``Reply-To`` is added when ``reply_to`` is set.
    """
    unique = unique or secrets.token_hex(12)
    headers = {
        "Message-ID": f"<{kind}.{unique}@{sender_domain(sender_address)}>",
        "Auto-Submitted": "auto-generated",
    }
    if reply_to:
        headers["Reply-To"] = reply_to
    return headers


def _organisation() -> tuple[Branding | None, str]:
    if not has_app_context():
        return None, ""
    return current_branding(), current_organisation().reply_to


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


@lru_cache(maxsize=8)
def _sender_fields(sender: str, postal_address: str) -> Mapping[str, str]:
    name, address = parseaddr(sender)
    return {
        "organisation": name or address,
        "sender_address": address,
        "postal_address": postal_address,
    }
