"""A subscriber's history: consent events kept here, plus entries other packages contribute.

Sends and provider events live in packages that build on this one, so they register a history
source (``register_history_source``) instead of this package reading their tables.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import Session

from engine.clock import now
from subscribers.models import EventKind, Subscriber, SubscriberEvent


@dataclass(frozen=True, slots=True)
class HistoryEntry:
    """One line of a subscriber's history page."""

    at: datetime
    kind: str
    summary: str
    detail: dict[str, Any] = field(default_factory=dict)
    ip: str | None = None


#: ``(session, subscriber_id, limit) -> entries``, newest first.
HistorySource = Callable[[Session, int, int], Iterable[HistoryEntry]]
#: ``(session, subscriber_id, address)``: scrub personal data kept outside this package.
ErasureHandler = Callable[[Session, int, str], None]

_INSERT_EVENTS = sa.insert(SubscriberEvent.__table__)
_history_sources: list[HistorySource] = []
_erasure_handlers: list[ErasureHandler] = []


def register_history_source(source: HistorySource) -> None:
    """Add ``source`` to every subscriber's history page (registering twice is harmless)."""
    if source not in _history_sources:
        _history_sources.append(source)


def register_erasure_handler(handler: ErasureHandler) -> None:
    """Call ``handler`` whenever a subscriber is erased, before the row is deleted."""
    if handler not in _erasure_handlers:
        _erasure_handlers.append(handler)


def erasure_handlers() -> tuple[ErasureHandler, ...]:
    """Return the registered erasure handlers."""
    return tuple(_erasure_handlers)


def record_event(
    session: Session,
    subscriber: Subscriber,
    kind: EventKind,
    detail: dict[str, Any] | None = None,
    ip: str | None = None,
) -> None:
    """Append an event to ``subscriber``'s consent history."""
    record_events(session, subscriber, [(kind, detail or {})], ip)


def record_events(
    session: Session,
    subscriber: Subscriber | int,
    events: Iterable[tuple[EventKind, dict[str, Any]]],
    ip: str | None = None,
) -> None:
    """Append ``(kind, detail)`` events to the consent history of a subscriber (or its id).

    The history is only read back by query, so the rows go in as one plain insert: objects for
    the unit of work to track would cost several times more per row.
    """
    if isinstance(subscriber, Subscriber):
        if subscriber.id is None:
            session.flush()
        subscriber = subscriber.id
    record_event_each(session, [(subscriber, kind, detail) for kind, detail in events], ip)


def record_event_each(
    session: Session,
    events: Sequence[tuple[int, EventKind, dict[str, Any]]],
    ip: str | None = None,
) -> None:
    """Append ``(subscriber_id, kind, detail)`` events to several histories in one insert."""
    at = now()
    rows = [
        {"subscriber_id": subscriber_id, "at": at, "kind": kind, "detail": detail, "ip": ip}
        for subscriber_id, kind, detail in events
    ]
    if rows:
        session.execute(_INSERT_EVENTS, rows)


def subscriber_history(
    session: Session, subscriber_id: int, limit: int = 200
) -> list[HistoryEntry]:
    """Return the newest ``limit`` history entries from every source, newest first."""
    events = session.scalars(
        sa.select(SubscriberEvent)
        .where(SubscriberEvent.subscriber_id == subscriber_id)
        .order_by(SubscriberEvent.at.desc(), SubscriberEvent.id.desc())
        .limit(limit)
    )
    entries = [
        HistoryEntry(event.at, event.kind, _summary(event), event.detail, event.ip)
        for event in events
    ]
    for source in _history_sources:
        entries.extend(source(session, subscriber_id, limit))
    entries.sort(key=lambda entry: entry.at, reverse=True)
    return entries[:limit]


def _summary(event: SubscriberEvent) -> str:
    detail = event.detail
    parts = [event.kind.replace("_", " ").capitalize()]
    if detail.get("topics"):
        parts.append(": " + ", ".join(str(slug) for slug in detail["topics"]))
    if detail.get("frequency"):
        parts.append(f", {detail['frequency']}")
    if detail.get("frequencies"):
        pairs = (f"{slug} {frequency}" for slug, frequency in detail["frequencies"].items())
        parts.append(": " + ", ".join(pairs))
    if detail.get("source"):
        parts.append(f" (via {detail['source']})")
    if detail.get("campaign_id"):
        parts.append(f", from campaign {detail['campaign_id']}")
    if detail.get("reason"):
        parts.append(f", reason {detail['reason']}")
    return "".join(parts)
