"""Import subscribers from CSV in chunks: idempotent, and never re-subscribing anyone who left.

``SubscriberImport.run`` yields after each chunk is flushed; the caller commits there, so rows
already checked and written survive a later failure, and a progress bar can follow along.
"""

from __future__ import annotations

import csv
from collections.abc import Iterator, Sequence
from dataclasses import asdict, dataclass
from typing import Any, BinaryIO, TextIO

import sqlalchemy as sa
from sqlalchemy.orm import Session, selectinload

from engine.clock import now
from subscribers.addresses import address_hash
from subscribers.exporting import spreadsheet_safe
from subscribers.import_rows import ColumnMap, ImportRow, RowError, read_rows
from subscribers.models import (
    EventKind,
    Subscriber,
    SubscriberEvent,
    SubscriberStatus,
    Subscription,
    SubscriptionStatus,
    Suppression,
    Topic,
)

CHUNK_ROWS = 1000
#: Subscribers in these states are never touched by an import.
_LEFT = (SubscriberStatus.UNSUBSCRIBED, SubscriberStatus.ERASED)


@dataclass
class ImportSummary:
    """Counts of one import; ``skipped`` rows were valid but changed nothing or were refused."""

    created: int = 0
    updated: int = 0
    skipped: int = 0
    errors: int = 0

    def as_dict(self) -> dict[str, int]:
        return asdict(self)


class ErrorReport:
    """Write row errors as CSV (row, column, reason, value), safe to open in a spreadsheet."""

    def __init__(self, out: TextIO | None) -> None:
        self._writer = csv.writer(out) if out is not None else None
        if self._writer is not None:
            self._writer.writerow(["row", "column", "reason", "value"])

    def add(self, error: RowError) -> None:
        if self._writer is not None:
            self._writer.writerow(
                [error.row, spreadsheet_safe(error.column), spreadsheet_safe(error.reason),
                 spreadsheet_safe(error.value)]
            )  # fmt: skip


class SubscriberImport:
    """Apply a CSV file to the subscriber list, subscribing every good row to ``topics``."""

    def __init__(
        self,
        session: Session,
        topics: Sequence[Topic],
        *,
        report: ErrorReport | None = None,
        source: str = "import",
    ) -> None:
        self.session = session
        self.topics = list(topics)
        self.report = report or ErrorReport(None)
        self.source = source
        self.summary = ImportSummary()
        self._seen: dict[str, int] = {}

    def run(self, stream: BinaryIO) -> Iterator[int]:
        """Import ``stream``; yield the bytes read so far after each flushed chunk."""
        chunk: list[ImportRow] = []
        for item in read_rows(stream):
            if isinstance(item, ColumnMap):
                continue
            if isinstance(item, RowError):
                self._reject(item)
            elif self._first_sighting(item):
                chunk.append(item)
            if len(chunk) >= CHUNK_ROWS:
                self._apply(chunk)
                chunk = []
                yield stream.tell()
        if chunk:
            self._apply(chunk)
        yield stream.tell()

    def _reject(self, error: RowError) -> None:
        self.summary.errors += 1
        self.report.add(error)

    def _first_sighting(self, row: ImportRow) -> bool:
        first = self._seen.setdefault(row.email, row.row)
        if first != row.row:
            self._reject(RowError(row.row, "email", f"duplicate of row {first}", row.email))
            return False
        return True

    def _apply(self, rows: list[ImportRow]) -> None:
        emails = [row.email for row in rows]
        suppressed = set(
            self.session.scalars(
                sa.select(Suppression.address_hash).where(
                    Suppression.address_hash.in_([address_hash(email) for email in emails])
                )
            )
        )
        existing = {
            subscriber.email: subscriber
            for subscriber in self.session.scalars(
                sa.select(Subscriber)
                .where(Subscriber.email.in_(emails))
                .options(selectinload(Subscriber.subscriptions))
            )
        }
        new_rows = []
        for row in rows:
            subscriber = existing.get(row.email)
            if address_hash(row.email) in suppressed:
                self.summary.skipped += 1
            elif subscriber is None:
                new_rows.append(row)
            elif self._update(subscriber, row):
                self.summary.updated += 1
            else:
                self.summary.skipped += 1
        self._create(new_rows)
        self.session.flush()

    def _update(self, subscriber: Subscriber, row: ImportRow) -> bool:
        if subscriber.status in _LEFT:
            return False
        changed = [key for key, value in _profile(row).items() if getattr(subscriber, key) != value]
        merged = {**subscriber.attributes, **row.attributes}
        if merged != subscriber.attributes:
            changed.append("attributes")
        for key in changed:
            setattr(subscriber, key, merged if key == "attributes" else _profile(row)[key])
        added = self._add_subscriptions(subscriber)
        if changed or added:
            detail = {"source": self.source, "fields": changed, "topics": added}
            self.session.add(
                SubscriberEvent(subscriber_id=subscriber.id, kind=EventKind.IMPORTED, detail=detail)
            )
        return bool(changed or added)

    def _add_subscriptions(self, subscriber: Subscriber) -> list[str]:
        # An existing subscription is left alone: an unsubscribed topic stays unsubscribed.
        have = {subscription.topic_id for subscription in subscriber.subscriptions}
        added = []
        for topic in self.topics:
            if topic.id not in have:
                subscriber.subscriptions.append(_confirmed(topic.id, self.source))
                added.append(topic.slug)
        return added

    def _create(self, rows: list[ImportRow]) -> None:
        if not rows:
            return
        at = now()
        values = [_new_subscriber(row, self.source, at) for row in rows]
        ids = (
            self.session.execute(
                sa.insert(Subscriber).returning(Subscriber.id, sort_by_parameter_order=True), values
            )
            .scalars()
            .all()
        )
        subscriptions = [
            {"subscriber_id": subscriber_id, "topic_id": topic.id, "source": self.source,
             "status": SubscriptionStatus.CONFIRMED, "confirmed_at": at, "created_at": at}
            for subscriber_id in ids for topic in self.topics
        ]  # fmt: skip
        if subscriptions:
            self.session.execute(sa.insert(Subscription), subscriptions)
        detail = {"source": self.source, "topics": [topic.slug for topic in self.topics]}
        self.session.execute(
            sa.insert(SubscriberEvent),
            [{"subscriber_id": subscriber_id, "kind": EventKind.IMPORTED, "at": at,
              "detail": detail} for subscriber_id in ids],
        )  # fmt: skip
        self.summary.created += len(ids)


def _profile(row: ImportRow) -> dict[str, str]:
    values = {"name": row.name, "language": row.language, "timezone": row.timezone}
    return {key: value for key, value in values.items() if value is not None}


def _confirmed(topic_id: int, source: str) -> Subscription:
    return Subscription(
        topic_id=topic_id, status=SubscriptionStatus.CONFIRMED, source=source, confirmed_at=now()
    )


def _new_subscriber(row: ImportRow, source: str, at: Any) -> dict[str, Any]:
    return {
        "email": row.email,
        "name": row.name or "",
        "language": row.language or "en",
        "timezone": row.timezone or "",
        "attributes": row.attributes,
        "status": SubscriberStatus.ACTIVE,
        "consent_source": source,
        "consent_at": at,
        "created_at": at,
        "updated_at": at,
        "confirmed_at": at,
    }
