"""The staff list of subscribers: search and filters with keyset pagination.

Pages are cut by id (``id < after``), never by OFFSET, and every filter has an index, so the
list stays fast with a million subscribers. Text search matches prefixes for the same reason.
"""

from __future__ import annotations

from dataclasses import dataclass

import sqlalchemy as sa
from sqlalchemy.dialects import postgresql
from sqlalchemy.orm import Session

from subscribers.models import Subscriber, SubscriberStatus, Subscription, SubscriptionStatus

PAGE_SIZE = 50


@dataclass(frozen=True, slots=True)
class SubscriberFilter:
    """``query`` is an address or name prefix, or ``key=value`` for an attribute."""

    query: str = ""
    topic_id: int | None = None
    status: SubscriberStatus | None = None


@dataclass(frozen=True, slots=True)
class SubscriberPage:
    items: list[Subscriber]
    #: Pass as ``after`` for the next (older) page, if there is one.
    next_after: int | None
    #: Pass as ``before`` for the previous (newer) page, if there is one.
    previous_before: int | None


def _escape_like(text: str) -> str:
    return text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")


def _text_condition(session: Session, query: str) -> sa.ColumnElement[bool]:
    key, equals, value = query.partition("=")
    if equals and key.strip():
        if session.get_bind().dialect.name == "postgresql":
            # Containment uses the GIN index on attributes; ->> equality would scan.
            attributes = sa.type_coerce(Subscriber.attributes, postgresql.JSONB)
            return attributes.contains({key.strip(): value.strip()})
        return Subscriber.attributes[key.strip()].as_string() == value.strip()
    prefix = _escape_like(query.strip().lower()) + "%"
    by_email = Subscriber.email.like(prefix, escape="\\")
    if "@" in query:
        return by_email
    return sa.or_(by_email, sa.func.lower(Subscriber.name).like(prefix, escape="\\"))


def filtered_query(
    session: Session,
    filters: SubscriberFilter,
    *,
    id_below: int | None = None,
    id_above: int | None = None,
) -> sa.Select[tuple[Subscriber]]:
    """Return the select of subscribers matching ``filters`` (unordered), within the id bounds."""
    query = sa.select(Subscriber)
    if id_below is not None:
        query = query.where(Subscriber.id < id_below)
    if id_above is not None:
        query = query.where(Subscriber.id > id_above)
    if filters.query.strip():
        query = query.where(_text_condition(session, filters.query))
    if filters.status is not None:
        query = query.where(Subscriber.status == filters.status)
    if filters.topic_id is not None:
        subscribed = sa.select(Subscription.id).where(
            Subscription.subscriber_id == Subscriber.id,
            Subscription.topic_id == filters.topic_id,
            Subscription.status.in_([SubscriptionStatus.CONFIRMED, SubscriptionStatus.UNCONFIRMED]),
        )
        # Repeating the page bound inside lets PostgreSQL start its merge join at the bound
        # instead of walking every subscription above it (300 ms → under 1 ms at 1M rows).
        if id_below is not None:
            subscribed = subscribed.where(Subscription.subscriber_id < id_below)
        if id_above is not None:
            subscribed = subscribed.where(Subscription.subscriber_id > id_above)
        query = query.where(subscribed.exists())
    return query


def search_subscribers(
    session: Session,
    filters: SubscriberFilter,
    *,
    after: int | None = None,
    before: int | None = None,
    limit: int = PAGE_SIZE,
) -> SubscriberPage:
    """Return one page of matching subscribers, newest first."""
    if before is not None:
        query = filtered_query(session, filters, id_above=before)
        rows = list(session.scalars(query.order_by(Subscriber.id.asc()).limit(limit + 1)))
        more_newer = len(rows) > limit
        items = list(reversed(rows[:limit]))
        return SubscriberPage(
            items, items[-1].id if items else None, items[0].id if items and more_newer else None
        )
    query = filtered_query(session, filters, id_below=after)
    rows = list(session.scalars(query.order_by(Subscriber.id.desc()).limit(limit + 1)))
    items = rows[:limit]
    next_after = items[-1].id if len(rows) > limit else None
    previous_before = items[0].id if after is not None and items else None
    return SubscriberPage(items, next_after, previous_before)
