"""Treat SMTP bounces (RFC 3464 delivery status notifications) like provider events."""

from __future__ import annotations

from sqlalchemy.orm import Session

from campaigns.events.guard import enforce_guard_rails
from campaigns.events.ingest import ingest_events
from campaigns.events.webhook_batches import Outcome
from engine.config import Settings
from engine.delivery.dsn import DsnError, parse_dsn
from engine.errors import ValidationFailed

SOURCE = "dsn"
#: A bounce is a few kilobytes; anything far larger is not one.
MAX_DSN_BYTES = 5 * 1024 * 1024


def ingest_dsn(session: Session, settings: Settings, raw: bytes) -> Outcome:
    """Store the report's events and act on them, then enforce the guard rails.

    Only reports sent to a signed per-delivery return path, or else quoting a Message-ID that
    Pinwheel signed, for a delivery it made count; others are ignored, so a forged bounce
    cannot suppress anyone.
    Raises ``ValidationFailed`` when ``raw`` is not a delivery status notification.
    """
    if not raw.strip():
        raise ValidationFailed("The message is empty: expected a delivery status notification.")
    if len(raw) > MAX_DSN_BYTES:
        raise ValidationFailed("The message is too large to be a delivery status notification.")
    try:
        events = parse_dsn(raw, secret=settings.SECRET_KEY)
    except DsnError as error:
        raise ValidationFailed(f"Not a usable bounce: {error}") from None
    result = ingest_events(session, events, source=SOURCE, require_delivery=True)
    trips = enforce_guard_rails(session, settings, result.campaign_ids)
    return Outcome(result, trips)
