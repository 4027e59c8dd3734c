"""Import subscribers from CSV in chunks: idempotent, and never re-subscribing anyone who left.

``SubscriberImport.run`` yields after each chunk is flushed; the caller commits there, so rows
already checked and written survive a later failure, and a progress bar can follow along.
"""

from __future__ import annotations

import csv
from collections.abc import Iterator, Sequence
from dataclasses import asdict, dataclass
from datetime import datetime
from typing import Any, BinaryIO, TextIO

import sqlalchemy as sa
from sqlalchemy.orm import Session

from engine.clock import now
from engine.db import JSONType, UTCDateTime
from subscribers.addresses import address_hash
from subscribers.exporting import spreadsheet_safe
from subscribers.import_rows import ColumnMap, ImportRow, RowError, read_rows
from subscribers.models import (
    EventKind,
    Frequency,
    Subscriber,
    SubscriberEvent,
    SubscriberStatus,
    Subscription,
    SubscriptionStatus,
    Suppression,
    Topic,
)

#: Rows per flush and commit: small enough to lose little, large enough to keep commits rare.
CHUNK_ROWS = 2000
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
    """Apply a CSV file to the subscriber list, subscribing every good row to ``topics``.

    ``smtputf8`` is ``Settings.SMTPUTF8`` (see ``normalise_address``).
    """

    def __init__(
        self,
        session: Session,
        topics: Sequence[Topic],
        *,
        report: ErrorReport | None = None,
        source: str = "import",
        smtputf8: bool = False,
    ) -> None:
        self.session = session
        self.smtputf8 = smtputf8
        self.topics = list(topics)
        self.report = report or ErrorReport(None)
        self.source = source
        self.summary = ImportSummary()
        self._seen: dict[str, int] = {}

    def run(self, stream: BinaryIO) -> Iterator[int]:
        """Import ``stream``; yield the bytes read so far after each flushed chunk."""
        chunk: list[ImportRow] = []
        for item in read_rows(stream, smtputf8=self.smtputf8):
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
        # Core statements, not ORM objects: a 100,000-row file must not build 100,000 instances.
        emails = [row.email for row in rows]
        hashes = {email: address_hash(email) for email in emails}
        suppressed = set(
            self.session.scalars(
                sa.select(Suppression.address_hash).where(
                    Suppression.address_hash.in_(hashes.values())
                )
            )
        )
        existing = {
            row.email: row for row in self.session.execute(_CURRENT.where(_S.c.email.in_(emails)))
        }
        subscribed = {
            (subscriber_id, topic_id): frequency
            for subscriber_id, topic_id, frequency in self.session.execute(
                sa.select(_SUB.c.subscriber_id, _SUB.c.topic_id, _SUB.c.frequency).where(
                    _SUB.c.subscriber_id.in_([row.id for row in existing.values()])
                )
            ).tuples()
        }
        writes = _Writes(now(), self.source, self.topics)
        new_rows = []
        for row in rows:
            current = existing.get(row.email)
            if hashes[row.email] in suppressed or (current and current.status in _LEFT):
                self.summary.skipped += 1
            elif current is None:
                new_rows.append(row)
            elif writes.update(current, row, subscribed):
                self.summary.updated += 1
            else:
                self.summary.skipped += 1
        self.summary.created += writes.create(self.session, new_rows)
        writes.execute(self.session)


_S = Subscriber.__table__
_SUB = Subscription.__table__
_EVENT = SubscriberEvent.__table__
_CURRENT = sa.select(
    _S.c.id, _S.c.email, _S.c.name, _S.c.language, _S.c.timezone, _S.c.status, _S.c.attributes
)


class _Writes:
    """The inserts and updates of one chunk, sent as a few multi-row statements."""

    def __init__(self, at: datetime, source: str, topics: Sequence[Topic]) -> None:
        self.at, self.source, self.topics = at, source, topics
        self.updates: list[dict[str, Any]] = []
        self.subscriptions: list[dict[str, Any]] = []
        self.frequencies: list[dict[str, Any]] = []
        self.events: list[dict[str, Any]] = []

    def update(
        self, current: sa.Row[Any], row: ImportRow, subscribed: dict[tuple[int, int], str]
    ) -> bool:
        profile = _profile(row)
        changed = [key for key, value in profile.items() if getattr(current, key) != value]
        attributes = {**(current.attributes or {}), **row.attributes}
        if attributes != (current.attributes or {}):
            changed.append("attributes")
        # An existing subscription is left alone: an unsubscribed topic stays unsubscribed.
        added = [topic for topic in self.topics if (current.id, topic.id) not in subscribed]
        # A frequency column does change existing subscriptions: it is how often, not consent.
        refreshed = [
            topic
            for topic in self.topics
            if row.frequency is not None
            and subscribed.get((current.id, topic.id), row.frequency) != row.frequency
        ]
        if refreshed:
            changed.append("frequency")
            self.frequencies.extend(
                {"b_sid": current.id, "b_tid": topic.id, "frequency": row.frequency}
                for topic in refreshed
            )
        if changed:
            values = {"name": current.name, "language": current.language,
                      "timezone": current.timezone, **profile}  # fmt: skip
            self.updates.append({"b_id": current.id, **values, "attributes": attributes})
        self._subscribe(current.id, added, row.frequency or Frequency.IMMEDIATELY)
        if changed or added:
            detail = {"source": self.source, "fields": changed, "topics": [t.slug for t in added]}
            if row.frequency is not None:
                detail["frequency"] = row.frequency.value
            self.events.append(self._event(current.id, detail))
        return bool(changed or added)

    def create(self, session: Session, rows: list[ImportRow]) -> int:
        if not rows:
            return 0
        # The database's clock stamps the rows: binding three datetimes per row costs more than
        # the rest of the insert on SQLite.
        stamp = sa.func.current_timestamp()
        insert = sa.insert(_S).values(created_at=stamp, updated_at=stamp, consent_at=stamp)
        session.execute(insert, [_new_subscriber(row, self.source) for row in rows])
        # INSERT … SELECT by address: the database fills in the new ids, Python builds no rows.
        at = sa.literal(self.at, UTCDateTime())
        by_frequency: dict[Frequency, list[str]] = {}
        for row in rows:
            by_frequency.setdefault(row.frequency or Frequency.IMMEDIATELY, []).append(row.email)
        columns = [
            "subscriber_id", "topic_id", "source", "status", "confirmed_at", "created_at",
            "frequency",
        ]  # fmt: skip
        for frequency, emails in by_frequency.items():
            readers = sa.select(_S.c.id).where(_S.c.email.in_(emails))
            for topic in self.topics:
                values = readers.add_columns(
                    sa.literal(topic.id), sa.literal(self.source),
                    sa.literal(str(SubscriptionStatus.CONFIRMED)), at, at,
                    sa.literal(frequency.value),
                )  # fmt: skip
                session.execute(sa.insert(_SUB).from_select(columns, values))
            detail = {"source": self.source, "topics": [topic.slug for topic in self.topics]}
            if frequency is not Frequency.IMMEDIATELY:
                detail["frequency"] = frequency.value
            events = readers.add_columns(
                sa.literal(str(EventKind.IMPORTED)), at, sa.literal(detail, JSONType)
            )
            session.execute(
                sa.insert(_EVENT).from_select(["subscriber_id", "kind", "at", "detail"], events)
            )
        return len(rows)

    def _subscribe(self, subscriber_id: int, topics: Sequence[Topic], frequency: Frequency) -> None:
        self.subscriptions.extend(
            {"subscriber_id": subscriber_id, "topic_id": topic.id, "source": self.source,
             "status": SubscriptionStatus.CONFIRMED, "confirmed_at": self.at,
             "created_at": self.at, "frequency": frequency}
            for topic in topics
        )  # fmt: skip

    def _event(self, subscriber_id: int, detail: dict[str, Any]) -> dict[str, Any]:
        return {"subscriber_id": subscriber_id, "kind": EventKind.IMPORTED, "at": self.at,
                "detail": detail, "ip": None}  # fmt: skip

    def execute(self, session: Session) -> None:
        if self.updates:
            session.execute(
                sa.update(_S).where(_S.c.id == sa.bindparam("b_id")).values(updated_at=self.at),
                self.updates,
            )
        if self.subscriptions:
            session.execute(sa.insert(_SUB), self.subscriptions)
        if self.frequencies:
            session.execute(
                sa.update(_SUB).where(
                    _SUB.c.subscriber_id == sa.bindparam("b_sid"),
                    _SUB.c.topic_id == sa.bindparam("b_tid"),
                ),
                self.frequencies,
            )
        if self.events:
            session.execute(sa.insert(_EVENT), self.events)


def _profile(row: ImportRow) -> dict[str, str]:
    values = {"name": row.name, "language": row.language, "timezone": row.timezone}
    return {key: value for key, value in values.items() if value is not None}


def _new_subscriber(row: ImportRow, source: str) -> dict[str, Any]:
    return {
        "email": row.email,
        "name": row.name or "",
        "language": row.language or "en",
        "timezone": row.timezone or "",
        "attributes": row.attributes,
        "status": SubscriberStatus.ACTIVE,
        "consent_source": source,
    }
