"""The one place that decides who must never be mailed."""

from __future__ import annotations

import hashlib

import sqlalchemy as sa
from sqlalchemy.orm import Session

from subscribers.models import Subscriber, Suppression, SuppressionReason


def address_hash(address: str) -> str:
    """Return the SHA-256 hex digest of a normalised address (kept after erasure)."""
    return hashlib.sha256(address.strip().lower().encode()).hexdigest()


def is_suppressed(session: Session, address: str) -> bool:
    """Return whether ``address`` is on the suppression list."""
    digest = address_hash(address)
    return session.scalar(sa.select(Suppression.id).where(Suppression.address_hash == digest)) is not None


def suppress(
    session: Session,
    address: str,
    reason: SuppressionReason,
    *,
    source: str = "",
    note: str = "",
) -> Suppression:
    """Suppress ``address`` (idempotent: an existing entry keeps its first reason)."""
    digest = address_hash(address)
    existing = session.scalar(sa.select(Suppression).where(Suppression.address_hash == digest))
    if existing is not None:
        return existing
    entry = Suppression(
        address_hash=digest, address=address.strip().lower(), reason=reason, source=source, note=note
    )
    session.add(entry)
    session.flush()
    return entry


def not_suppressed_clause() -> sa.ColumnElement[bool]:
    """Return a SQL condition on ``Subscriber`` that excludes suppressed addresses."""
    return ~sa.exists().where(Suppression.address == Subscriber.email)
