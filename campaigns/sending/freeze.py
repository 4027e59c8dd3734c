"""Freeze a campaign's audience into deliveries and cut them into batches, inside the database."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session

from campaigns.sending.audiences import campaign_audience
from campaigns.sending.languages import (
    LanguageVariant,
    language_key,
    language_variants,
    reader_key,
)
from campaigns.sending.models import (
    Batch,
    BatchStatus,
    Campaign,
    CampaignVariant,
    Delivery,
    DeliveryStatus,
)
from engine.clock import now
from engine.db import rowcount
from subscribers.models import Subscriber

_deliveries = Delivery.__table__
_batches = Batch.__table__


@dataclass(frozen=True, slots=True)
class Wave:
    """The recipients in some time zones, released at one instant (``zones=None``: all the rest).

    A ``held`` wave's batches wait until the scheduler releases them at ``release_at``.
    """

    release_at: datetime
    zones: tuple[str, ...] | None
    held: bool


def freeze_audience(
    session: Session, campaign: Campaign, batch_size: int, waves: Sequence[Wave] = ()
) -> int:
    """Insert one delivery per mailable recipient, each already in its batch; set ``recipients``.

    The audience never passes through Python. Batches are created first and every delivery
    is inserted with its batch id (row number // batch size), so nothing is updated twice.
    A re-run inserts nothing new (unique keys, ``ON CONFLICT DO NOTHING`` when deliveries
    exist); recipients who joined between the count and the insert are cut into extra batches
    afterwards. With ``waves`` (a local-time send), deliveries are inserted unbatched and each
    wave is cut in turn; the last wave should have ``zones=None`` to take everyone left.
    A campaign with language variants (``campaigns.sending.languages``) gives each reader the
    variant of their language in the same insert, and no batch mixes two variants.
    """
    session.flush()
    languages = language_variants(session, campaign.id)
    if languages and not waves:
        return _freeze_languages(session, campaign, languages, batch_size)
    audience = _audience(campaign, languages)
    # Conflict handling costs a quarter of the insert; only a re-run can meet existing rows.
    rerun = _has_deliveries(session, campaign.id)
    if waves:
        rows = _audience_rows(session, campaign.id, audience, 0, [], batch_size, batched=False)
        session.execute(_insert_deliveries(session, rows, skip_existing=rerun))
        # A wave's readers of each language get batches of their own variant.
        numbers: list[int | None] = [variant.number for variant in languages] or [None]
        for wave in waves:
            for number in numbers:
                cut_batches(session, campaign.id, batch_size, wave, variant=number)
    else:
        expected = session.scalar(sa.select(sa.func.count()).select_from(audience)) or 0
        first, batch_ids = _create_batches(session, campaign.id, -(-expected // batch_size))
        rows = _audience_rows(session, campaign.id, audience, first, batch_ids, batch_size)
        session.execute(_insert_deliveries(session, rows, skip_existing=rerun))
        cut_batches(session, campaign.id, batch_size)
    _settle_batch_sizes(session, campaign.id)
    total = session.scalar(
        sa.select(sa.func.count())
        .select_from(_deliveries)
        .where(_deliveries.c.campaign_id == campaign.id)
    )
    campaign.recipients = total or 0
    session.flush()
    return campaign.recipients


def freeze_variants(
    session: Session,
    campaign: Campaign,
    audience: sa.Subquery,
    batch_size: int,
    expected: Mapping[int, int],
) -> int:
    """Freeze ``audience`` (``id, email, topic_key``) into deliveries of the campaign's variants.

    Each recipient gets the ``CampaignVariant`` whose ``key`` is their ``topic_key`` (one
    without a variant gets nothing). ``expected`` counts each variant's recipients: their
    batches are created first, so that one ``INSERT … SELECT`` puts every delivery straight
    into a batch of its own variant (rank within the variant // batch size), as
    ``freeze_audience`` does for one body. No batch mixes two bodies. Recipients who joined
    since the count are cut into extra batches afterwards; a re-run inserts no second copy.
    """
    session.flush()
    variant = CampaignVariant.__table__
    rerun = _has_deliveries(session, campaign.id)
    first: int | None = None
    offsets: dict[int, int] = {}
    batch_ids: list[int] = []
    for number in sorted(expected):
        start, ids = _create_batches(
            session, campaign.id, -(-expected[number] // batch_size), variant=number
        )
        first = start if first is None else first
        offsets[number] = len(batch_ids)
        batch_ids.extend(ids)
    rank = sa.func.row_number().over(partition_by=variant.c.number, order_by=audience.c.id) - 1
    numbered = (
        sa.select(
            audience.c.id,
            audience.c.email,
            variant.c.number.label("variant"),
            rank.label("rank"),
        )
        .join(
            variant,
            sa.and_(variant.c.campaign_id == campaign.id, variant.c.key == audience.c.topic_key),
        )
        .subquery()
    )
    offset = sa.case(offsets, value=numbered.c.variant, else_=len(batch_ids)) if offsets else 0
    counted = sa.case(dict(expected), value=numbered.c.variant, else_=0) if expected else 0
    # Only the counted ranks have a batch of their variant: a late joiner's rank would point
    # into the next variant's first batch, so it gets none and the late cut below takes it.
    position = sa.case(
        (numbered.c.rank < counted, offset + numbered.c.rank.op("/")(batch_size)), else_=sa.null()
    )
    batch_id, source = _batch_of(session, campaign.id, numbered, position, first or 1, batch_ids)
    rows = (
        sa.select(
            sa.literal(campaign.id),
            numbered.c.id,
            numbered.c.email,
            sa.literal(DeliveryStatus.QUEUED.value),
            sa.literal(0),
            sa.literal(""),
            sa.literal(now(), type_=_deliveries.c.updated_at.type),
            numbered.c.variant,
            batch_id,
        )
        .select_from(source)
        .where(sa.true())
        .order_by(numbered.c.variant, numbered.c.id)
    )
    columns = ["campaign_id", "subscriber_id", "address", "status", "attempts", "last_error"]
    dialect = postgresql if session.get_bind().dialect.name == "postgresql" else sqlite
    names = [*columns, "updated_at", "variant", "batch_id"]
    insert = dialect.insert(_deliveries).from_select(names, rows)
    session.execute(insert.on_conflict_do_nothing() if rerun else insert)
    _settle_batch_sizes(session, campaign.id)
    late = session.scalars(
        sa.select(sa.distinct(_deliveries.c.variant)).where(
            _deliveries.c.campaign_id == campaign.id, _deliveries.c.batch_id.is_(None)
        )
    ).all()
    for number in late:
        cut_batches(session, campaign.id, batch_size, variant=number)
    total = session.scalar(
        sa.select(sa.func.count())
        .select_from(_deliveries)
        .where(_deliveries.c.campaign_id == campaign.id)
    )
    campaign.recipients = total or 0
    session.flush()
    return campaign.recipients


def _batch_of(
    session: Session,
    campaign_id: int,
    numbered: sa.Subquery,
    position: Any,
    first: int,
    batch_ids: list[int],
) -> tuple[Any, Any]:
    """Return the batch id of a row at ``position`` (0-based) and the FROM clause to use."""
    if session.get_bind().dialect.name == "postgresql":
        array = postgresql.ARRAY(sa.Integer)
        lookup = sa.type_coerce(sa.Grouping(sa.literal(batch_ids, array)), array)
        return lookup[position + 1], numbered
    batch = _batches.alias("target")
    into_batch = sa.and_(batch.c.campaign_id == campaign_id, batch.c.number == first + position)
    return batch.c.id, numbered.outerjoin(batch, into_batch)


def _audience(campaign: Campaign, languages: Sequence[LanguageVariant] = ()) -> sa.Subquery:
    """Return the audience (``id, email, name``), with each reader's ``variant`` by language."""
    query = campaign_audience(campaign).order_by(None)
    if languages:
        numbers = {language_key(v.language): v.number for v in languages}
        key = reader_key(list(languages), _original_language(languages))
        query = query.add_columns(sa.case(numbers, value=key).label("variant"))
    return query.subquery()


def _original_language(languages: Sequence[LanguageVariant]) -> str:
    # The first variant is the campaign's issue itself (``add_language_variants``).
    return languages[0].language


def _freeze_languages(
    session: Session, campaign: Campaign, languages: list[LanguageVariant], batch_size: int
) -> int:
    """Freeze a campaign of an issue with editions: each reader in the variant of their language."""
    key = reader_key(languages, _original_language(languages))
    audience = (
        campaign_audience(campaign).order_by(None).add_columns(key.label("topic_key")).subquery()
    )
    counted: dict[str, int] = {
        key: count
        for key, count in session.execute(
            sa.select(audience.c.topic_key, sa.func.count()).group_by(audience.c.topic_key)
        )
    }
    numbers = {language_key(v.language): v.number for v in languages}
    expected = {numbers[key]: count for key, count in counted.items() if key in numbers}
    return freeze_variants(session, campaign, audience, batch_size, expected)


def _next_number(session: Session, campaign_id: int) -> int:
    last = session.scalar(
        sa.select(sa.func.coalesce(sa.func.max(_batches.c.number), 0)).where(
            _batches.c.campaign_id == campaign_id
        )
    )
    return 1 + (last or 0)


def _create_batches(
    session: Session, campaign_id: int, count: int, *, variant: int | None = None
) -> tuple[int, list[int]]:
    """Create ``count`` empty queued batches; return the first's number and all ids in order."""
    first = _next_number(session, campaign_id)
    if not count:
        return first, []
    stamp = now()
    rows = [
        {
            "campaign_id": campaign_id,
            "number": first + n,
            "status": BatchStatus.QUEUED.value,
            "size": 0,
            "attempts": 0,
            "created_at": stamp,
            "variant": variant,
        }
        for n in range(count)
    ]
    inserted = session.execute(
        sa.insert(_batches).returning(
            _batches.c.id, _batches.c.number, sort_by_parameter_order=True
        ),
        rows,
    ).all()
    return first, [batch_id for batch_id, _number in sorted(inserted, key=lambda row: row[1])]


def _has_deliveries(session: Session, campaign_id: int) -> bool:
    query = sa.select(_deliveries.c.id).where(_deliveries.c.campaign_id == campaign_id).limit(1)
    return session.scalar(query) is not None


def _audience_rows(
    session: Session,
    campaign_id: int,
    audience: sa.Subquery,
    first: int,
    batch_ids: list[int],
    batch_size: int,
    *,
    batched: bool = True,
) -> sa.Select[Any]:
    """Select each recipient's delivery row, in batch ``first + rank // batch_size`` (or none)."""
    rank = sa.func.row_number().over(order_by=audience.c.id) - 1
    # A campaign with language variants: each reader's variant rides along.
    extra = [audience.c.variant] if "variant" in audience.c else []
    numbered = sa.select(audience.c.id, audience.c.email, rank.label("rank"), *extra).subquery()
    # Integer division on both databases (SQLAlchemy's // would go through floats).
    position = numbered.c.rank.op("/")(batch_size)
    source: Any = numbered
    if not batched:
        batch_id: Any = sa.null()
    elif session.get_bind().dialect.name == "postgresql":
        # An array lookup: a join on the batch number would compare every recipient with every
        # batch when the planner has no statistics for the batches just created.
        array = postgresql.ARRAY(sa.Integer)
        batch_id = sa.type_coerce(sa.Grouping(sa.literal(batch_ids, array)), array)[position + 1]
    else:
        batch = _batches.alias("target")
        into_batch = sa.and_(batch.c.campaign_id == campaign_id, batch.c.number == first + position)
        batch_id, source = batch.c.id, numbered.outerjoin(batch, into_batch)
    return (
        sa.select(
            sa.literal(campaign_id),
            numbered.c.id,
            numbered.c.email,
            sa.literal(DeliveryStatus.QUEUED.value),
            sa.literal(0),
            sa.literal(""),
            sa.literal(now(), type_=_deliveries.c.updated_at.type),
            batch_id,
            *[numbered.c.variant for _column in extra],
        )
        .select_from(source)
        .where(sa.true())
        # Rows of one batch land side by side on disk, so each batch update touches few pages.
        .order_by(numbered.c.id)
    )


def _insert_deliveries(session: Session, rows: sa.Select[Any], *, skip_existing: bool) -> Any:
    columns = ["campaign_id", "subscriber_id", "address", "status", "attempts", "last_error"]
    dialect = postgresql if session.get_bind().dialect.name == "postgresql" else sqlite
    names = [
        *columns,
        "updated_at",
        "batch_id",
        *(["variant"] if "variant" in rows.selected_columns else []),
    ]
    insert = dialect.insert(_deliveries).from_select(names, rows)
    return insert.on_conflict_do_nothing() if skip_existing else insert


def _settle_batch_sizes(session: Session, campaign_id: int) -> None:
    size = (
        sa.select(sa.func.count()).where(_deliveries.c.batch_id == _batches.c.id).scalar_subquery()
    )
    session.execute(
        sa.update(_batches)
        .where(_batches.c.campaign_id == campaign_id, _batches.c.status == BatchStatus.QUEUED)
        .values(size=size)
    )
    # Recipients who left between the count and the insert leave empty batches behind.
    session.execute(
        sa.delete(_batches).where(_batches.c.campaign_id == campaign_id, _batches.c.size == 0)
    )


def cut_batches(
    session: Session,
    campaign_id: int,
    batch_size: int,
    wave: Wave | None = None,
    *,
    variant: int | None = None,
) -> int:
    """Give every unbatched delivery a batch of at most ``batch_size``, in id order; return them.

    With a ``wave``, only its subscribers' deliveries, in batches that carry its release time;
    with a ``variant``, only the deliveries of that variant, in batches that name it.
    """
    unbatched = sa.and_(_deliveries.c.campaign_id == campaign_id, _deliveries.c.batch_id.is_(None))
    if variant is not None:
        unbatched = sa.and_(unbatched, _deliveries.c.variant == variant)
    if wave is not None and wave.zones is not None:
        members = sa.select(Subscriber.id).where(Subscriber.timezone.in_(wave.zones))
        unbatched = sa.and_(unbatched, _deliveries.c.subscriber_id.in_(members))
    first_id = session.scalar(sa.select(sa.func.min(_deliveries.c.id)).where(unbatched))
    if first_id is None:
        return 0
    number = _next_number(session, campaign_id) - 1
    status = BatchStatus.HELD if wave and wave.held else BatchStatus.QUEUED
    release_at = wave.release_at if wave else None
    last_id, total = first_id - 1, 0
    while (upper := _batch_upper_bound(session, unbatched, last_id, batch_size)) is not None:
        number += 1
        batch_id = session.execute(
            sa.insert(_batches)
            .values(
                campaign_id=campaign_id,
                number=number,
                status=status,
                release_at=release_at,
                variant=variant,
                size=0,
                attempts=0,
                created_at=now(),
            )
            .returning(_batches.c.id)
        ).scalar_one()
        size = rowcount(
            session.execute(
                sa.update(_deliveries)
                .where(unbatched, _deliveries.c.id > last_id, _deliveries.c.id <= upper)
                .values(batch_id=batch_id)
            )
        )
        session.execute(sa.update(_batches).where(_batches.c.id == batch_id).values(size=size))
        last_id, total = upper, total + size
    return total


def _batch_upper_bound(
    session: Session, unbatched: sa.ColumnElement[bool], after_id: int, batch_size: int
) -> int | None:
    # Keyset step: the id of the batch_size-th unbatched delivery after the last cut, or the
    # last one when fewer remain. Only ids are read, never the audience itself.
    window = (
        sa.select(_deliveries.c.id)
        .where(unbatched, _deliveries.c.id > after_id)
        .order_by(_deliveries.c.id)
        .limit(batch_size)
        .subquery()
    )
    return session.scalar(sa.select(sa.func.max(window.c.id)))
