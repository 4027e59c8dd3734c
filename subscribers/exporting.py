"""Export subscribers as CSV, streamed row by row and safe to open in a spreadsheet."""

from __future__ import annotations

import csv
import io
from collections.abc import Iterator
from typing import TypeAlias

import sqlalchemy as sa
from sqlalchemy.orm import Session

from subscribers.models import (
    Subscriber,
    SubscriberStatus,
    Subscription,
    SubscriptionStatus,
    Topic,
)

#: Characters that make spreadsheets treat a cell as a formula (OWASP CSV injection).
FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")
BASE_COLUMNS = ["email", "name", "language", "timezone", "status", "created_at"]
_STREAM_ROWS = 2000
# Subscribers with NULL, or with their status for the exported topic.
_ExportQuery: TypeAlias = (
    sa.Select[tuple[Subscriber, None]] | sa.Select[tuple[Subscriber, SubscriptionStatus]]
)


def spreadsheet_safe(value: object) -> str:
    """Return ``value`` as text that a spreadsheet shows as written, never evaluates."""
    text = "" if value is None else str(value)
    return "'" + text if text.startswith(FORMULA_STARTS) else text


def _subscribers(topic: Topic | None) -> _ExportQuery:
    query: _ExportQuery = sa.select(Subscriber, sa.null())
    if topic is not None:
        query = sa.select(Subscriber, Subscription.status).join(
            Subscription,
            sa.and_(Subscription.subscriber_id == Subscriber.id, Subscription.topic_id == topic.id),
        )
    # Erased rows have no personal data left to export, whole list or one topic.
    return query.where(Subscriber.status != SubscriberStatus.ERASED).order_by(Subscriber.id)


def attribute_keys(session: Session, topic: Topic | None = None) -> list[str]:
    """Return every attribute name in use, sorted (one streamed pass over the attributes)."""
    inner = _subscribers(topic).with_only_columns(Subscriber.attributes)
    keys: set[str] = set()
    for attributes in session.execute(inner.execution_options(yield_per=_STREAM_ROWS)).scalars():
        keys.update(attributes or {})
    return sorted(keys)


def export_rows(session: Session, topic: Topic | None = None) -> Iterator[list[str]]:
    """Yield the header and one row per subscriber; attributes get a column each."""
    keys = attribute_keys(session, topic)
    header = BASE_COLUMNS + (["subscription_status"] if topic is not None else []) + keys
    yield header
    query = _subscribers(topic).execution_options(yield_per=_STREAM_ROWS)
    for subscriber, subscription_status in session.execute(query):
        row: list[object] = [
            subscriber.email,
            subscriber.name,
            subscriber.language,
            subscriber.timezone,
            subscriber.status,
            subscriber.created_at.isoformat(),
        ]
        if topic is not None:
            row.append(subscription_status)
        row.extend(subscriber.attributes.get(key, "") for key in keys)
        yield [spreadsheet_safe(value) for value in row]


def export_csv(session: Session, topic: Topic | None = None) -> Iterator[str]:
    """Yield the export as CSV text, a few hundred rows at a time."""
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    for count, row in enumerate(export_rows(session, topic), start=1):
        writer.writerow(row)
        if count % 500 == 0:
            yield buffer.getvalue()
            buffer.seek(0)
            buffer.truncate()
    yield buffer.getvalue()
