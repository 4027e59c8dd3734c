"""Campaigns and their deliveries: the schedule, the frozen audience and per-recipient progress."""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column, relationship

from campaigns.issues.models import Issue
from engine.clock import now
from engine.db import Base
from subscribers.models import Topic


class CampaignStatus(StrEnum):
    DRAFT = "draft"
    #: ``send_at`` is set: the row itself is the schedule.
    SCHEDULED = "scheduled"
    SENDING = "sending"
    PAUSED = "paused"
    CANCELLED = "cancelled"
    SENT = "sent"
    #: Its time passed beyond the grace period while nothing ran: staff decide.
    NEEDS_REVIEW = "needs_review"


class DeliveryStatus(StrEnum):
    QUEUED = "queued"
    CLAIMED = "claimed"
    #: Committed before the provider call: if we crash now, the outcome is unknown.
    SUBMITTING = "submitting"
    ACCEPTED = "accepted"
    FAILED_TRANSIENT = "failed_transient"
    FAILED_PERMANENT = "failed_permanent"
    SUPPRESSED = "suppressed"
    #: A crash happened while submitting: the provider may or may not have it.
    UNCERTAIN = "uncertain"


TERMINAL_DELIVERY_STATUSES = frozenset(
    {
        DeliveryStatus.ACCEPTED,
        DeliveryStatus.FAILED_PERMANENT,
        DeliveryStatus.SUPPRESSED,
        DeliveryStatus.UNCERTAIN,
    }
)


class BatchStatus(StrEnum):
    QUEUED = "queued"
    CLAIMED = "claimed"
    SUBMITTING = "submitting"
    DONE = "done"
    #: A per-subscriber-time-zone wave whose ``release_at`` has not come: not claimable yet.
    HELD = "held"


campaign_topic = sa.Table(
    "campaign_topic",
    Base.metadata,
    sa.Column("campaign_id", sa.ForeignKey("campaign.id", ondelete="CASCADE"), primary_key=True),
    sa.Column("topic_id", sa.ForeignKey("topic.id", ondelete="CASCADE"), primary_key=True),
)


class Campaign(Base):
    __tablename__ = "campaign"
    __table_args__ = (sa.Index("ix_campaign_status_send_at", "status", "send_at"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    #: None for a digest run (``campaigns.digests``): its content is bulletins already sent.
    issue_id: Mapped[int | None] = mapped_column(sa.ForeignKey("issue.id"))
    #: The issue revision this campaign sends; its compiled output is frozen below.
    issue_revision: Mapped[int]
    name: Mapped[str] = mapped_column(sa.String(300))
    status: Mapped[CampaignStatus] = mapped_column(sa.String(20), default=CampaignStatus.DRAFT)
    #: Aware UTC instant to start; with ``status=scheduled`` this row is the schedule.
    send_at: Mapped[datetime | None]
    #: Zone the schedule was expressed in (display and per-subscriber waves).
    timezone: Mapped[str] = mapped_column(sa.String(64), default="")
    #: How ``send_at`` was derived (absolute, or observance + rule), for display and re-derivation.
    schedule: Mapped[dict[str, Any]] = mapped_column(default=dict)
    #: Optional attribute filter on the audience, e.g. ``{"state": "OH"}``.
    segment: Mapped[dict[str, Any]] = mapped_column(default=dict)
    #: Aggregate open/click tracking; off by default because some topics are sensitive.
    tracking: Mapped[bool] = mapped_column(default=False)
    subject: Mapped[str] = mapped_column(sa.String(300), default="")
    from_address: Mapped[str] = mapped_column(sa.String(300), default="")
    #: Compiled once per campaign revision; personalised by substitution per recipient.
    html: Mapped[str] = mapped_column(sa.Text, default="")
    text: Mapped[str] = mapped_column(sa.Text, default="")
    paused_reason: Mapped[str] = mapped_column(sa.Text, default="")
    created_by_id: Mapped[int | None] = mapped_column(sa.ForeignKey("staff_user.id"))
    created_at: Mapped[datetime] = mapped_column(default=now)
    updated_at: Mapped[datetime] = mapped_column(default=now, onupdate=now)
    started_at: Mapped[datetime | None]
    finished_at: Mapped[datetime | None]
    #: Number of deliveries frozen when the campaign started.
    recipients: Mapped[int] = mapped_column(default=0)
    #: For a correction: the original issue whose accepted recipients are the whole audience
    #: (``campaigns.sending.audiences``), in place of the topics' subscribers.
    corrects_issue_id: Mapped[int | None] = mapped_column(sa.ForeignKey("issue.id"))
    #: A correction also goes to the original's uncertain recipients (staff chose them).
    include_uncertain: Mapped[bool] = mapped_column(default=False, server_default=sa.false())

    issue: Mapped[Issue | None] = relationship(foreign_keys=[issue_id])
    topics: Mapped[list[Topic]] = relationship(secondary=campaign_topic)


class Batch(Base):
    """A slice of at most 1,000 deliveries: SendGrid's personalization cap per request."""

    __tablename__ = "batch"
    __table_args__ = (
        sa.UniqueConstraint("campaign_id", "number"),
        sa.Index("ix_batch_campaign_status", "campaign_id", "status"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    campaign_id: Mapped[int] = mapped_column(sa.ForeignKey("campaign.id", ondelete="CASCADE"))
    number: Mapped[int]
    status: Mapped[BatchStatus] = mapped_column(sa.String(20), default=BatchStatus.QUEUED)
    size: Mapped[int] = mapped_column(default=0)
    #: Who holds the claim and until when; an expired lease is taken back by recovery.
    claimed_by: Mapped[str | None] = mapped_column(sa.String(120))
    lease_expires_at: Mapped[datetime | None]
    #: For a time-zone wave: when the batch may leave ``held`` (``campaigns.scheduling.waves``).
    release_at: Mapped[datetime | None]
    #: When a task for this batch was last handed to the broker: a queued batch with no recent
    #: enqueue lost its task (a killed worker, a broker that lost its data) and is queued again.
    enqueued_at: Mapped[datetime | None]
    attempts: Mapped[int] = mapped_column(default=0)
    created_at: Mapped[datetime] = mapped_column(default=now)
    finished_at: Mapped[datetime | None]
    #: The ``CampaignVariant`` every delivery of this batch gets; None: the campaign's own.
    variant: Mapped[int | None]


class CampaignVariant(Base):
    """One of several contents a campaign sends, each recipient getting exactly one.

    A digest run has one per set of topics its readers follow; a campaign of an issue with
    editions has one per language (``campaigns.sending.editions``). Batches never mix variants,
    so a batch is still one body (one SendGrid template request).
    """

    __tablename__ = "campaign_variant"

    campaign_id: Mapped[int] = mapped_column(
        sa.ForeignKey("campaign.id", ondelete="CASCADE"), primary_key=True
    )
    number: Mapped[int] = mapped_column(primary_key=True, autoincrement=False)
    #: What the variant stands for, in the creator's terms (a digest: its readers' topic set).
    key: Mapped[str] = mapped_column(sa.String(2000))
    subject: Mapped[str] = mapped_column(sa.String(300))
    #: Compiled once, personalised by substitution like the campaign's own documents.
    html: Mapped[str] = mapped_column(sa.Text)
    text: Mapped[str] = mapped_column(sa.Text)
    #: The issue this variant sends when it is one edition of the campaign's issue (its key is
    #: ``language:<code>``); None for a digest's variants.
    issue_id: Mapped[int | None] = mapped_column(sa.ForeignKey("issue.id"))
    #: The edition's revision compiled into this variant: a later one is not what was approved
    #: with it, and the start leaves the variant out (``drop_stale_editions``).
    issue_revision: Mapped[int | None]


class Delivery(Base):
    """One recipient of one campaign; the unique keys make "exactly one copy" a database fact."""

    __tablename__ = "delivery"
    # No index holds ``status``: each of a send's three changes of state (claimed, submitting,
    # accepted) is then a heap-only (HOT) update on PostgreSQL, with no index entry written,
    # provided the page has room for the new version (``DELIVERY_FILLFACTOR``).
    __table_args__ = (
        sa.UniqueConstraint("campaign_id", "subscriber_id"),
        sa.UniqueConstraint("campaign_id", "address"),
        sa.Index("ix_delivery_batch_id", "batch_id"),
        # Transient failures waiting for their retry: ``retry_at`` is set when one is recorded
        # and cleared when recovery queues it again.
        sa.Index(
            "ix_delivery_campaign_retry",
            "campaign_id",
            "retry_at",
            postgresql_where=sa.text("retry_at IS NOT NULL"),
            sqlite_where=sa.text("retry_at IS NOT NULL"),
        ),
    )

    id: Mapped[int] = mapped_column(
        sa.BigInteger().with_variant(sa.Integer, "sqlite"), primary_key=True
    )
    campaign_id: Mapped[int] = mapped_column(sa.ForeignKey("campaign.id", ondelete="CASCADE"))
    subscriber_id: Mapped[int | None] = mapped_column(
        sa.ForeignKey("subscriber.id", ondelete="SET NULL")
    )
    #: Normalised address frozen at start (erasure blanks it).
    address: Mapped[str] = mapped_column(sa.String(254))
    status: Mapped[DeliveryStatus] = mapped_column(sa.String(20), default=DeliveryStatus.QUEUED)
    batch_id: Mapped[int | None] = mapped_column(sa.ForeignKey("batch.id", ondelete="SET NULL"))
    attempts: Mapped[int] = mapped_column(default=0)
    retry_at: Mapped[datetime | None]
    provider_message_id: Mapped[str | None] = mapped_column(sa.String(120))
    last_error: Mapped[str] = mapped_column(sa.Text, default="")
    #: Latest provider-reported outcome (delivered, bounced, …); only ever moves forward.
    event_state: Mapped[str | None] = mapped_column(sa.String(20))
    updated_at: Mapped[datetime] = mapped_column(default=now)
    accepted_at: Mapped[datetime | None]
    #: The ``CampaignVariant`` this recipient gets (None: the campaign's own content).
    variant: Mapped[int | None]


#: Percent of each ``delivery`` page the freeze fills (PostgreSQL): the rest takes the next
#: versions of its rows, and page pruning makes room again between a batch's updates.
DELIVERY_FILLFACTOR = 50

sa.event.listen(
    Delivery.__table__,
    "after_create",
    sa.DDL(f"ALTER TABLE delivery SET (fillfactor = {DELIVERY_FILLFACTOR})").execute_if(
        dialect="postgresql"
    ),
)
