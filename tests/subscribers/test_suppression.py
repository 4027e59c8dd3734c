"""Suppression, unsubscribe everywhere, erasure and the audience they feed."""

from __future__ import annotations

import pytest
import sqlalchemy as sa
from sqlalchemy.orm import Session

from subscribers import history
from subscribers.addresses import address_hash
from subscribers.audience import audience_select
from subscribers.history import HistoryEntry, register_erasure_handler, subscriber_history
from subscribers.models import (
    EventKind,
    Subscriber,
    SubscriberEvent,
    SubscriberStatus,
    Subscription,
    Suppression,
    SuppressionReason,
)
from subscribers.profile import erase_subscriber
from subscribers.service import subscribe
from subscribers.suppression import (
    find_suppression,
    hard_suppressed,
    is_suppressed,
    lift_suppression,
    suppress,
    unsubscribe_everywhere,
)
from tests.factories import make_subscriber, make_topic


def test_suppress_is_idempotent_and_case_insensitive(session: Session) -> None:
    first = suppress(session, "Someone@Example.com", SuppressionReason.MANUAL, source="staff:1")
    again = suppress(session, "someone@example.com", SuppressionReason.MANUAL, source="x")
    assert first.id == again.id and again.source == "staff:1"
    assert is_suppressed(session, "SOMEONE@example.com")
    assert session.scalar(sa.select(sa.func.count()).select_from(Suppression)) == 1


def test_hard_suppressed_names_only_what_the_owner_cannot_undo(session: Session) -> None:
    suppress(session, "bounced@example.com", SuppressionReason.BOUNCE, source="test")
    suppress(session, "left@example.com", SuppressionReason.UNSUBSCRIBE, source="test")
    addresses = ["bounced@example.com", "left@example.com", "fine@example.com"]
    assert hard_suppressed(session, addresses) == {"bounced@example.com"}
    assert hard_suppressed(session, []) == set()


def test_hard_reason_replaces_unsubscribe_but_not_the_reverse(session: Session) -> None:
    suppress(session, "a@example.com", SuppressionReason.UNSUBSCRIBE)
    assert suppress(session, "a@example.com", SuppressionReason.COMPLAINT).reason == "complaint"
    assert suppress(session, "a@example.com", SuppressionReason.UNSUBSCRIBE).reason == "complaint"


def test_unsubscribe_everywhere_without_a_subscriber_still_suppresses(session: Session) -> None:
    assert unsubscribe_everywhere(session, "Nobody@Example.com", "sendgrid") is None
    entry = find_suppression(session, "nobody@example.com")
    assert entry is not None and entry.reason == SuppressionReason.UNSUBSCRIBE
    assert entry.source == "sendgrid"


def test_audience_leaves_out_suppressed_unsubscribed_paused_and_pending(session: Session) -> None:
    topic = make_topic(session)
    keep = make_subscriber(session, "keep@example.com", topics=[topic])
    bounced = make_subscriber(session, "bounced@example.com", topics=[topic])
    left = make_subscriber(session, "left@example.com", topics=[topic])
    make_subscriber(session, "paused@example.com", topics=[topic], status=SubscriberStatus.PAUSED)
    make_subscriber(session, "pending@example.com", topics=[topic],
                    subscription_status="unconfirmed")  # fmt: skip
    suppress(session, bounced.email, SuppressionReason.BOUNCE, source="dsn")
    unsubscribe_everywhere(session, left, "webhook")
    emails = [row.email for row in session.execute(audience_select([topic.id]))]
    assert emails == [keep.email]


def test_lift_suppression_lets_staff_undo_a_bounce(session: Session) -> None:
    subscriber = make_subscriber(session, "lift@example.com")
    suppress(session, subscriber.email, SuppressionReason.BOUNCE, source="dsn")
    removed = lift_suppression(session, subscriber.email, source="staff:1", note="fixed mailbox")
    assert removed is not None and not is_suppressed(session, subscriber.email)
    kinds = session.scalars(
        sa.select(SubscriberEvent.kind).where(SubscriberEvent.subscriber_id == subscriber.id)
    ).all()
    assert kinds == [EventKind.SUPPRESSED, EventKind.SUPPRESSION_LIFTED]
    assert lift_suppression(session, subscriber.email, source="staff:1") is None


def test_erasure_keeps_only_a_hash(session: Session, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(history, "_erasure_handlers", [])
    topic = make_topic(session)
    subscriber = make_subscriber(session, "erase.me@example.com", topics=[topic], name="Pat Doe")
    subscriber.attributes = {"state": "OH"}
    subscribe(session, "erase.me@example.com", [topic], ip="192.0.2.1")
    calls: list[tuple[int, str]] = []
    register_erasure_handler(lambda _s, sid, address: calls.append((sid, address)))
    subscriber_id = subscriber.id
    erase_subscriber(session, subscriber, source="staff:1")
    assert calls[-1] == (subscriber_id, "erase.me@example.com")
    assert session.get(Subscriber, subscriber_id) is None
    for model in (Subscription, SubscriberEvent):
        assert session.scalar(sa.select(sa.func.count()).select_from(model)) == 0
    entry = session.scalar(sa.select(Suppression))
    assert (entry.address, entry.reason) == (None, SuppressionReason.ERASED)
    assert entry.address_hash == address_hash("erase.me@example.com")
    assert subscribe(session, "Erase.Me@example.com", [topic]).subscriber_id is None
    assert session.scalar(sa.select(sa.func.count()).select_from(Subscriber)) == 0


def test_history_sources_from_other_packages_join_the_history(
    session: Session, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(history, "_history_sources", [])
    subscriber = make_subscriber(session)
    unsubscribe_everywhere(session, subscriber, "page", campaign_id=5)
    session.flush()

    def sends(_session: Session, subscriber_id: int, _limit: int) -> list[HistoryEntry]:
        return [HistoryEntry(subscriber.created_at, "sent", f"Campaign 5 to {subscriber_id}")]

    history.register_history_source(sends)
    entries = subscriber_history(session, subscriber.id)
    summaries = [entry.summary for entry in entries]
    assert f"Campaign 5 to {subscriber.id}" in summaries
    assert "Unsubscribed (via page), from campaign 5" in summaries
