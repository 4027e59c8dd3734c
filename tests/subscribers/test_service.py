"""Subscribing through the service: what is stored, and how few statements it takes."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

import pytest
import sqlalchemy as sa
from sqlalchemy.orm import Session

from engine.db import Database
from engine.errors import ValidationFailed
from subscribers.addresses import UnsupportedAddress
from subscribers.history import record_events
from subscribers.models import (
    EventKind,
    OptIn,
    Subscriber,
    SubscriberEvent,
    Subscription,
    SubscriptionStatus,
    SuppressionReason,
)
from subscribers.service import subscribe
from subscribers.suppression import suppress
from tests.factories import make_subscriber, make_topic


@contextmanager
def _statements(database: Database) -> Iterator[list[str]]:
    seen: list[str] = []

    def record(_conn: object, _cursor: object, statement: str, *_: object) -> None:
        if not statement.startswith("BEGIN"):
            seen.append(" ".join(statement.split()[:3]))

    sa.event.listen(database.engine, "before_cursor_execute", record)
    try:
        yield seen
    finally:
        sa.event.remove(database.engine, "before_cursor_execute", record)


def _history(session: Session, subscriber: Subscriber) -> list[tuple[str, dict, str | None]]:
    events = session.scalars(
        sa.select(SubscriberEvent)
        .where(SubscriberEvent.subscriber_id == subscriber.id)
        .order_by(SubscriberEvent.id)
    )
    return [(event.kind, event.detail, event.ip) for event in events]


def test_new_address_is_stored_in_one_flush_with_its_history(
    session: Session, database: Database
) -> None:
    double = make_topic(session, "trafficking")
    single = make_topic(session, "digest", opt_in=OptIn.SINGLE)
    session.commit()
    with _statements(database) as statements:
        outcome = subscribe(session, "New@Example.com", [double, single], ip="192.0.2.9")
    # No UPDATE after the INSERT, no load of the new subscriber's empty subscriptions, and the
    # history in one statement (SQLite inserts the two subscriptions one by one).
    assert list(dict.fromkeys(statements)) == [
        "SELECT (SELECT suppression.reason",
        "INSERT INTO subscriber",
        "INSERT INTO subscription",
        "INSERT INTO subscriber_event",
    ]
    assert statements.count("INSERT INTO subscriber_event") == 1
    subscriber = session.get(Subscriber, outcome.subscriber_id)
    assert subscriber is not None and subscriber.email == "new@example.com"
    assert outcome.confirmation_queued and outcome.pending == [double]
    assert subscriber.confirmation_due_at is not None and subscriber.confirmation_sent_at is None
    session.commit()
    session.expire_all()
    assert {s.topic_id: s.status for s in subscriber.subscriptions} == {
        double.id: SubscriptionStatus.UNCONFIRMED,
        single.id: SubscriptionStatus.CONFIRMED,
    }
    assert _history(session, subscriber) == [
        (
            EventKind.SUBSCRIBE_REQUESTED,
            {"topics": ["trafficking", "digest"], "source": "form"},
            "192.0.2.9",
        ),
        (EventKind.SUBSCRIBED, {"topics": ["digest"], "source": "form"}, "192.0.2.9"),
    ]


def test_known_address_keeps_its_subscriptions_and_queues_one_email(session: Session) -> None:
    first, second = make_topic(session), make_topic(session)
    subscriber = make_subscriber(session, "known@example.com", topics=[first])
    session.commit()
    outcome = subscribe(session, "known@example.com", [first, second])
    assert outcome.subscriber_id == subscriber.id and outcome.pending == [second]
    assert outcome.confirmation_queued
    again = subscribe(session, "known@example.com", [second])
    assert again.pending == [second] and not again.confirmation_queued
    session.commit()
    statuses = session.execute(
        sa.select(Subscription.topic_id, Subscription.status).where(
            Subscription.subscriber_id == subscriber.id
        )
    )
    assert dict(statuses.tuples().all()) == {
        first.id: SubscriptionStatus.CONFIRMED,
        second.id: SubscriptionStatus.UNCONFIRMED,
    }
    kinds = [kind for kind, _, _ in _history(session, subscriber)]
    assert kinds == [EventKind.SUBSCRIBE_REQUESTED, EventKind.SUBSCRIBE_REQUESTED]


def test_hard_suppressed_address_writes_nothing(session: Session, database: Database) -> None:
    topic = make_topic(session)
    suppress(session, "gone@example.com", SuppressionReason.COMPLAINT, source="test")
    session.commit()
    with _statements(database) as statements:
        outcome = subscribe(session, "gone@example.com", [topic])
    assert outcome.subscriber_id is None and not outcome.confirmation_queued
    assert not [statement for statement in statements if not statement.startswith("SELECT")]


def test_record_events_flushes_a_new_subscriber_and_keeps_the_order(session: Session) -> None:
    subscriber = Subscriber(email="fresh@example.com", consent_source="test")
    session.add(subscriber)
    events = [
        (EventKind.IMPORTED, {"source": "test"}),
        (EventKind.EDITED, {"fields": ["name"]}),
        (EventKind.PAUSED, {}),
    ]
    record_events(session, subscriber, events, "198.51.100.4")
    assert subscriber.id is not None
    assert _history(session, subscriber) == [
        (kind, detail, "198.51.100.4") for kind, detail in events
    ]


def test_a_name_with_a_line_break_is_refused_and_nothing_stored(session: Session) -> None:
    topic = make_topic(session, "digest", opt_in=OptIn.SINGLE)
    session.commit()
    with pytest.raises(ValidationFailed, match=r"The name contains a line break \(U\+000A\)"):
        subscribe(session, "eve@example.com", [topic], name="Eve\nBcc: all@example.com")
    session.rollback()
    assert session.scalar(sa.select(sa.func.count()).select_from(Subscriber)) == 0


def test_an_address_with_a_curly_apostrophe_is_refused_unless_smtputf8(session: Session) -> None:
    topic = make_topic(session, "digest", opt_in=OptIn.SINGLE)
    session.commit()
    with pytest.raises(UnsupportedAddress, match="U\\+2019"):
        subscribe(session, "o\u2019brien@example.com", [topic])
    session.rollback()
    outcome = subscribe(session, "o\u2019brien@example.com", [topic], smtputf8=True)
    assert session.get(Subscriber, outcome.subscriber_id).email == "o\u2019brien@example.com"
