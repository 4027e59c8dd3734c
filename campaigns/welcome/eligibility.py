"""Who is due a welcome: newcomers to a welcome's topics, once, and never a quick re-subscriber.

The rules, for a subscriber and a welcome that is on and approved:

- A subscription to one of its topics was confirmed since the welcome was turned on and
  within ``FRESH_FOR`` (an import is not a confirmation: imported readers are not welcomed).
- No welcome from it was recorded for them in the last ``QUIET_FOR`` (90 days): a welcome goes
  once, and a reader who leaves and comes back within 90 days is not welcomed again.
- They are new to its topics: none of their subscriptions to them was confirmed before the
  welcome was turned on or before their last welcome, and they left none of its topics in the
  last 90 days (a subscription ended, or the consent history says so).

A subscriber who fails the third rule gets a ``skipped`` delivery saying why, so that the
scheduler's next tick does not weigh them again. A welcome for a category covers its topics;
the welcome for all covers the topics whose category has no welcome of its own.
"""

from __future__ import annotations

from collections.abc import Collection, Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

import sqlalchemy as sa
from sqlalchemy.orm import Session

from campaigns.welcome.models import WelcomeDelivery, WelcomeMessage
from campaigns.welcome.service import is_approved, list_welcomes
from subscribers.models import (
    EventKind,
    Subscriber,
    SubscriberEvent,
    SubscriberStatus,
    Subscription,
    SubscriptionStatus,
    Topic,
)

#: Subscriptions confirmed longer ago are not welcomed: a welcome that waited weeks for its
#: approval would arrive out of the blue.
FRESH_FOR = timedelta(days=7)
#: A reader welcomed, or who left one of a welcome's topics, this recently is not welcomed again.
QUIET_FOR = timedelta(days=90)
#: Subscription sources that are no confirmation by the reader.
NOT_CONFIRMED_BY_READER = ("import",)


@dataclass(frozen=True, slots=True)
class Newcomer:
    """A subscriber due a welcome (or a decision to skip it, ``skip_reason``)."""

    welcome_id: int
    subscriber_id: int
    #: The number their delivery gets: one more than their last from this welcome.
    number: int
    #: The topics of the welcome they have confirmed, in display order.
    topic_ids: tuple[int, ...]
    skip_reason: str = ""


def covering_welcomes(
    welcomes: Iterable[WelcomeMessage], topics: Iterable[Topic]
) -> dict[int, WelcomeMessage]:
    """Map each topic id to the active welcome that covers it (its category's, else all's)."""
    active = [welcome for welcome in welcomes if welcome.active]
    by_category = {welcome.category: welcome for welcome in active if not welcome.for_all}
    for_all = next((welcome for welcome in active if welcome.for_all), None)
    covered = {}
    for topic in topics:
        welcome = by_category.get(topic.category, for_all)
        if welcome is not None:
            covered[topic.id] = welcome
    return covered


def find_newcomers(session: Session, at: datetime, *, limit: int) -> list[Newcomer]:
    """Return up to ``limit`` subscribers due a welcome at ``at``, the earliest confirmed first."""
    topics = list(session.scalars(sa.select(Topic).order_by(Topic.category, Topic.position)))
    covered = covering_welcomes(list_welcomes(session), topics)
    by_welcome: dict[int, list[Topic]] = {}
    welcomes: dict[int, WelcomeMessage] = {}
    for topic in topics:
        welcome = covered.get(topic.id)
        if welcome is not None and is_approved(welcome.issue):
            by_welcome.setdefault(welcome.id, []).append(topic)
            welcomes[welcome.id] = welcome
    found: list[Newcomer] = []
    for welcome_id, scope in by_welcome.items():
        if len(found) >= limit:
            break
        welcome = welcomes[welcome_id]
        candidates = _candidates(session, welcome, scope, at, limit - len(found))
        found += _decide(session, welcome, scope, candidates, at)
    return found


def _candidates(
    session: Session, welcome: WelcomeMessage, scope: Sequence[Topic], at: datetime, limit: int
) -> list[int]:
    since = max(at - FRESH_FOR, welcome.enabled_at)
    welcomed_lately = sa.exists().where(
        WelcomeDelivery.welcome_id == welcome.id,
        WelcomeDelivery.subscriber_id == Subscription.subscriber_id,
        WelcomeDelivery.recorded_at >= at - QUIET_FOR,
    )
    first_confirmed = sa.func.min(Subscription.confirmed_at)
    query = (
        sa.select(Subscription.subscriber_id)
        .join(Subscriber, Subscriber.id == Subscription.subscriber_id)
        .where(
            Subscription.topic_id.in_([topic.id for topic in scope]),
            Subscription.status == SubscriptionStatus.CONFIRMED,
            Subscription.confirmed_at >= since,
            Subscription.confirmed_at <= at,
            Subscription.source.not_in(NOT_CONFIRMED_BY_READER),
            Subscriber.status == SubscriberStatus.ACTIVE,
            ~welcomed_lately,
        )
        .group_by(Subscription.subscriber_id)
        .order_by(first_confirmed, Subscription.subscriber_id)
        .limit(limit)
    )
    return list(session.scalars(query))


def _decide(
    session: Session,
    welcome: WelcomeMessage,
    scope: Sequence[Topic],
    subscriber_ids: Sequence[int],
    at: datetime,
) -> list[Newcomer]:
    if not subscriber_ids:
        return []
    order = {topic.id: position for position, topic in enumerate(scope)}
    subscriptions: dict[int, list[Subscription]] = {sid: [] for sid in subscriber_ids}
    rows = session.scalars(
        sa.select(Subscription).where(
            Subscription.subscriber_id.in_(subscriber_ids), Subscription.topic_id.in_(order)
        )
    )
    for subscription in rows:
        subscriptions[subscription.subscriber_id].append(subscription)
    last = _last_deliveries(session, welcome.id, subscriber_ids)
    left = _left_lately(session, subscriber_ids, {topic.slug for topic in scope}, at)
    newcomers = []
    for subscriber_id in subscriber_ids:
        mine = subscriptions[subscriber_id]
        confirmed = sorted(
            (s for s in mine if s.status == SubscriptionStatus.CONFIRMED),
            key=lambda s: order[s.topic_id],
        )
        number, last_at = last.get(subscriber_id, (0, None))
        reason = _skip_reason(welcome, confirmed, mine, last_at, subscriber_id in left, at)
        newcomers.append(
            Newcomer(
                welcome.id,
                subscriber_id,
                number + 1,
                tuple(s.topic_id for s in confirmed),
                reason,
            )
        )
    return newcomers


def _skip_reason(
    welcome: WelcomeMessage,
    confirmed: Sequence[Subscription],
    mine: Sequence[Subscription],
    last_welcomed: datetime | None,
    left_lately: bool,
    at: datetime,
) -> str:
    started = [s.confirmed_at for s in confirmed]
    if any(when is None or when < welcome.enabled_at for when in started):
        return "Already a reader of these topics when the welcome was turned on."
    welcomed = last_welcomed
    if welcomed is not None and any(when is not None and when < welcomed for when in started):
        return "Welcomed before, and still reading since."
    ended = [s.unsubscribed_at for s in mine if s.unsubscribed_at is not None]
    if left_lately or any(when >= at - QUIET_FOR for when in ended):
        return "Came back within 90 days of leaving: not welcomed again."
    return ""


def _last_deliveries(
    session: Session, welcome_id: int, subscriber_ids: Collection[int]
) -> dict[int, tuple[int, datetime]]:
    rows = session.execute(
        sa.select(
            WelcomeDelivery.subscriber_id,
            sa.func.max(WelcomeDelivery.number),
            sa.func.max(WelcomeDelivery.recorded_at),
        )
        .where(
            WelcomeDelivery.welcome_id == welcome_id,
            WelcomeDelivery.subscriber_id.in_(subscriber_ids),
        )
        .group_by(WelcomeDelivery.subscriber_id)
    )
    return {subscriber_id: (number, at) for subscriber_id, number, at in rows}


def _left_lately(
    session: Session, subscriber_ids: Collection[int], slugs: set[str], at: datetime
) -> set[int]:
    """Return who left one of ``slugs`` (or everything) in the last 90 days, by their history."""
    rows = session.execute(
        sa.select(
            SubscriberEvent.subscriber_id, SubscriberEvent.kind, SubscriberEvent.detail
        ).where(
            SubscriberEvent.subscriber_id.in_(subscriber_ids),
            SubscriberEvent.at >= at - QUIET_FOR,
            SubscriberEvent.kind.in_([EventKind.UNSUBSCRIBED, EventKind.PREFERENCES_CHANGED]),
        )
    )
    left = set()
    for subscriber_id, kind, detail in rows:
        if kind == EventKind.UNSUBSCRIBED:
            # Without topics it was an unsubscribe from everything.
            topics = detail.get("topics")
            ended = slugs if topics is None else set(topics)
        else:
            ended = set(detail.get("removed") or ())
        if ended & slugs:
            left.add(subscriber_id)
    return left
