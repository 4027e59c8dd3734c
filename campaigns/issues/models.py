"""Issues: what staff write, saved as numbered revisions; campaigns send a frozen one."""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column, relationship

from engine.clock import now
from engine.db import Base
from subscribers.models import Topic


class IssueStatus(StrEnum):
    DRAFT = "draft"
    IN_REVIEW = "in_review"
    APPROVED = "approved"
    ARCHIVED = "archived"


issue_topic = sa.Table(
    "issue_topic",
    Base.metadata,
    sa.Column("issue_id", sa.ForeignKey("issue.id", ondelete="CASCADE"), primary_key=True),
    sa.Column("topic_id", sa.ForeignKey("topic.id", ondelete="CASCADE"), primary_key=True),
)


class Issue(Base):
    __tablename__ = "issue"
    # One edition per language of an original (``campaigns.issues.editions``).
    __table_args__ = (sa.UniqueConstraint("edition_of_id", "language"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    #: Stable public slug for the web view and the archive.
    slug: Mapped[str] = mapped_column(sa.String(160), unique=True)
    title: Mapped[str] = mapped_column(sa.String(300))
    layout: Mapped[str] = mapped_column(sa.String(40))
    language: Mapped[str] = mapped_column(sa.String(16), default="en")
    #: Slug of a catalogue or staff observance this issue is written for.
    observance_slug: Mapped[str | None] = mapped_column(sa.String(80))
    #: The content of the latest revision as written (``campaigns.content.drafts.read_draft``):
    #: it may still have problems, which block review and sending until they are fixed.
    content: Mapped[dict[str, Any]] = mapped_column(default=dict)
    #: Number of the latest revision; bumps on every save, used for conflict detection.
    revision: Mapped[int] = mapped_column(default=1)
    status: Mapped[IssueStatus] = mapped_column(sa.String(20), default=IssueStatus.DRAFT)
    author_id: Mapped[int | None] = mapped_column(sa.ForeignKey("staff_user.id"))
    approver_id: Mapped[int | None] = mapped_column(sa.ForeignKey("staff_user.id"))
    #: Hash of the approved revision and audience: any later edit voids the approval.
    approval_hash: Mapped[str | None] = mapped_column(sa.String(64))
    approved_at: Mapped[datetime | None]
    created_at: Mapped[datetime] = mapped_column(default=now)
    updated_at: Mapped[datetime] = mapped_column(default=now, onupdate=now)
    #: Set when the first campaign of this issue finished sending; the archive lists these.
    published_at: Mapped[datetime | None]
    #: The original (English) issue when this issue is one of its editions in another language.
    edition_of_id: Mapped[int | None] = mapped_column(sa.ForeignKey("issue.id", ondelete="CASCADE"))
    #: The original's revision this edition was last saved against: a later original revision
    #: makes the edition out of date.
    translated_from_revision: Mapped[int | None]
    #: The sent issue this one corrects (``campaigns.issues.corrections``): its campaigns go to
    #: the recipients the original was accepted for, and the original's web view notes it.
    correction_of_id: Mapped[int | None] = mapped_column(sa.ForeignKey("issue.id"))

    topics: Mapped[list[Topic]] = relationship(secondary=issue_topic)
    revisions: Mapped[list[IssueRevision]] = relationship(
        back_populates="issue", order_by="IssueRevision.number", cascade="all, delete-orphan"
    )
    #: The issue this one is an edition of (None for an original).
    original: Mapped[Issue | None] = relationship(remote_side=[id], foreign_keys=[edition_of_id])
    #: The issue this one corrects (None for anything but a correction).
    corrected: Mapped[Issue | None] = relationship(
        remote_side=[id], foreign_keys=[correction_of_id]
    )


class IssueRevision(Base):
    """One revision: the saves of one person's editing session, for a few minutes at most.

    While a revision is open its later saves update it and move it to the new save's number
    (``campaigns.issues.revisions``), so a number always names the same content. Submitting,
    approving and restoring close it.
    """

    __tablename__ = "issue_revision"
    __table_args__ = (sa.UniqueConstraint("issue_id", "number"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    issue_id: Mapped[int] = mapped_column(sa.ForeignKey("issue.id", ondelete="CASCADE"))
    number: Mapped[int]
    content: Mapped[dict[str, Any]] = mapped_column(default=dict)
    saved_by_id: Mapped[int | None] = mapped_column(sa.ForeignKey("staff_user.id"))
    #: When its first save was made.
    started_at: Mapped[datetime] = mapped_column(default=now)
    #: When its latest save was made.
    saved_at: Mapped[datetime] = mapped_column(default=now)
    #: Set once no later save may change it.
    closed_at: Mapped[datetime | None]
    #: The editor page (or API client) that saved it, as that client names its session.
    editing_session: Mapped[str | None] = mapped_column(sa.String(64))

    issue: Mapped[Issue] = relationship(back_populates="revisions")
