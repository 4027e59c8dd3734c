"""Freeze a campaign's audience into deliveries and cut them into batches, inside the database."""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session

from campaigns.sending.models import Batch, BatchStatus, Campaign, Delivery, DeliveryStatus
from engine.clock import now
from subscribers.audience import audience_select

_deliveries = Delivery.__table__
_batches = Batch.__table__


def freeze_audience(session: Session, campaign: Campaign, batch_size: int) -> int:
    """Insert one delivery per mailable recipient, cut them into batches, set ``recipients``.

    The audience never passes through Python: a re-run inserts nothing new (the unique keys
    and ``ON CONFLICT DO NOTHING``) and only cuts batches for deliveries that have none yet.
    """
    session.flush()
    session.execute(_insert_audience(session, campaign))
    cut_batches(session, campaign.id, batch_size)
    total = session.scalar(
        sa.select(sa.func.count())
        .select_from(_deliveries)
        .where(_deliveries.c.campaign_id == campaign.id)
    )
    campaign.recipients = total or 0
    session.flush()
    return campaign.recipients


def _insert_audience(session: Session, campaign: Campaign) -> Any:
    audience = audience_select([topic.id for topic in campaign.topics], campaign.segment).subquery()
    stamp = now()
    rows = sa.select(
        sa.literal(campaign.id),
        audience.c.id,
        audience.c.email,
        sa.literal(DeliveryStatus.QUEUED.value),
        sa.literal(0),
        sa.literal(""),
        sa.literal(stamp, type_=_deliveries.c.updated_at.type),
    ).order_by(audience.c.id)
    columns = ["campaign_id", "subscriber_id", "address", "status", "attempts", "last_error"]
    dialect = postgresql if session.get_bind().dialect.name == "postgresql" else sqlite
    return (
        dialect.insert(_deliveries)
        .from_select([*columns, "updated_at"], rows)
        .on_conflict_do_nothing()
    )


def cut_batches(session: Session, campaign_id: int, batch_size: int) -> int:
    """Give every unbatched delivery a batch of at most ``batch_size``, in id order."""
    number = session.scalar(
        sa.select(sa.func.coalesce(sa.func.max(_batches.c.number), 0)).where(
            _batches.c.campaign_id == campaign_id
        )
    )
    last_id = 0
    cut = 0
    while (upper := _batch_upper_bound(session, campaign_id, last_id, batch_size)) is not None:
        number += 1
        batch_id = session.execute(
            sa.insert(_batches)
            .values(
                campaign_id=campaign_id,
                number=number,
                status=BatchStatus.QUEUED,
                size=0,
                attempts=0,
                created_at=now(),
            )
            .returning(_batches.c.id)
        ).scalar_one()
        size = session.execute(
            sa.update(_deliveries)
            .where(_unbatched(campaign_id), _deliveries.c.id > last_id, _deliveries.c.id <= upper)
            .values(batch_id=batch_id)
        ).rowcount
        session.execute(sa.update(_batches).where(_batches.c.id == batch_id).values(size=size))
        last_id = upper
        cut += 1
    return cut


def _batch_upper_bound(
    session: Session, campaign_id: int, after_id: int, batch_size: int
) -> int | None:
    # Keyset step: the id of the batch_size-th unbatched delivery after the last cut, or the
    # last one when fewer remain. Only ids are read, never the audience itself.
    window = (
        sa.select(_deliveries.c.id)
        .where(_unbatched(campaign_id), _deliveries.c.id > after_id)
        .order_by(_deliveries.c.id)
        .limit(batch_size)
        .subquery()
    )
    return session.scalar(sa.select(sa.func.max(window.c.id)))


def _unbatched(campaign_id: int) -> sa.ColumnElement[bool]:
    return sa.and_(_deliveries.c.campaign_id == campaign_id, _deliveries.c.batch_id.is_(None))
