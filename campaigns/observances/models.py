"""Staff-defined observances, annual series that reuse last year's issue, staff notifications."""

from __future__ import annotations

from datetime import date, datetime
from enum import StrEnum
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column

from engine.clock import now
from engine.db import Base, JSONType


class StaffObservance(Base):
    """An observance staff added beside the shipped catalogue; same fields, same rule form."""

    __tablename__ = "staff_observance"

    id: Mapped[int] = mapped_column(primary_key=True)
    #: Unique across the catalogue and this table; issues and series refer to it.
    slug: Mapped[str] = mapped_column(sa.String(80), unique=True)
    name: Mapped[str] = mapped_column(sa.String(200))
    #: ``month``, ``week`` or ``day`` (``campaigns.observances.catalogue.ObservanceKind``).
    kind: Mapped[str] = mapped_column(sa.String(10))
    #: The date rule in its plain-dict form (``rules.rule_to_dict``).
    rule: Mapped[dict[str, Any]] = mapped_column(default=dict)
    region: Mapped[str] = mapped_column(sa.String(80), default="US")
    description: Mapped[str] = mapped_column(sa.Text, default="")
    #: Slug of the topic this observance suggests.
    topic: Mapped[str] = mapped_column(sa.String(80))
    #: ``#RRGGBB``, dark enough for white text.
    colour: Mapped[str] = mapped_column(sa.String(7))
    banner: Mapped[str | None] = mapped_column(sa.String(200))
    #: Retired observances leave the calendar but keep their slug taken for old issues.
    retired: Mapped[bool] = mapped_column(default=False)
    created_by_id: Mapped[int | None] = mapped_column(
        sa.ForeignKey("staff_user.id", ondelete="SET NULL")
    )
    created_at: Mapped[datetime] = mapped_column(default=now)
    updated_at: Mapped[datetime] = mapped_column(default=now, onupdate=now)

    def as_dict(self) -> dict[str, Any]:
        """Return the plain-dict form that ``observance_from_dict`` reads."""
        data: dict[str, Any] = {
            "slug": self.slug,
            "name": self.name,
            "kind": self.kind,
            "rule": self.rule,
            "region": self.region,
            "description": self.description,
            "topic": self.topic,
            "colour": self.colour,
        }
        if self.banner:
            data["banner"] = self.banner
        return data


class RecurringSeries(Base):
    """An annual campaign for an observance: each year a draft is cloned from the last issue."""

    __tablename__ = "recurring_series"

    id: Mapped[int] = mapped_column(primary_key=True)
    observance_slug: Mapped[str] = mapped_column(sa.String(80))
    #: The issue the first draft is cloned from.
    source_issue_id: Mapped[int] = mapped_column(sa.ForeignKey("issue.id", ondelete="CASCADE"))
    #: The most recent draft made for the series; next year's draft clones it.
    last_issue_id: Mapped[int | None] = mapped_column(
        sa.ForeignKey("issue.id", ondelete="SET NULL")
    )
    weeks_before: Mapped[int] = mapped_column(default=6)
    #: Topic slugs the drafts (and their campaigns) go to.
    topics: Mapped[list[str]] = mapped_column(JSONType, default=list)
    #: Send rule for the campaign, e.g. ``first-business-day 10:00``.
    rule: Mapped[str] = mapped_column(sa.String(80), default="first-business-day 10:00")
    #: Start of the window the latest draft was prepared for; the daily job's compare-and-set key.
    prepared_for: Mapped[date | None] = mapped_column(sa.Date)
    active: Mapped[bool] = mapped_column(default=True)
    created_at: Mapped[datetime] = mapped_column(default=now)


class NotificationKind(StrEnum):
    RECURRING_DRAFT = "recurring_draft"


class Notification(Base):
    """A dashboard entry for staff (a new recurring draft is waiting, …)."""

    __tablename__ = "notification"
    __table_args__ = (sa.Index("ix_notification_created_at", "created_at"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    kind: Mapped[str] = mapped_column(sa.String(40))
    message: Mapped[str] = mapped_column(sa.Text)
    #: Site-relative path of the page the notification is about.
    link: Mapped[str] = mapped_column(sa.String(300), default="")
    created_at: Mapped[datetime] = mapped_column(default=now)
    dismissed_at: Mapped[datetime | None]
