"""Test sends: the real message to a few staff addresses, without touching campaign state.

They need no approval, so they reach only staff users and the configured test inboxes.
"""

from __future__ import annotations

import dataclasses
import uuid
from collections.abc import Iterable

import sqlalchemy as sa
from sqlalchemy.orm import Session

from campaigns.sending.models import Campaign
from campaigns.sending.personalize import CampaignMessages, FrozenCampaign, Recipient
from engine.config import Settings
from engine.delivery.base import DeliveryBackend, OutgoingMessage, SendResult
from engine.delivery.registry import backend_from_settings
from engine.errors import ValidationFailed
from engine.users import StaffUser
from subscribers.addresses import InvalidAddress, normalise_address

MAX_TEST_ADDRESSES = 10
TEST_PREFIX = "[Test] "


def test_send(
    session: Session,
    campaign: Campaign,
    addresses: Iterable[str],
    *,
    settings: Settings,
    backend: DeliveryBackend | None = None,
) -> list[SendResult]:
    """Send the campaign's frozen message to ``addresses`` with a ``[Test]`` subject prefix.

    No delivery, batch or counter is written; links carry subscriber id 0, which no page accepts.
    """
    targets = _valid_addresses(addresses, settings.SMTPUTF8)
    _ensure_staff_addresses(session, targets, settings)
    frozen = FrozenCampaign(
        campaign.id,
        campaign.issue.slug,
        campaign.subject,
        campaign.from_address or settings.SENDER_ADDRESS,
        campaign.html,
        campaign.text,
    )
    builder = CampaignMessages(settings, frozen)
    messages = [_proof(builder, n, address) for n, address in enumerate(targets)]
    backend = backend or backend_from_settings(settings)
    try:
        return backend.send_batch(messages)
    finally:
        backend.close()


test_send.__test__ = False  # type: ignore[attr-defined]


def _proof(builder: CampaignMessages, n: int, address: str) -> OutgoingMessage:
    message = builder.message(Recipient(-(n + 1), 0, address, ""), subject_prefix=TEST_PREFIX)
    # A fresh Message-ID: test copies must not share the campaign's stable ids.
    message_id = f"<test.{uuid.uuid4().hex}@{builder.domain}>"
    return dataclasses.replace(message, headers={**message.headers, "Message-ID": message_id})


def _ensure_staff_addresses(session: Session, targets: list[str], settings: Settings) -> None:
    # A test send needs no approval, so it may only reach staff: otherwise ten unapproved
    # copies at a time could go to anyone.
    staff = set(
        session.scalars(
            sa.select(sa.func.lower(StaffUser.email)).where(
                StaffUser.active.is_(True), sa.func.lower(StaffUser.email).in_(targets)
            )
        )
    )
    others = [
        address
        for address in targets
        if address not in staff and address not in settings.TEST_SEND_ADDRESSES
    ]
    if others:
        raise ValidationFailed(
            f"{', '.join(others)}: test sends go only to staff users' addresses and those in "
            "PINWHEEL_TEST_SEND_ADDRESSES. To reach anyone else, get the issue approved and "
            "send the campaign."
        )


def _valid_addresses(addresses: Iterable[str], smtputf8: bool) -> list[str]:
    result: list[str] = []
    for address in addresses:
        try:
            result.append(normalise_address(address, smtputf8=smtputf8))
        except InvalidAddress as error:
            raise ValidationFailed(f"{address!r}: {error.message}") from None
    if not result:
        raise ValidationFailed("Give at least one address for the test send.")
    if len(result) > MAX_TEST_ADDRESSES:
        raise ValidationFailed(f"A test send goes to at most {MAX_TEST_ADDRESSES} addresses.")
    return result
