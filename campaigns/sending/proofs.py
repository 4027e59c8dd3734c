"""Test sends: the real message to a few staff addresses, without touching campaign state.

They need no approval, so they reach only staff users and the configured test inboxes. An
issue can be tested before it has a campaign: its latest revision is rendered into a
campaign that is never stored.
"""

from __future__ import annotations

import dataclasses
import uuid
from collections.abc import Iterable

import sqlalchemy as sa
from sqlalchemy.orm import Session

from campaigns.issues.compiled import render_stored_issue
from campaigns.issues.models import Issue
from campaigns.sending.batches import load_frozen
from campaigns.sending.models import Campaign
from campaigns.sending.personalize import CampaignMessages, FrozenCampaign, Recipient
from campaigns.sending.service import campaign_issue
from engine.config import Settings
from engine.delivery.base import (
    BackendAuthError,
    DeliveryBackend,
    OutcomeUnknownError,
    OutgoingMessage,
    SendResult,
)
from engine.delivery.registry import backend_from_settings
from engine.errors import ServiceUnavailable, ValidationFailed
from engine.text_fields import check_line
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
    A digest run has no one message (each reader gets a variant): ``NotFound``.
    """
    campaign_issue(campaign)
    targets = _valid_addresses(addresses, settings.SMTPUTF8)
    _ensure_staff_addresses(session, targets, settings)
    frozen = load_frozen(session, campaign.id)
    if not frozen.from_address:
        frozen = dataclasses.replace(frozen, from_address=settings.SENDER_ADDRESS)
    return _send_proofs(settings, frozen, targets, backend)


test_send.__test__ = False  # type: ignore[attr-defined]


def test_send_issue(
    session: Session,
    issue: Issue,
    addresses: Iterable[str],
    *,
    settings: Settings,
    backend: DeliveryBackend | None = None,
) -> list[SendResult]:
    """Send the issue's latest saved revision to ``addresses`` as a ``[Test]`` copy.

    No campaign is stored: the copy is built as one would be (campaign id 0), so its links lead
    nowhere. Pre-send check errors do not stop it: seeing the email is how staff find them.
    """
    targets = _valid_addresses(addresses, settings.SMTPUTF8)
    _ensure_staff_addresses(session, targets, settings)
    subject = issue.content.get("subject") or issue.title
    rendered = render_stored_issue(settings, issue)
    first_topic = min(issue.topics, key=lambda t: (t.position, t.id), default=None)
    frozen = FrozenCampaign(
        id=0,
        issue_slug=issue.slug,
        subject=check_line(subject, "The issue's subject", path="subject"),
        from_address=settings.SENDER_ADDRESS,
        html=rendered.html,
        text=rendered.text,
        publication=issue.layout,
        topic_slug=first_topic.slug if first_topic else "",
        topic_name=first_topic.name if first_topic else "",
    )
    return _send_proofs(settings, frozen, targets, backend)


test_send_issue.__test__ = False  # type: ignore[attr-defined]


@dataclasses.dataclass(frozen=True, slots=True)
class ProofAddress:
    """An address a test send may go to, and whose it is."""

    address: str
    name: str = ""
    #: A staff user's sign-in address (otherwise one of ``TEST_SEND_ADDRESSES``).
    staff: bool = True


def allowed_test_addresses(session: Session, settings: Settings) -> list[ProofAddress]:
    """List where test sends may go: active staff users, then the configured test inboxes."""
    staff = session.execute(
        sa.select(sa.func.lower(StaffUser.email), StaffUser.name)
        .where(StaffUser.active.is_(True))
        .order_by(sa.func.lower(StaffUser.email))
    ).all()
    known = {address for address, _ in staff}
    inboxes = [
        ProofAddress(address, staff=False)
        for address in settings.TEST_SEND_ADDRESSES
        if address not in known
    ]
    return [ProofAddress(address, name or "") for address, name in staff] + inboxes


def _send_proofs(
    settings: Settings,
    frozen: FrozenCampaign,
    targets: list[str],
    backend: DeliveryBackend | None,
) -> list[SendResult]:
    builder = CampaignMessages(settings, frozen)
    messages = [_proof(builder, n, address) for n, address in enumerate(targets)]
    backend = backend or backend_from_settings(settings)
    try:
        return backend.send_batch(messages)
    except BackendAuthError:
        raise ServiceUnavailable(
            "The mail service refused Pinwheel's credentials, so no test copy went out. "
            "'pinwheel doctor' checks the delivery settings."
        ) from None
    except OutcomeUnknownError:
        raise ServiceUnavailable(
            "The connection to the mail service broke while the test copies were being handed "
            "over: some may arrive, some may not. Try again in a moment."
        ) from None
    finally:
        backend.close()


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
