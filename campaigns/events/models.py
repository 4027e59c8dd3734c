"""Stored delivery events, verified webhook batches awaiting processing, and tracking counters."""

from __future__ import annotations

from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column

from engine.clock import now
from engine.db import Base


class DeliveryEvent(Base):
    """One provider event about one message, stored once whatever the provider re-sends."""

    __tablename__ = "delivery_event"
    __table_args__ = (
        # Reports and the guard count distinct deliveries per kind; the index covers them.
        sa.Index("ix_delivery_event_campaign_kind", "campaign_id", "kind", "delivery_id"),
        sa.Index("ix_delivery_event_delivery_id", "delivery_id"),
    )

    id: Mapped[int] = mapped_column(
        sa.BigInteger().with_variant(sa.Integer, "sqlite"), primary_key=True
    )
    #: SendGrid's ``sg_event_id`` or a stable hash for DSNs: the de-duplication key.
    provider_event_id: Mapped[str] = mapped_column(sa.String(100), unique=True)
    campaign_id: Mapped[int | None] = mapped_column(
        sa.ForeignKey("campaign.id", ondelete="CASCADE")
    )
    delivery_id: Mapped[int | None] = mapped_column(
        sa.BigInteger().with_variant(sa.Integer, "sqlite"),
        sa.ForeignKey("delivery.id", ondelete="SET NULL"),
    )
    #: ``engine.delivery.events.EventKind`` value.
    kind: Mapped[str] = mapped_column(sa.String(30))
    occurred_at: Mapped[datetime]
    received_at: Mapped[datetime] = mapped_column(default=now)
    #: ``hard``, ``soft`` or ``blocked`` for bounces.
    bounce_type: Mapped[str | None] = mapped_column(sa.String(10))
    #: A prefetching proxy (Apple Mail Privacy Protection), not a person, opened the message.
    machine_open: Mapped[bool] = mapped_column(default=False)
    #: The link clicked, for click events.
    url: Mapped[str | None] = mapped_column(sa.Text)
    reason: Mapped[str | None] = mapped_column(sa.Text)
    #: The provider's element minus personal data (no address, IP or user agent).
    payload: Mapped[dict[str, Any]] = mapped_column(default=dict)


class WebhookBatch(Base):
    """A verified webhook body kept until its events are stored and acted on, then deleted.

    Committing the body before answering means a crash after the answer never loses a
    batch the provider will not re-send; ``process_pending_batches`` picks up leftovers.
    """

    __tablename__ = "webhook_batch"

    id: Mapped[int] = mapped_column(primary_key=True)
    #: Which parser reads ``body``: ``sendgrid``.
    source: Mapped[str] = mapped_column(sa.String(20))
    body: Mapped[bytes] = mapped_column(sa.LargeBinary)
    received_at: Mapped[datetime] = mapped_column(default=now)
    attempts: Mapped[int] = mapped_column(default=0)
    last_error: Mapped[str] = mapped_column(sa.Text, default="")


class TrackedLink(Base):
    """A link of a campaign with aggregate tracking; the redirect only goes to these URLs."""

    __tablename__ = "tracked_link"
    __table_args__ = (sa.UniqueConstraint("campaign_id", "link_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    campaign_id: Mapped[int] = mapped_column(sa.ForeignKey("campaign.id", ondelete="CASCADE"))
    #: Small number in ``/t/c/<campaign_id>/<link_id>``, in order of appearance.
    link_id: Mapped[int]
    url: Mapped[str] = mapped_column(sa.Text)
    #: Clicks through the redirect; nobody is identified.
    clicks: Mapped[int] = mapped_column(sa.BigInteger, default=0)


class CampaignTally(Base):
    """Aggregate counters of a tracked campaign that no event row records."""

    __tablename__ = "campaign_tally"

    campaign_id: Mapped[int] = mapped_column(
        sa.ForeignKey("campaign.id", ondelete="CASCADE"), primary_key=True
    )
    #: Loads of the open pixel (no recipient is known; prefetchers count too).
    pixel_opens: Mapped[int] = mapped_column(sa.BigInteger, default=0)
