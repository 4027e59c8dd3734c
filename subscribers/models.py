"""Who receives mail: subscribers, topics, their subscriptions and the suppression list."""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, WriteOnlyMapped, mapped_column, relationship

from engine.clock import now
from engine.db import Base, JSONType


class TopicVisibility(StrEnum):
    PUBLIC = "public"
    PRIVATE = "private"


class OptIn(StrEnum):
    SINGLE = "single"
    DOUBLE = "double"


class SubscriberStatus(StrEnum):
    ACTIVE = "active"
    #: The subscriber asked for a break: kept, but left out of every audience.
    PAUSED = "paused"
    UNSUBSCRIBED = "unsubscribed"
    #: Personal data removed on request; only a suppression hash remains.
    ERASED = "erased"


class SubscriptionStatus(StrEnum):
    UNCONFIRMED = "unconfirmed"
    CONFIRMED = "confirmed"
    UNSUBSCRIBED = "unsubscribed"


class Frequency(StrEnum):
    """How often a subscription's bulletins arrive (GOV.UK's choices)."""

    #: Each bulletin as it is sent.
    IMMEDIATELY = "immediately"
    #: One digest a day of the bulletins sent in the last 24 hours (08:00 to 08:00 local).
    DAILY = "daily"
    #: One digest a week of the bulletins sent in the seven days before the digest weekday.
    WEEKLY = "weekly"


class SuppressionReason(StrEnum):
    BOUNCE = "bounce"
    COMPLAINT = "complaint"
    UNSUBSCRIBE = "unsubscribe"
    MANUAL = "manual"
    ERASED = "erased"


class EventKind(StrEnum):
    """What happened to a subscriber's consent (the history shown to staff)."""

    SUBSCRIBE_REQUESTED = "subscribe_requested"
    SUBSCRIBED = "subscribed"
    CONFIRMATION_SENT = "confirmation_sent"
    CONFIRMATION_FAILED = "confirmation_failed"
    CONFIRMED = "confirmed"
    PREFERENCES_CHANGED = "preferences_changed"
    FREQUENCY_CHANGED = "frequency_changed"
    PAUSED = "paused"
    RESUMED = "resumed"
    UNSUBSCRIBED = "unsubscribed"
    SUPPRESSED = "suppressed"
    SUPPRESSION_LIFTED = "suppression_lifted"
    IMPORTED = "imported"
    EDITED = "edited"


class ImportStatus(StrEnum):
    QUEUED = "queued"
    RUNNING = "running"
    FINISHED = "finished"
    FAILED = "failed"


class Topic(Base):
    __tablename__ = "topic"

    id: Mapped[int] = mapped_column(primary_key=True)
    #: Stable public identifier used in URLs, the CLI and imports.
    slug: Mapped[str] = mapped_column(sa.String(80), unique=True)
    name: Mapped[str] = mapped_column(sa.String(200))
    #: Shown on the public subscribe and preferences pages.
    description: Mapped[str] = mapped_column(sa.Text, default="")
    #: The name and description in readers' other languages, ``{"es": {"name": …,
    #: "description": …}}``: one column, not a pair per language, so a language added to
    #: ``engine.i18n.LANGUAGES`` needs no migration. An empty or missing form falls back to the
    #: English (``subscribers.topics.topic_text``).
    translations: Mapped[dict[str, Any]] = mapped_column(default=dict, server_default="{}")
    #: Groups topics on the public pages, e.g. "Child welfare practice" or "Digests".
    category: Mapped[str] = mapped_column(sa.String(120), default="")
    visibility: Mapped[TopicVisibility] = mapped_column(
        sa.String(10), default=TopicVisibility.PUBLIC
    )
    opt_in: Mapped[OptIn] = mapped_column(sa.String(10), default=OptIn.DOUBLE)
    position: Mapped[int] = mapped_column(default=0)
    created_at: Mapped[datetime] = mapped_column(default=now)


class Subscriber(Base):
    __tablename__ = "subscriber"
    __table_args__ = (
        sa.Index("ix_subscriber_status_id", "status", "id"),
        # Staff search matches prefixes: LIKE 'x%' needs pattern ops under a non-C collation.
        # PostgreSQL only: SQLite's LIKE uses neither these nor an expression index.
        sa.Index(
            "ix_subscriber_email_pattern", "email", postgresql_ops={"email": "text_pattern_ops"}
        ).ddl_if(dialect="postgresql"),
        sa.Index(
            "ix_subscriber_name_lower",
            sa.func.lower(sa.column("name")).label("name_lower"),
            postgresql_ops={"name_lower": "text_pattern_ops"},
        ).ddl_if(dialect="postgresql"),
        sa.Index(
            "ix_subscriber_attributes",
            "attributes",
            postgresql_using="gin",
            postgresql_ops={"attributes": "jsonb_path_ops"},
        ).ddl_if(dialect="postgresql"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    #: Normalised address (lower-cased, IDNA domain); unique case-insensitively because of it.
    email: Mapped[str] = mapped_column(sa.String(254), unique=True)
    name: Mapped[str] = mapped_column(sa.String(200), default="")
    language: Mapped[str] = mapped_column(sa.String(16), default="en")
    #: IANA zone for "10:00 local" sends; empty means the service's default zone.
    timezone: Mapped[str] = mapped_column(sa.String(64), default="")
    #: Free-form attributes (role, state, …) used by segment filters.
    attributes: Mapped[dict[str, Any]] = mapped_column(default=dict)
    status: Mapped[SubscriberStatus] = mapped_column(sa.String(20), default=SubscriberStatus.ACTIVE)
    #: Where consent was given: "form", "import", "api", "demo", …
    consent_source: Mapped[str] = mapped_column(sa.String(40), default="")
    consent_at: Mapped[datetime | None]
    consent_ip: Mapped[str | None] = mapped_column(sa.String(45))
    created_at: Mapped[datetime] = mapped_column(default=now)
    confirmed_at: Mapped[datetime | None]
    updated_at: Mapped[datetime] = mapped_column(default=now, onupdate=now)
    #: When the last double opt-in email went out: at most one per address per 24 hours.
    confirmation_sent_at: Mapped[datetime | None]
    #: Set while a confirmation email waits for the sender job (``subscribers.confirmations``);
    #: the time of its next attempt. Cleared once it is sent or given up.
    confirmation_due_at: Mapped[datetime | None] = mapped_column(index=True)
    #: Failed attempts at the waiting confirmation email, for the sender's back-off.
    confirmation_attempts: Mapped[int] = mapped_column(default=0, server_default="0")

    subscriptions: Mapped[list[Subscription]] = relationship(
        back_populates="subscriber", cascade="all, delete-orphan", passive_deletes=True
    )
    events: WriteOnlyMapped[SubscriberEvent] = relationship(
        cascade="all, delete-orphan", passive_deletes=True, order_by="SubscriberEvent.id"
    )

    @property
    def first_name(self) -> str:
        return self.name.split()[0] if self.name.strip() else ""


class Subscription(Base):
    __tablename__ = "subscription"
    __table_args__ = (
        sa.UniqueConstraint("subscriber_id", "topic_id"),
        # The audience's EXISTS reads only this index (frequency included: digest readers are
        # not in a bulletin's audience).
        sa.Index(
            "ix_subscription_topic_status", "topic_id", "status", "frequency", "subscriber_id"
        ),
        # The welcome job looks for subscriptions confirmed in a recent span, topic by topic.
        sa.Index("ix_subscription_topic_status_confirmed", "topic_id", "status", "confirmed_at"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    subscriber_id: Mapped[int] = mapped_column(sa.ForeignKey("subscriber.id", ondelete="CASCADE"))
    topic_id: Mapped[int] = mapped_column(sa.ForeignKey("topic.id", ondelete="CASCADE"))
    status: Mapped[SubscriptionStatus] = mapped_column(sa.String(20))
    #: Each bulletin as it is sent, or a daily or weekly digest of them.
    frequency: Mapped[Frequency] = mapped_column(
        sa.String(12), default=Frequency.IMMEDIATELY, server_default=Frequency.IMMEDIATELY.value
    )
    source: Mapped[str] = mapped_column(sa.String(40), default="")
    created_at: Mapped[datetime] = mapped_column(default=now)
    confirmed_at: Mapped[datetime | None]
    unsubscribed_at: Mapped[datetime | None]

    subscriber: Mapped[Subscriber] = relationship(back_populates="subscriptions")
    topic: Mapped[Topic] = relationship()


class Suppression(Base):
    """An address that must never be mailed again, whatever lists it appears on."""

    __tablename__ = "suppression"

    id: Mapped[int] = mapped_column(primary_key=True)
    #: SHA-256 of the normalised address: erasure keeps only this.
    address_hash: Mapped[str] = mapped_column(sa.String(64), unique=True)
    #: The address itself, cleared when the subscriber is erased.
    address: Mapped[str | None] = mapped_column(sa.String(254), index=True)
    reason: Mapped[SuppressionReason] = mapped_column(sa.String(20))
    #: What caused it: "sendgrid", "dsn", "staff:<id>", "public", …
    source: Mapped[str] = mapped_column(sa.String(80), default="")
    note: Mapped[str] = mapped_column(sa.Text, default="")
    created_at: Mapped[datetime] = mapped_column(default=now)


class SubscriberEvent(Base):
    """One entry of a subscriber's consent history (kept until the subscriber is erased)."""

    __tablename__ = "subscriber_event"
    __table_args__ = (sa.Index("ix_subscriber_event_subscriber_at", "subscriber_id", "at"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    subscriber_id: Mapped[int] = mapped_column(sa.ForeignKey("subscriber.id", ondelete="CASCADE"))
    at: Mapped[datetime] = mapped_column(default=now)
    kind: Mapped[EventKind] = mapped_column(sa.String(30))
    #: Topics, campaign id, source, changed fields …: never the address itself.
    detail: Mapped[dict[str, Any]] = mapped_column(default=dict)
    ip: Mapped[str | None] = mapped_column(sa.String(45))


class ImportJob(Base):
    """One CSV import started from the staff pages: its progress and its outcome."""

    __tablename__ = "subscriber_import"

    id: Mapped[int] = mapped_column(primary_key=True)
    filename: Mapped[str] = mapped_column(sa.String(255))
    status: Mapped[ImportStatus] = mapped_column(sa.String(20), default=ImportStatus.QUEUED)
    #: Topic ids every imported address is subscribed to.
    topic_ids: Mapped[list[int]] = mapped_column(JSONType, default=list)
    size_bytes: Mapped[int] = mapped_column(sa.BigInteger, default=0)
    processed_bytes: Mapped[int] = mapped_column(sa.BigInteger, default=0)
    created: Mapped[int] = mapped_column(default=0)
    updated: Mapped[int] = mapped_column(default=0)
    skipped: Mapped[int] = mapped_column(default=0)
    errors: Mapped[int] = mapped_column(default=0)
    message: Mapped[str] = mapped_column(sa.Text, default="")
    created_by_id: Mapped[int | None] = mapped_column(
        sa.ForeignKey("staff_user.id", ondelete="SET NULL")
    )
    created_at: Mapped[datetime] = mapped_column(default=now)
    finished_at: Mapped[datetime | None]

    @property
    def percent(self) -> int:
        if self.status == ImportStatus.FINISHED or not self.size_bytes:
            return 100 if self.status == ImportStatus.FINISHED else 0
        return min(99, self.processed_bytes * 100 // self.size_bytes)
