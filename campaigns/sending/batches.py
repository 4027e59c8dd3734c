"""The states of one batch: claim with a lease, mark submitting, record the provider's answers.

Every step is a compare-and-set on the batch's status, so two workers, a redelivered task or
recovery racing a slow worker can never move one batch twice.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Iterable, Mapping, Sequence
from datetime import datetime, timedelta

import sqlalchemy as sa
from sqlalchemy.orm import Session

from campaigns.issues.models import Issue
from campaigns.rendering.topic_digest import PUBLICATION as DIGEST_PUBLICATION
from campaigns.sending.models import (
    Batch,
    BatchStatus,
    Campaign,
    CampaignStatus,
    CampaignVariant,
    Delivery,
    DeliveryStatus,
    campaign_topic,
)
from campaigns.sending.personalize import FrozenCampaign, Recipient
from engine.clock import now
from engine.db import rowcount
from engine.delivery.base import ResultStatus, SendResult
from engine.organisation_store import OrganisationSetting
from subscribers.models import Subscriber, Suppression, Topic

#: After this many transient failures a delivery is given up as permanent.
MAX_ATTEMPTS = 5
#: Back-off for a transient failure the provider gave no retry time for.
DEFAULT_RETRY = timedelta(minutes=2)

#: Ids per ``IN (…)`` list: well under SQLite's bound-parameter limit.
_ID_CHUNK = 500

#: Saved on the Settings page; read as each worker first builds a campaign's messages.
_reply_to = (
    sa.select(OrganisationSetting.value)
    .where(OrganisationSetting.key == "reply_to")
    .scalar_subquery()
)

_d = Delivery.__table__
_b = Batch.__table__
_c = Campaign.__table__
_v = CampaignVariant.__table__


def claim_next_batch(
    session: Session, *, worker: str, lease_until: datetime, campaign_id: int | None = None
) -> tuple[int, int] | None:
    """Claim the oldest queued batch of a sending campaign; return ``(batch_id, campaign_id)``."""
    query = (
        sa.select(_b.c.id)
        .join(_c, _c.c.id == _b.c.campaign_id)
        .where(_b.c.status == BatchStatus.QUEUED, _c.c.status == CampaignStatus.SENDING)
        .order_by(_b.c.id)
        .limit(1)
    )
    if campaign_id is not None:
        query = query.where(_b.c.campaign_id == campaign_id)
    if session.get_bind().dialect.name == "postgresql":
        # SKIP LOCKED lets concurrent claimers walk past each other's candidate rows instead
        # of queueing on them; SQLite serialises claimers with BEGIN IMMEDIATE instead.
        query = query.with_for_update(skip_locked=True, of=_b)
    batch_id = session.scalar(query)
    if batch_id is None:
        return None
    claimed = claim_batch(session, batch_id, worker=worker, lease_until=lease_until)
    return None if claimed is None else (batch_id, claimed)


def claim_batch(
    session: Session, batch_id: int, *, worker: str, lease_until: datetime
) -> int | None:
    """Claim ``batch_id`` if it is queued and its campaign is sending; return the campaign id.

    The lease says how long the claim holds: recovery may take an expired claim back.
    """
    sending = sa.exists().where(_c.c.id == _b.c.campaign_id, _c.c.status == CampaignStatus.SENDING)
    claimed = session.execute(
        sa.update(_b)
        .where(_b.c.id == batch_id, _b.c.status == BatchStatus.QUEUED, sending)
        .values(
            status=BatchStatus.CLAIMED,
            claimed_by=worker,
            lease_expires_at=lease_until,
            attempts=_b.c.attempts + 1,
        )
        .returning(_b.c.campaign_id)
    ).scalar_one_or_none()
    if claimed is None:
        return None
    _claim_deliveries(session, batch_id)
    return claimed


def _claim_deliveries(session: Session, batch_id: int) -> None:
    # One pass: the batch's queued deliveries become claimed, except addresses suppressed (or
    # subscribers erased) since the freeze, which are settled as suppressed now.
    suppressed = sa.or_(
        _d.c.subscriber_id.is_(None), sa.exists().where(Suppression.address == _d.c.address)
    )
    session.execute(
        sa.update(_d)
        .where(_d.c.batch_id == batch_id, _d.c.status == DeliveryStatus.QUEUED)
        .values(
            status=sa.case(
                (suppressed, DeliveryStatus.SUPPRESSED.value),
                else_=DeliveryStatus.CLAIMED.value,
            ),
            updated_at=now(),
        )
    )


def load_frozen(session: Session, campaign_id: int, batch_id: int | None = None) -> FrozenCampaign:
    """Read what the campaign froze, its first topic and the saved reply-to (one Core row).

    A batch of a ``CampaignVariant`` gets that variant's subject and documents instead.
    """
    first_topic = (
        sa.select(campaign_topic.c.topic_id)
        .join(Topic, Topic.id == campaign_topic.c.topic_id)
        .where(campaign_topic.c.campaign_id == _c.c.id)
        .order_by(Topic.position, Topic.id)
        .limit(1)
        .correlate(_c)
        .scalar_subquery()
    )
    row = session.execute(
        sa.select(
            _c.c.id,
            sa.func.coalesce(Issue.slug, ""),
            _c.c.subject,
            _c.c.from_address,
            _c.c.html,
            _c.c.text,
            # A campaign without an issue is a digest run (``campaigns.digests``): its series
            # (``List-Id``, ``Feedback-ID``) is the digests' publication, not the digest layout's.
            sa.func.coalesce(Issue.layout, DIGEST_PUBLICATION),
            sa.func.coalesce(Topic.slug, ""),
            sa.func.coalesce(Topic.name, ""),
            sa.func.coalesce(_reply_to, ""),
        )
        .outerjoin(Issue, Issue.id == _c.c.issue_id)
        .outerjoin(Topic, Topic.id == first_topic)
        .where(_c.c.id == campaign_id)
    ).one()
    frozen = FrozenCampaign(*row)
    variant = (
        None
        if batch_id is None
        else session.scalar(sa.select(_b.c.variant).where(_b.c.id == batch_id))
    )
    if variant is None:
        return frozen
    # A language variant sends an edition: its web-view links name the edition's page.
    subject, html, text, slug = session.execute(
        sa.select(_v.c.subject, _v.c.html, _v.c.text, Issue.slug)
        .outerjoin(Issue, Issue.id == _v.c.issue_id)
        .where(_v.c.campaign_id == campaign_id, _v.c.number == variant)
    ).one()
    return dataclasses.replace(
        frozen,
        subject=subject,
        html=html,
        text=text,
        variant=variant,
        issue_slug=slug or frozen.issue_slug,
    )


def read_recipients(session: Session, batch_id: int, status: DeliveryStatus) -> list[Recipient]:
    """Return the batch's recipients in ``status`` as plain rows, in id order."""
    rows = session.execute(
        sa.select(_d.c.id, _d.c.subscriber_id, _d.c.address, sa.func.coalesce(Subscriber.name, ""))
        .outerjoin(Subscriber, Subscriber.id == _d.c.subscriber_id)
        .where(_d.c.batch_id == batch_id, _d.c.status == status)
        .order_by(_d.c.id)
    )
    return [Recipient(*row) for row in rows]


def mark_submitting(session: Session, batch_id: int, *, worker: str, lease_until: datetime) -> bool:
    """Move our claimed batch to ``submitting``; False if our claim was lost or sending stopped.

    The caller commits this before calling the provider: after a crash, ``submitting`` is the
    record that the provider may already have the messages.
    """
    sending = sa.exists().where(_c.c.id == _b.c.campaign_id, _c.c.status == CampaignStatus.SENDING)
    moved = _update_held(
        session,
        batch_id,
        worker,
        BatchStatus.CLAIMED,
        {"status": BatchStatus.SUBMITTING, "lease_expires_at": lease_until},
        sending,
    )
    if moved:
        _move(session, batch_id, DeliveryStatus.CLAIMED, DeliveryStatus.SUBMITTING)
    return moved


def release_batch(session: Session, batch_id: int, *, worker: str, source: BatchStatus) -> None:
    """Give a batch we hold back to the queue, its unsent deliveries with it."""
    back = {"status": BatchStatus.QUEUED, "claimed_by": None, "lease_expires_at": None}
    if _update_held(session, batch_id, worker, source, back):
        held = DeliveryStatus(source.value)
        _move(session, batch_id, held, DeliveryStatus.QUEUED)


def record_results(
    session: Session,
    batch_id: int,
    results: Sequence[SendResult],
    uncertain: Iterable[int] = (),
    *,
    worker: str,
) -> bool:
    """Close our batch and write every result at once (one ``executemany`` per outcome).

    Returns False, writing nothing, when ``worker`` no longer holds the batch: its lease
    expired and recovery settled it (``uncertain``) or handed it on. A late answer never moves
    a settled delivery; the staff decision on uncertain deliveries stands on what recovery said.
    """
    at = now()
    done = {"status": BatchStatus.DONE, "finished_at": at, "lease_expires_at": None}
    if not _update_held(session, batch_id, worker, BatchStatus.SUBMITTING, done):
        return False
    accepted = [r for r in results if r.status is ResultStatus.ACCEPTED]
    transient = [r for r in results if r.status is ResultStatus.FAILED_TRANSIENT]
    permanent = [r for r in results if r.status is ResultStatus.FAILED_PERMANENT]
    if len(accepted) == len(results) and not uncertain:
        accepted = _write_whole_batch_accepted(session, batch_id, accepted, at)
    _write_accepted(session, accepted, at)
    _write_transient(session, transient, at)
    _write_simple(
        session,
        [r.delivery_id for r in permanent],
        DeliveryStatus.FAILED_PERMANENT,
        at,
        errors={r.delivery_id: r.error or "" for r in permanent},
    )
    _write_simple(session, list(uncertain), DeliveryStatus.UNCERTAIN, at, errors={})
    return True


def renew_lease(session: Session, batch_id: int, *, worker: str, lease_until: datetime) -> bool:
    """Extend our lease on a batch still with the provider; False if it is no longer ours."""
    renewed = {"lease_expires_at": lease_until}
    return _update_held(session, batch_id, worker, BatchStatus.SUBMITTING, renewed)


def _update_held(
    session: Session,
    batch_id: int,
    worker: str,
    status: BatchStatus,
    values: Mapping[str, object],
    *conditions: sa.ColumnElement[bool],
) -> bool:
    """Update the batch only while ``worker`` holds it in ``status``; return whether it did."""
    held = (_b.c.id == batch_id, _b.c.status == status, _b.c.claimed_by == worker, *conditions)
    return rowcount(session.execute(sa.update(_b).where(*held).values(**values))) == 1


# Answers land only on deliveries still being submitted under the batch we hold.
# (A plain comparison: executemany cannot expand an IN list.)
_OPEN = _d.c.status == DeliveryStatus.SUBMITTING.value


def _write_whole_batch_accepted(
    session: Session, batch_id: int, results: list[SendResult], at: datetime
) -> list[SendResult]:
    """Accept a whole batch that one request took (one message id) by its batch id.

    One UPDATE by batch replaces a list of a thousand ids. It is kept only if the rows it moved
    are exactly the delivered ones; otherwise (recovery called some uncertain meanwhile, or gave
    the batch to another worker) it is undone and every result is returned for the id-by-id
    path. Returns the results still to be written.
    """
    message_ids = {result.provider_message_id for result in results}
    if not results or len(message_ids) != 1:
        return results
    with session.begin_nested() as savepoint:
        moved = session.scalars(
            sa.update(_d)
            .where(_d.c.batch_id == batch_id, _d.c.status == DeliveryStatus.SUBMITTING)
            .values(
                status=DeliveryStatus.ACCEPTED,
                provider_message_id=message_ids.pop(),
                accepted_at=at,
                updated_at=at,
            )
            .returning(_d.c.id)
        ).all()
        if set(moved) != {result.delivery_id for result in results}:
            savepoint.rollback()
            return results
    return []


def _write_accepted(session: Session, results: Sequence[SendResult], at: datetime) -> None:
    by_message_id: dict[str | None, list[int]] = {}
    for result in results:
        by_message_id.setdefault(result.provider_message_id, []).append(result.delivery_id)
    shared = {key: ids for key, ids in by_message_id.items() if len(ids) > 1}
    # SendGrid answers a whole request with one X-Message-Id: one UPDATE per request then
    # beats an executemany of a thousand single-row updates by an order of magnitude.
    for message_id, ids in shared.items():
        for start in range(0, len(ids), _ID_CHUNK):
            session.execute(
                sa.update(_d)
                .where(_d.c.id.in_(ids[start : start + _ID_CHUNK]), _OPEN)
                .values(
                    status=DeliveryStatus.ACCEPTED,
                    provider_message_id=message_id,
                    accepted_at=at,
                    updated_at=at,
                )
            )
    single = [r for r in results if r.provider_message_id not in shared]
    if not single:
        return
    statement = (
        sa.update(_d)
        .where(_d.c.id == sa.bindparam("did"), _OPEN)
        .values(
            status=DeliveryStatus.ACCEPTED,
            provider_message_id=sa.bindparam("pmid"),
            accepted_at=at,
            updated_at=at,
        )
    )
    session.execute(
        statement, [{"did": r.delivery_id, "pmid": r.provider_message_id} for r in single]
    )


def _write_transient(session: Session, results: Sequence[SendResult], at: datetime) -> None:
    if not results:
        return
    gives_up = _d.c.attempts + 1 >= MAX_ATTEMPTS
    statement = (
        sa.update(_d)
        .where(_d.c.id == sa.bindparam("did"), _OPEN)
        .values(
            status=sa.case(
                (gives_up, DeliveryStatus.FAILED_PERMANENT.value),
                else_=DeliveryStatus.FAILED_TRANSIENT.value,
            ),
            attempts=_d.c.attempts + 1,
            retry_at=sa.bindparam("retry"),
            last_error=sa.bindparam("error"),
            updated_at=at,
        )
    )
    rows = [
        {"did": r.delivery_id, "retry": r.retry_at or at + DEFAULT_RETRY, "error": r.error or ""}
        for r in results
    ]
    session.execute(statement, rows)


def _write_simple(
    session: Session, ids: list[int], status: DeliveryStatus, at: datetime, errors: dict[int, str]
) -> None:
    if not ids:
        return
    statement = (
        sa.update(_d)
        .where(_d.c.id == sa.bindparam("did"), _OPEN)
        .values(status=status, last_error=sa.bindparam("error"), updated_at=at)
    )
    session.execute(statement, [{"did": i, "error": errors.get(i, "")} for i in ids])


def _move(session: Session, batch_id: int, source: DeliveryStatus, target: DeliveryStatus) -> None:
    session.execute(
        sa.update(_d)
        .where(_d.c.batch_id == batch_id, _d.c.status == source)
        .values(status=target, updated_at=now())
    )
