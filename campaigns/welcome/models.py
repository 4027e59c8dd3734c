"""Welcome emails: the issue that welcomes newcomers to a category or to all, and who got it."""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column, relationship

from campaigns.issues.models import Issue
from engine.clock import now
from engine.db import Base, JSONType


class WelcomeDeliveryStatus(StrEnum):
    #: Recorded before the provider is called. A sender that dies here leaves the row as it
    #: is: the reader may have the email, and a welcome is never sent twice.
    SENDING = "sending"
    #: The provider refused for now; tried again from ``retry_at``.
    RETRY = "retry"
    SENT = "sent"
    #: The provider refused for good, or the retries ran out.
    FAILED = "failed"
    #: Decided not to welcome (a re-subscriber, a reader already, a suppressed address).
    SKIPPED = "skipped"


class WelcomeMessage(Base):
    """The issue that welcomes newcomers to one topic category, or to every topic (``for_all``)."""

    __tablename__ = "welcome_message"
    __table_args__ = (sa.UniqueConstraint("for_all", "category"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    issue_id: Mapped[int] = mapped_column(sa.ForeignKey("issue.id", ondelete="CASCADE"))
    #: One welcome for every topic whose category has no welcome of its own.
    for_all: Mapped[bool] = mapped_column(default=False)
    #: The topic category it welcomes to ("" with ``for_all``, or the uncategorised topics).
    category: Mapped[str] = mapped_column(sa.String(120), default="")
    #: Turned off, it sends nothing; it sends only while its issue is approved, too.
    active: Mapped[bool] = mapped_column(default=True)
    #: When it was last turned on: only subscriptions confirmed since then are welcomed.
    enabled_at: Mapped[datetime] = mapped_column(default=now)
    created_by_id: Mapped[int | None] = mapped_column(
        sa.ForeignKey("staff_user.id", ondelete="SET NULL")
    )
    created_at: Mapped[datetime] = mapped_column(default=now)

    issue: Mapped[Issue] = relationship()

    @property
    def scope_label(self) -> str:
        """Say what it welcomes to, in words."""
        if self.for_all:
            return "Every topic"
        return f"Topics in {self.category}" if self.category else "Topics without a category"


class WelcomeDelivery(Base):
    """One welcome to one subscriber, recorded before it is sent (or the decision to skip it)."""

    __tablename__ = "welcome_delivery"
    __table_args__ = (
        # Two senders that pick the same reader both try to insert number n: one wins.
        sa.UniqueConstraint("welcome_id", "subscriber_id", "number"),
        sa.Index("ix_welcome_delivery_status_retry_at", "status", "retry_at"),
        sa.Index("ix_welcome_delivery_subscriber_id", "subscriber_id"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    welcome_id: Mapped[int] = mapped_column(sa.ForeignKey("welcome_message.id", ondelete="CASCADE"))
    subscriber_id: Mapped[int] = mapped_column(sa.ForeignKey("subscriber.id", ondelete="CASCADE"))
    #: 1 for a reader's first welcome from it; a re-subscriber after 90 days gets 2, and so on.
    number: Mapped[int] = mapped_column(default=1)
    #: The topics the welcome names (the subscriptions it answers).
    topic_ids: Mapped[list[int]] = mapped_column(JSONType, default=list)
    #: The issue revision it was sent with (the approved one at the time).
    issue_revision: Mapped[int] = mapped_column(default=0)
    status: Mapped[WelcomeDeliveryStatus] = mapped_column(sa.String(10))
    attempts: Mapped[int] = mapped_column(default=0)
    recorded_at: Mapped[datetime] = mapped_column(default=now)
    retry_at: Mapped[datetime | None]
    sent_at: Mapped[datetime | None]
    #: Our own ``Message-ID`` header, stable for the delivery.
    message_id: Mapped[str] = mapped_column(sa.String(255), default="")
    provider_message_id: Mapped[str | None] = mapped_column(sa.String(255))
    #: Why it failed or was skipped, in plain words.
    note: Mapped[str] = mapped_column(sa.Text, default="")
