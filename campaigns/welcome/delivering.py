"""Send welcomes: record the intent, send with no transaction open, then record the outcome.

Each newcomer gets a ``welcome_delivery`` row in a transaction of its own before anything is
sent: the row is unique per welcome, subscriber and number, so two schedulers (or a scheduler
and ``pinwheel welcome send-pending``) that pick the same reader insert it once, and only the
one that inserted it sends. Its outcome is recorded right after its own send, in another short
transaction, before the next reader is recorded: a sender that dies leaves at most one row
``sending``. Such a row, like one whose send got no answer (``OutcomeUnknownError``), stays
``sending``: the reader may have the email, so it is never sent again (staff see "not known").
A provider's temporary refusal is known not to have sent it, so it is tried again later; a
refusal of our credentials stops the round and gives the welcome back without spending a try.
"""

from __future__ import annotations

import logging
from collections import Counter
from dataclasses import dataclass
from datetime import datetime, timedelta
from enum import StrEnum
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import Session

from campaigns.issues.models import Issue
from campaigns.issues.revisions import find_revision
from campaigns.welcome.composition import Letter, SignedUp, message_id
from campaigns.welcome.eligibility import Newcomer, find_newcomers
from campaigns.welcome.handover import WelcomeSender
from campaigns.welcome.models import WelcomeDelivery, WelcomeDeliveryStatus, WelcomeMessage
from campaigns.welcome.service import is_approved
from engine.clock import now
from engine.config import Settings
from engine.db import Database, rowcount
from engine.delivery.base import BackendAuthError, ResultStatus, SendResult
from subscribers.models import (
    Frequency,
    Subscriber,
    SubscriberStatus,
    Subscription,
    SubscriptionStatus,
    Topic,
)
from subscribers.suppression import hard_suppressed
from subscribers.topics import topic_text

log = logging.getLogger(__name__)

#: Newcomers weighed per round: each is recorded in a short transaction of its own.
BATCH_SIZE = 20
#: A temporary refusal is retried after 5, 10, 20 … minutes, this many tries in all.
MAX_ATTEMPTS = 5
FIRST_RETRY = timedelta(minutes=5)

SUPPRESSED = "The address is suppressed (a bounce or a complaint)."
NOT_KNOWN = (
    "Not known: the provider took the request but its answer never came. The reader may have "
    "it, so it is not sent again."
)
CREDENTIALS_REFUSED = (
    "Held back: the mail provider refused our credentials ({backend}). Check the API key or "
    "SMTP login in the configuration; it is tried again without losing a try."
)


@dataclass(frozen=True, slots=True)
class WelcomeRun:
    """What one round did."""

    sent: int = 0
    retrying: int = 0
    failed: int = 0
    skipped: int = 0
    #: Picked by another sender first (its row was already there).
    lost: int = 0
    #: Handed over with no answer: left ``sending``, never sent again.
    not_known: int = 0
    #: The provider refused our credentials: the round stopped and gave its welcome back.
    credentials_refused: bool = False


class Recorded(StrEnum):
    """What recording a newcomer came to."""

    #: The delivery is recorded ``sending``: this sender sends it.
    SENDING = "sending"
    SKIPPED = "skipped"
    #: Another sender recorded it first.
    TAKEN = "taken"
    #: The welcome was turned off or lost its approval meanwhile, or the reader paused or
    #: left: nothing recorded.
    WAITING = "waiting"


def record_newcomer(
    session: Session, newcomer: Newcomer, settings: Settings, at: datetime
) -> tuple[Recorded, Letter | None]:
    """Record ``newcomer``'s delivery; return what happened and the letter to send, if any.

    The insert runs in a savepoint: a unique violation means another sender recorded this
    welcome first, and this one sends nothing.
    """
    welcome = session.get(WelcomeMessage, newcomer.welcome_id)
    subscriber = session.get(Subscriber, newcomer.subscriber_id)
    if welcome is None or not welcome.active or not is_approved(welcome.issue):
        return Recorded.WAITING, None
    if subscriber is None or subscriber.status != SubscriberStatus.ACTIVE:
        return Recorded.WAITING, None
    reason = newcomer.skip_reason
    if not reason and hard_suppressed(session, [subscriber.email]):
        reason = SUPPRESSED
    delivery = WelcomeDelivery(
        welcome_id=welcome.id,
        subscriber_id=subscriber.id,
        number=newcomer.number,
        topic_ids=list(newcomer.topic_ids),
        issue_revision=welcome.issue.revision,
        status=WelcomeDeliveryStatus.SKIPPED if reason else WelcomeDeliveryStatus.SENDING,
        attempts=0 if reason else 1,
        recorded_at=at,
        note=reason,
    )
    try:
        with session.begin_nested():
            session.add(delivery)
            session.flush()
    except sa.exc.IntegrityError:
        return Recorded.TAKEN, None
    if reason:
        return Recorded.SKIPPED, None
    return Recorded.SENDING, _letter(session, settings, delivery, welcome.issue, subscriber)


def _letter(
    session: Session,
    settings: Settings,
    delivery: WelcomeDelivery,
    issue: Issue,
    subscriber: Subscriber,
) -> Letter:
    revision = find_revision(session, issue.id, issue.revision)
    content = revision.content if revision is not None else issue.content
    delivery.message_id = message_id(settings, delivery.id)
    rows = session.execute(
        sa.select(Topic, Subscription.frequency)
        .join(Subscription, Subscription.topic_id == Topic.id)
        .where(
            Subscription.subscriber_id == subscriber.id,
            Subscription.status == SubscriptionStatus.CONFIRMED,
            Topic.id.in_(delivery.topic_ids),
        )
    )
    # Topics named in the issue's language, like the words the welcome adds around them.
    names = {
        topic.id: SignedUp(topic_text(topic, issue.language).name, Frequency(frequency))
        for topic, frequency in rows
    }
    return Letter(
        delivery_id=delivery.id,
        subscriber_id=subscriber.id,
        address=subscriber.email,
        name=subscriber.name,
        issue_slug=issue.slug,
        issue_revision=issue.revision,
        content=content,
        signed_up=tuple(names[topic_id] for topic_id in delivery.topic_ids if topic_id in names),
    )


def due_retries(session: Session, at: datetime, *, limit: int) -> list[int]:
    """Return the ids of up to ``limit`` deliveries whose retry time has come, earliest first."""
    query = (
        sa.select(WelcomeDelivery.id)
        .where(
            WelcomeDelivery.status == WelcomeDeliveryStatus.RETRY,
            WelcomeDelivery.retry_at <= at,
        )
        .order_by(WelcomeDelivery.retry_at, WelcomeDelivery.id)
        .limit(limit)
    )
    return list(session.scalars(query))


def claim_retry(
    session: Session, settings: Settings, delivery_id: int
) -> tuple[Recorded, Letter | None]:
    """Claim a due delivery for another try (compare-and-set ``retry → sending``).

    A reader who left, paused or is now hard-suppressed gets a ``skipped`` row instead.
    """
    delivery = session.get(WelcomeDelivery, delivery_id)
    if delivery is None or delivery.status != WelcomeDeliveryStatus.RETRY:
        return Recorded.TAKEN, None
    welcome = session.get(WelcomeMessage, delivery.welcome_id)
    subscriber = session.get(Subscriber, delivery.subscriber_id)
    note = ""
    if subscriber is None or not _still_reading(session, subscriber, delivery.topic_ids):
        note = "The reader left or paused before it could be sent."
    elif hard_suppressed(session, [subscriber.email]):
        note = SUPPRESSED
    if note:
        _move_retry(session, delivery, status=WelcomeDeliveryStatus.SKIPPED, note=note)
        return Recorded.SKIPPED, None
    if welcome is None or not welcome.active or not is_approved(welcome.issue):
        return Recorded.WAITING, None  # waits until it is on and approved again
    claimed = _move_retry(
        session,
        delivery,
        status=WelcomeDeliveryStatus.SENDING,
        attempts=WelcomeDelivery.attempts + 1,
        issue_revision=welcome.issue.revision,
    )
    if not claimed or subscriber is None:
        return Recorded.TAKEN, None
    return Recorded.SENDING, _letter(session, settings, delivery, welcome.issue, subscriber)


def _still_reading(session: Session, subscriber: Subscriber, topic_ids: list[int]) -> bool:
    if subscriber.status != SubscriberStatus.ACTIVE:
        return False
    confirmed = sa.select(sa.func.count()).where(
        Subscription.subscriber_id == subscriber.id,
        Subscription.topic_id.in_(topic_ids),
        Subscription.status == SubscriptionStatus.CONFIRMED,
    )
    return bool(session.scalar(confirmed))


def _move_retry(session: Session, delivery: WelcomeDelivery, **values: Any) -> bool:
    """Move ``delivery`` on from ``retry`` unless another sender did (compare-and-set)."""
    moved = rowcount(
        session.execute(
            sa.update(WelcomeDelivery)
            .where(
                WelcomeDelivery.id == delivery.id,
                WelcomeDelivery.status == WelcomeDeliveryStatus.RETRY,
            )
            .values(retry_at=None, **values)
            .execution_options(synchronize_session=False)
        )
    )
    session.refresh(delivery)
    return moved == 1


def record_result(session: Session, letter: Letter, result: SendResult | None, at: datetime) -> str:
    """Record what the provider said about ``letter`` (None: no answer came); return its status."""
    delivery = session.get(WelcomeDelivery, letter.delivery_id)
    if delivery is None:
        return ""  # the subscriber was erased meanwhile
    if result is None:
        delivery.note = NOT_KNOWN  # and it stays "sending": never sent again
    elif result.status == ResultStatus.ACCEPTED:
        delivery.status, delivery.sent_at = WelcomeDeliveryStatus.SENT, at
        delivery.provider_message_id = result.provider_message_id
        delivery.retry_at, delivery.note = None, ""
    elif result.status == ResultStatus.FAILED_TRANSIENT and delivery.attempts < MAX_ATTEMPTS:
        delivery.status = WelcomeDeliveryStatus.RETRY
        retry_at = at + FIRST_RETRY * 2 ** (delivery.attempts - 1)
        delivery.retry_at = max(retry_at, result.retry_at or retry_at)
        delivery.note = result.error or ""
    else:
        delivery.status, delivery.retry_at = WelcomeDeliveryStatus.FAILED, None
        delivery.note = result.error or "The provider refused it."
    session.flush()
    return delivery.status


def hand_back(session: Session, letter: Letter, at: datetime, note: str) -> None:
    """Give ``letter``'s delivery back unsent, due again after ``FIRST_RETRY``, its try unspent."""
    session.execute(
        sa.update(WelcomeDelivery)
        .where(
            WelcomeDelivery.id == letter.delivery_id,
            WelcomeDelivery.status == WelcomeDeliveryStatus.SENDING,
        )
        .values(
            status=WelcomeDeliveryStatus.RETRY,
            attempts=WelcomeDelivery.attempts - 1,
            retry_at=at + FIRST_RETRY,
            note=note,
        )
        .execution_options(synchronize_session=False)
    )


def send_pending_welcomes(
    database: Database, settings: Settings, *, limit: int = BATCH_SIZE, at: datetime | None = None
) -> WelcomeRun:
    """Welcome up to ``limit`` newcomers and retry up to ``limit`` due deliveries: one round.

    Finding reads in a read-only session. Each welcome is then recorded, sent and its outcome
    recorded before the next is recorded: a crash strands at most one, and one reader whose
    recording fails does not stop the others.
    """
    at = at or now()
    with database.read_sessionmaker() as reader:
        newcomers = find_newcomers(reader, at, limit=limit)
        retries = due_retries(reader, at, limit=limit)
    if not newcomers and not retries:
        return WelcomeRun()
    # Built before anything is recorded: a backend that cannot be built leaves no row behind.
    sender = WelcomeSender.from_settings(settings)
    tally: Counter[str] = Counter()
    refused = False
    try:
        for newcomer in newcomers:
            tally[_welcome(database, sender, newcomer=newcomer, at=at)] += 1
        for delivery_id in retries:
            tally[_welcome(database, sender, retry_id=delivery_id, at=at)] += 1
    except BackendAuthError:
        refused = True
    finally:
        sender.close()
    return WelcomeRun(
        sent=tally[WelcomeDeliveryStatus.SENT],
        retrying=tally[WelcomeDeliveryStatus.RETRY],
        failed=tally[WelcomeDeliveryStatus.FAILED],
        skipped=tally[Recorded.SKIPPED],
        lost=tally[Recorded.TAKEN],
        not_known=tally[WelcomeDeliveryStatus.SENDING],
        credentials_refused=refused,
    )


def _welcome(
    database: Database,
    sender: WelcomeSender,
    *,
    at: datetime,
    newcomer: Newcomer | None = None,
    retry_id: int = 0,
) -> str:
    """Record one welcome (a newcomer's, or a retry's claim), send it, record what came of it.

    Returns what happened: a ``Recorded`` when nothing was sent, else the delivery's status.
    Raises ``BackendAuthError`` after giving the welcome back: the round stops.
    """
    try:
        with database.session() as session:
            if newcomer is not None:
                recorded, letter = record_newcomer(session, newcomer, sender.settings, at)
            else:
                recorded, letter = claim_retry(session, sender.settings, retry_id)
    except Exception:
        who = f"subscriber {newcomer.subscriber_id}" if newcomer else f"delivery {retry_id}"
        log.exception("welcome to %s was not recorded; the others go on", who)
        return "error"
    if letter is None:
        return recorded
    try:
        result = sender.send(letter)
    except BackendAuthError as error:
        log.error("welcomes held back: the provider refused the credentials: %s", error)
        note = CREDENTIALS_REFUSED.format(backend=sender.backend.name)
        try:
            with database.session() as session:
                hand_back(session, letter, now(), note)
        except Exception:
            log.exception("welcome %s could not be given back", letter.delivery_id)
        raise
    try:
        with database.session() as session:
            return record_result(session, letter, result, now())
    except Exception:
        # It went (or may have): the row stays "sending", shown as not known, never resent.
        log.exception("welcome %s: its outcome could not be recorded", letter.delivery_id)
        return WelcomeDeliveryStatus.SENDING
