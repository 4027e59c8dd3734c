"""Subscribe, confirm, change preferences: what readers do on the public pages.

Every function takes a session and flushes; the page that calls it commits. A confirmation email
is only queued here, in the same transaction (``subscribers.confirmations`` sends it), so a
rolled-back request never mails anyone and a committed one always does.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, cast

import sqlalchemy as sa
from sqlalchemy.orm import Session

from engine.clock import now
from subscribers.addresses import address_hash, normalise_address
from subscribers.confirmations import request_confirmation
from subscribers.history import record_event, record_events
from subscribers.models import (
    EventKind,
    Frequency,
    OptIn,
    Subscriber,
    SubscriberStatus,
    Subscription,
    SubscriptionStatus,
    Suppression,
    Topic,
    TopicVisibility,
)
from subscribers.profile import check_language, check_name, check_timezone
from subscribers.suppression import HARD_REASONS, lift_unsubscribe
from subscribers.topics import TopicRef


@dataclass(frozen=True, slots=True)
class SubscribeOutcome:
    """What a subscribe request did; the public page shows the same text whatever it is."""

    #: None when the address is hard-suppressed and nothing was stored.
    subscriber_id: int | None
    #: Topics waiting for the double opt-in confirmation.
    pending: list[TopicRef] = field(default_factory=list)
    #: A confirmation email was queued (at most one a day per address).
    confirmation_queued: bool = False


def subscribe(
    session: Session,
    email: str,
    topics: Sequence[TopicRef],
    *,
    name: str = "",
    language: str = "en",
    source: str = "form",
    ip: str | None = None,
    smtputf8: bool = False,
    frequency: Frequency = Frequency.IMMEDIATELY,
) -> SubscribeOutcome:
    """Record a request to receive ``topics`` at ``email``, each bulletin or in digests.

    Single opt-in topics start at once. Double opt-in topics wait for the confirmation link, and
    so does every topic for an address that unsubscribed before: only its owner may undo that.
    Hard-suppressed addresses (bounce, complaint, manual, erased) are left untouched.
    ``smtputf8`` is ``Settings.SMTPUTF8`` (see ``normalise_address``). ``frequency`` applies to
    the topics this request starts or asks to confirm; topics already confirmed keep theirs
    (changing them takes the preferences page's signed link).
    """
    address = normalise_address(email, smtputf8=smtputf8)
    reason, subscriber_id = _find_address(session, address)
    if reason in HARD_REASONS:
        return SubscribeOutcome(None)
    # The history names a digest frequency and a language other than English; each bulletin as
    # it is sent, in English, is the default.
    chosen: dict[str, str] = (
        {} if frequency is Frequency.IMMEDIATELY else {"frequency": frequency.value}
    )
    if check_language(language) != "en":
        chosen["language"] = check_language(language)
    requested = {"topics": _slugs(topics), "source": source, **chosen}
    events: list[tuple[EventKind, dict[str, Any]]] = [(EventKind.SUBSCRIBE_REQUESTED, requested)]
    if subscriber_id is None and reason is None:
        started, pending = _plan_topics(topics, {}, returning=False)
        values = _new_subscriber(address, name, language, source, ip)
        subscriber_id = _insert_subscriber(session, values, started, pending, frequency)
        queued = bool(pending)
    else:
        subscriber = session.get(Subscriber, subscriber_id) if subscriber_id else None
        if subscriber is None:
            subscriber = Subscriber(**_new_subscriber(address, name, language, source, ip))
            session.add(subscriber)
        returning = reason is not None or subscriber.status == SubscriberStatus.UNSUBSCRIBED
        started, pending = _request_topics(subscriber, topics, returning, frequency)
        queued = bool(pending) and request_confirmation(subscriber)
        session.flush()
        subscriber_id = subscriber.id
    if started:
        subscribed = {"topics": _slugs(started), "source": source, **chosen}
        events.append((EventKind.SUBSCRIBED, subscribed))
    record_events(session, subscriber_id, events, ip)
    return SubscribeOutcome(subscriber_id, pending, queued)


#: An address's suppression reason and subscriber id: one round trip for a first-time address,
#: the usual case. Statements are built once, as composing one costs about as much as running it,
#: and on tables rather than entities, which the ORM would otherwise compile for each run.
_suppression, _subscriber = Suppression.__table__.c, Subscriber.__table__.c
_ADDRESS_STATE = sa.select(
    sa.select(_suppression.reason)
    .where(_suppression.address_hash == sa.bindparam("digest"))
    .scalar_subquery(),
    sa.select(_subscriber.id).where(_subscriber.email == sa.bindparam("address")).scalar_subquery(),
)
# A first-time address is written as plain rows: the unit of work would cost several times more
# for objects nobody reads back in this transaction.
_INSERT_SUBSCRIBER = sa.insert(Subscriber.__table__)
_INSERT_SUBSCRIPTIONS = sa.insert(Subscription.__table__)


def _find_address(session: Session, address: str) -> tuple[str | None, int | None]:
    """Return the address's suppression reason and its subscriber's id, if any."""
    found = session.execute(
        _ADDRESS_STATE, {"digest": address_hash(address), "address": address}
    ).one()
    return found[0], found[1]


def _new_subscriber(
    address: str, name: str, language: str, source: str, ip: str | None
) -> dict[str, Any]:
    return {
        "email": address,
        "name": check_name(name),
        "language": check_language(language),
        "consent_source": source,
        "consent_at": now(),
        "consent_ip": ip,
        "attributes": {},
    }


def _insert_subscriber(
    session: Session,
    values: dict[str, Any],
    started: list[TopicRef],
    pending: list[TopicRef],
    frequency: Frequency,
) -> int:
    """Insert a new subscriber, its subscriptions and its queued confirmation; return its id."""
    at = values["consent_at"]
    # Session.execute is typed as Result, but an INSERT gives a CursorResult.
    result = cast(
        "sa.CursorResult[Any]",
        session.execute(
            _INSERT_SUBSCRIBER, {**values, "confirmation_due_at": at if pending else None}
        ),
    )
    inserted = result.inserted_primary_key
    if inserted is None:
        raise RuntimeError("the subscriber INSERT reported no primary key")
    subscriber_id: int = inserted[0]
    row = {
        "subscriber_id": subscriber_id,
        "status": SubscriptionStatus.CONFIRMED,
        "frequency": frequency,
    }
    rows = [{**row, "topic_id": topic.id, "confirmed_at": at} for topic in started]
    row["status"] = SubscriptionStatus.UNCONFIRMED
    rows += [{**row, "topic_id": topic.id, "confirmed_at": None} for topic in pending]
    if rows:
        session.execute(_INSERT_SUBSCRIPTIONS, rows)
    return subscriber_id


def _plan_topics(
    topics: Sequence[TopicRef], statuses: Mapping[int, str], returning: bool
) -> tuple[list[TopicRef], list[TopicRef]]:
    """Split requested topics into those that start now and those that wait for confirmation."""
    started: list[TopicRef] = []
    pending: list[TopicRef] = []
    for topic in topics:
        status = statuses.get(topic.id)
        if status == SubscriptionStatus.CONFIRMED and not returning:
            continue
        # Someone who left this topic must confirm again, even for a single opt-in topic.
        opted_out = status == SubscriptionStatus.UNSUBSCRIBED
        if topic.opt_in == OptIn.SINGLE and not returning and not opted_out:
            started.append(topic)
        else:
            pending.append(topic)
    return started, pending


def _request_topics(
    subscriber: Subscriber, topics: Sequence[TopicRef], returning: bool, frequency: Frequency
) -> tuple[list[TopicRef], list[TopicRef]]:
    # A subscriber not flushed yet has no rows to load: its collection starts empty.
    existing = {subscription.topic_id: subscription for subscription in subscriber.subscriptions}
    statuses = {topic_id: subscription.status for topic_id, subscription in existing.items()}
    started, pending = _plan_topics(topics, statuses, returning)
    for topic in started + pending:
        subscription = existing.get(topic.id)
        if subscription is None:
            subscription = Subscription(topic_id=topic.id, status=SubscriptionStatus.UNCONFIRMED)
            subscriber.subscriptions.append(subscription)
        subscription.frequency = frequency
        if topic in started:
            _confirm(subscription)
        else:
            subscription.status = SubscriptionStatus.UNCONFIRMED
    return started, pending


def _slugs(topics: Sequence[TopicRef]) -> list[str]:
    return [topic.slug for topic in topics]


def _confirm(subscription: Subscription) -> None:
    subscription.status = SubscriptionStatus.CONFIRMED
    subscription.confirmed_at = now()
    subscription.unsubscribed_at = None


def confirm_subscriber(session: Session, subscriber: Subscriber, *, ip: str | None) -> list[Topic]:
    """Confirm every topic waiting for ``subscriber``'s double opt-in; return those topics.

    Confirming proves the reader holds the mailbox, so an earlier unsubscribe is lifted; hard
    suppressions stay (the reader is told to contact the agency).
    """
    waiting = [s for s in subscriber.subscriptions if s.status == SubscriptionStatus.UNCONFIRMED]
    if not waiting:
        return []
    for subscription in waiting:
        _confirm(subscription)
    lift_unsubscribe(session, subscriber.email)
    if subscriber.status == SubscriberStatus.UNSUBSCRIBED:
        subscriber.status = SubscriberStatus.ACTIVE
    subscriber.confirmed_at = subscriber.consent_at = now()
    subscriber.consent_ip = ip
    topics = [subscription.topic for subscription in waiting]
    detail = {"topics": [topic.slug for topic in topics]}
    record_event(session, subscriber, EventKind.CONFIRMED, detail, ip)
    session.flush()
    return topics


@dataclass(frozen=True, slots=True)
class Preferences:
    """What a reader chose on the preferences page."""

    topic_ids: frozenset[int]
    language: str
    timezone: str
    paused: bool
    #: How often each ticked topic's bulletins arrive; a topic left out keeps its frequency.
    frequencies: Mapping[int, Frequency] = field(default_factory=dict)


def preference_topics(session: Session, subscriber: Subscriber) -> list[Topic]:
    """Return the topics a reader may choose: public ones and private ones they already have."""
    own = [subscription.topic_id for subscription in subscriber.subscriptions]
    query = sa.select(Topic).where(
        sa.or_(Topic.visibility == TopicVisibility.PUBLIC, Topic.id.in_(own))
    )
    return list(session.scalars(query.order_by(Topic.category, Topic.position, Topic.name)))


def update_preferences(
    session: Session, subscriber: Subscriber, choice: Preferences, *, ip: str | None
) -> None:
    """Apply the preferences page: the signed link proves the mailbox, so ticks start at once."""
    subscriber.language = check_language(choice.language)
    subscriber.timezone = check_timezone(choice.timezone)
    added, removed = _apply_topics(session, subscriber, choice.topic_ids)
    frequencies = _apply_frequencies(subscriber, choice.frequencies, choice.topic_ids)
    if added and subscriber.status == SubscriberStatus.UNSUBSCRIBED:
        lift_unsubscribe(session, subscriber.email)
        subscriber.status = SubscriberStatus.ACTIVE
    _apply_pause(session, subscriber, choice.paused, ip)
    detail = {
        "added": added,
        "removed": removed,
        **({"frequencies": frequencies} if frequencies else {}),
        "language": subscriber.language,
        "timezone": subscriber.timezone,
        "source": "preferences",
    }
    record_event(session, subscriber, EventKind.PREFERENCES_CHANGED, detail, ip)
    session.flush()


def _apply_topics(
    session: Session, subscriber: Subscriber, wanted: frozenset[int]
) -> tuple[list[str], list[str]]:
    existing = {subscription.topic_id: subscription for subscription in subscriber.subscriptions}
    added: list[str] = []
    removed: list[str] = []
    for topic in preference_topics(session, subscriber):
        subscription = existing.get(topic.id)
        if topic.id in wanted:
            if subscription is None:
                subscription = Subscription(topic=topic, status=SubscriptionStatus.UNCONFIRMED)
                subscriber.subscriptions.append(subscription)
            if subscription.status != SubscriptionStatus.CONFIRMED:
                _confirm(subscription)
                added.append(topic.slug)
        elif subscription is not None and subscription.status != SubscriptionStatus.UNSUBSCRIBED:
            subscription.status = SubscriptionStatus.UNSUBSCRIBED
            subscription.unsubscribed_at = now()
            removed.append(topic.slug)
    return added, removed


def _apply_frequencies(
    subscriber: Subscriber, frequencies: Mapping[int, Frequency], wanted: frozenset[int]
) -> dict[str, str]:
    """Set the frequency of each wanted subscription; return ``{slug: frequency}`` changed."""
    changed = {}
    for subscription in subscriber.subscriptions:
        frequency = frequencies.get(subscription.topic_id)
        if frequency is None or subscription.topic_id not in wanted:
            continue
        if subscription.frequency != frequency:
            subscription.frequency = frequency
            changed[subscription.topic.slug] = frequency.value
    return changed


def change_frequency(
    session: Session,
    subscriber: Subscriber,
    topics: Sequence[Topic],
    frequency: Frequency,
    *,
    source: str,
    ip: str | None = None,
) -> list[str]:
    """Set how often ``topics``' bulletins reach ``subscriber``; return the slugs changed.

    Only subscriptions the subscriber has (in any state) change; the change joins the consent
    history.
    """
    wanted = {topic.id for topic in topics}
    changed = []
    for subscription in subscriber.subscriptions:
        if subscription.topic_id in wanted and subscription.frequency != frequency:
            subscription.frequency = frequency
            changed.append(subscription.topic.slug)
    if changed:
        detail = {"topics": changed, "frequency": frequency.value, "source": source}
        record_event(session, subscriber, EventKind.FREQUENCY_CHANGED, detail, ip)
    session.flush()
    return changed


def _apply_pause(session: Session, subscriber: Subscriber, paused: bool, ip: str | None) -> None:
    if paused and subscriber.status == SubscriberStatus.ACTIVE:
        subscriber.status = SubscriberStatus.PAUSED
        record_event(session, subscriber, EventKind.PAUSED, {"source": "preferences"}, ip)
    elif not paused and subscriber.status == SubscriberStatus.PAUSED:
        subscriber.status = SubscriberStatus.ACTIVE
        record_event(session, subscriber, EventKind.RESUMED, {"source": "preferences"}, ip)


def leave_topics(
    session: Session, subscriber: Subscriber, topics: Sequence[Topic], source: str
) -> list[str]:
    """End the subscriber's subscriptions to ``topics`` (idempotent); return the slugs left."""
    wanted = {topic.id for topic in topics}
    left = []
    for subscription in subscriber.subscriptions:
        if (
            subscription.topic_id in wanted
            and subscription.status != SubscriptionStatus.UNSUBSCRIBED
        ):
            subscription.status = SubscriptionStatus.UNSUBSCRIBED
            subscription.unsubscribed_at = now()
            left.append(subscription.topic.slug)
    if left:
        record_event(
            session, subscriber, EventKind.UNSUBSCRIBED, {"topics": left, "source": source}
        )
    session.flush()
    return left
