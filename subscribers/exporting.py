"""Export subscribers as CSV, streamed page by page and safe to open in a spreadsheet.

Exporting 100,000 subscribers takes seconds, longer when the client downloads slowly, and the
rest of the site must keep writing meanwhile. So an export never holds one transaction for all
of it: it reads a page of rows by keyset (``id > last id``) in a short read-only transaction of
its own, closes it, and only then hands the rows on. On SQLite a read-only transaction begins
deferred and takes no write lock; on PostgreSQL no long transaction holds back vacuum. The price
is that the file is not one snapshot: someone who joins or leaves during the export may or may
not be in it, but nobody is listed twice.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Callable, Iterator, Sequence
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import Session

from subscribers.models import Subscriber, SubscriberStatus, Subscription

#: Characters that make spreadsheets treat a cell as a formula (OWASP CSV injection).
FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")
BASE_COLUMNS = ["email", "name", "language", "timezone", "status", "created_at"]
#: Rows read per transaction: each takes a few milliseconds on SQLite.
PAGE_ROWS = 2000
#: Opens a session that only reads, such as ``Database.read_sessionmaker``.
ReadSessions = Callable[[], Session]
_COLUMNS = (
    Subscriber.email,
    Subscriber.name,
    Subscriber.language,
    Subscriber.timezone,
    Subscriber.status,
    Subscriber.created_at,
    Subscriber.attributes,
)


def spreadsheet_safe(value: object) -> str:
    """Return ``value`` as text that a spreadsheet shows as written, never evaluates."""
    text = "" if value is None else str(value)
    return "'" + text if text.startswith(FORMULA_STARTS) else text


def attribute_keys(sessions: ReadSessions, topic_id: int | None = None) -> list[str]:
    """Return every attribute name in use, sorted (one paged pass over the attributes)."""
    keys: set[str] = set()
    for page in _pages(sessions, topic_id, (Subscriber.attributes,)):
        for row in page:
            keys.update(row.attributes or {})
    return sorted(keys)


def export_rows(sessions: ReadSessions, topic_id: int | None = None) -> Iterator[list[str]]:
    """Yield the header and one row per subscriber; attributes get a column each.

    Every page is read in a transaction of its own from ``sessions`` (see the module docstring);
    with ``topic_id``, only that topic's subscribers, with their status for it.
    """
    keys = attribute_keys(sessions, topic_id)
    by_topic = topic_id is not None
    header = BASE_COLUMNS + (["subscription_status"] if by_topic else []) + keys
    # Attribute names are typed by staff and imported from files: escaped like any cell.
    yield [spreadsheet_safe(name) for name in header]
    status = [Subscription.status.label("subscription_status")] if by_topic else []
    for page in _pages(sessions, topic_id, (*_COLUMNS, *status)):
        for row in page:
            cells: list[object] = [
                row.email,
                row.name,
                row.language,
                row.timezone,
                row.status,
                row.created_at.isoformat(),
            ]
            if by_topic:
                cells.append(row.subscription_status)
            attributes = row.attributes or {}
            cells.extend(attributes.get(key, "") for key in keys)
            yield [spreadsheet_safe(value) for value in cells]


def export_csv(sessions: ReadSessions, topic_id: int | None = None) -> Iterator[str]:
    """Yield the export as CSV text, a few hundred rows at a time."""
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    for count, row in enumerate(export_rows(sessions, topic_id), start=1):
        writer.writerow(row)
        if count % 500 == 0:
            yield buffer.getvalue()
            buffer.seek(0)
            buffer.truncate()
    yield buffer.getvalue()


def _pages(
    sessions: ReadSessions, topic_id: int | None, columns: Sequence[Any]
) -> Iterator[Sequence[sa.Row[Any]]]:
    """Yield the subscribers' ``columns`` a page at a time, each page read and closed first."""
    query = sa.select(Subscriber.id, *columns)
    if topic_id is not None:
        query = query.join(
            Subscription,
            sa.and_(Subscription.subscriber_id == Subscriber.id, Subscription.topic_id == topic_id),
        )
    # Erased rows have no personal data left to export, whole list or one topic.
    query = query.where(Subscriber.status != SubscriberStatus.ERASED).order_by(Subscriber.id)
    after = 0
    while True:
        with sessions() as session:
            page = session.execute(query.where(Subscriber.id > after).limit(PAGE_ROWS)).all()
        if page:
            yield page
        if len(page) < PAGE_ROWS:
            return
        after = page[-1].id
