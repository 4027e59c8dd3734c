"""The audience query: who a campaign would reach right now."""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import Session

from subscribers.models import (
    Frequency,
    Subscriber,
    SubscriberStatus,
    Subscription,
    SubscriptionStatus,
)
from subscribers.suppression import not_suppressed_clause


def audience_select(
    topic_ids: Iterable[int], segment: Mapping[str, Any] | None = None
) -> sa.Select[Any]:
    """Return a Core select of ``(id, email, name)`` for every mailable subscriber.

    A subscriber is mailable when active, confirmed on at least one of the topics and not
    suppressed. Overlapping topics give one row per subscriber (``EXISTS``, not a join).
    Only subscriptions that take each bulletin as it is sent count: daily and weekly readers
    get it in their digest (``digest_audience_select``).
    """
    ids = list(topic_ids)
    confirmed = (
        sa.select(Subscription.id)
        .where(
            Subscription.subscriber_id == Subscriber.id,
            Subscription.topic_id.in_(ids),
            Subscription.status == SubscriptionStatus.CONFIRMED,
            Subscription.frequency == Frequency.IMMEDIATELY,
        )
        .exists()
    )
    query = sa.select(Subscriber.id, Subscriber.email, Subscriber.name).where(
        Subscriber.status == SubscriberStatus.ACTIVE, confirmed, not_suppressed_clause()
    )
    for key, value in (segment or {}).items():
        query = query.where(Subscriber.attributes[key].as_string() == str(value))
    return query.order_by(Subscriber.id)


def count_audience(
    session: Session, topic_ids: Iterable[int], segment: Mapping[str, Any] | None = None
) -> int:
    """Return how many subscribers the audience has now."""
    inner = audience_select(topic_ids, segment).order_by(None).subquery()
    return session.scalar(sa.select(sa.func.count()).select_from(inner)) or 0


#: Topics per bit mask: a sum of distinct powers of two below 2**62 fits a signed 64-bit integer.
_MASK_BITS = 62
#: Ends a digest key's language: ``es|5``. A key without one is the English digest's.
LANGUAGE_MARK = "|"


def digest_audience_select(
    frequency: Frequency, topic_ids: Sequence[int], languages: Sequence[str] = ()
) -> sa.Select[Any]:
    """Return ``(id, email, topic_key)`` for every mailable subscriber of ``frequency`` digests.

    Mailable as in ``audience_select``, confirmed at this frequency on at least one of
    ``topic_ids``. ``topic_key`` says which of them: one bit per topic in the order given,
    62 to a number, the numbers joined by ``:``. A reader whose language starts with one of
    ``languages`` (``es``, ``es-MX``) has it in front, ``es|5``: their digest is in it.
    Readers of the same topics and language share a key, so a digest is rendered once per
    key, never once per reader, and the grouping never leaves the database. ``topic_key_of``
    builds the key of a set of topics the same way.
    """
    ids = list(topic_ids)
    masks = []
    for first in range(0, len(ids), _MASK_BITS):
        bits = {topic_id: 1 << n for n, topic_id in enumerate(ids[first : first + _MASK_BITS])}
        bit = sa.case(bits, value=Subscription.topic_id, else_=0)
        masks.append(sa.cast(sa.func.sum(sa.cast(bit, sa.BigInteger)), sa.String))
    key: Any = masks[0] if masks else sa.literal("")
    for mask in masks[1:]:
        key = key.concat(":").concat(mask)
    if languages:
        language = sa.func.lower(sa.func.coalesce(Subscriber.language, ""))
        whens = [
            (language.like(f"{code.lower()}%"), f"{code}{LANGUAGE_MARK}") for code in languages
        ]
        key = sa.case(*whens, else_=sa.literal("")).concat(key)
    return (
        sa.select(Subscriber.id, Subscriber.email, key.label("topic_key"))
        .join(Subscription, Subscription.subscriber_id == Subscriber.id)
        .where(
            Subscription.topic_id.in_(ids),
            Subscription.status == SubscriptionStatus.CONFIRMED,
            Subscription.frequency == frequency,
            Subscriber.status == SubscriberStatus.ACTIVE,
            not_suppressed_clause(),
        )
        # The language is the subscriber's (its id is the key): grouped by for the SQL only.
        .group_by(Subscriber.id, Subscriber.email, Subscriber.language)
    )


def topic_key_of(chosen: Iterable[int], topic_ids: Sequence[int], language: str = "") -> str:
    """Return the ``topic_key`` ``digest_audience_select`` gives a reader of ``chosen`` whose
    language is ``language`` (empty: English, or any language without digests of its own)."""
    wanted = set(chosen)
    masks = []
    for first in range(0, len(topic_ids), _MASK_BITS):
        chunk = topic_ids[first : first + _MASK_BITS]
        masks.append(str(sum(1 << n for n, topic_id in enumerate(chunk) if topic_id in wanted)))
    return (f"{language}{LANGUAGE_MARK}" if language else "") + ":".join(masks)


def language_of_key(key: str) -> str:
    """Return the language a ``topic_key`` names, or ``""`` for an English digest's."""
    language, _mark, _masks = key.rpartition(LANGUAGE_MARK)
    return language


def topics_of_key(key: str, topic_ids: Sequence[int]) -> list[int]:
    """Return the topics (in ``topic_ids`` order) that a ``topic_key`` stands for."""
    chosen: list[int] = []
    masks = key.rpartition(LANGUAGE_MARK)[2]
    for chunk_number, mask in enumerate(masks.split(":")):
        value = int(mask or 0)
        chunk = topic_ids[chunk_number * _MASK_BITS : (chunk_number + 1) * _MASK_BITS]
        chosen.extend(topic_id for n, topic_id in enumerate(chunk) if value >> n & 1)
    return chosen
