"""Digest runs: one per frequency and window, whose unique key makes each window send once."""

from __future__ import annotations

from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column

from engine.clock import now
from engine.db import Base
from subscribers.models import Frequency


class DigestRun(Base):
    """The digest of one window: its campaign (none when no reader had anything new)."""

    __tablename__ = "digest_run"
    __table_args__ = (
        # The compare-and-set on the window: a second run of it inserts nothing and sends nothing.
        sa.UniqueConstraint("frequency", "window_end"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    frequency: Mapped[Frequency] = mapped_column(sa.String(12))
    #: Aware UTC instants; the window is ``[window_start, window_end)``.
    window_start: Mapped[datetime]
    window_end: Mapped[datetime]
    #: The organisation's zone the window was cut in (its 08:00 boundaries).
    timezone: Mapped[str] = mapped_column(sa.String(64))
    campaign_id: Mapped[int | None] = mapped_column(
        sa.ForeignKey("campaign.id", ondelete="SET NULL"), unique=True
    )
    #: Bulletins sent in the window, and readers given a digest of some of them.
    bulletins: Mapped[int] = mapped_column(default=0)
    recipients: Mapped[int] = mapped_column(default=0)
    #: Bulletins of the window (or carried into it) that were paused when it ran, as
    #: ``{"campaigns": [id, …]}``: the next run lists those that have resumed, and carries
    #: those still paused again, so a pause over a window's end never loses a bulletin.
    held_back: Mapped[dict[str, Any]] = mapped_column(default=dict, server_default="{}")
    #: Who or what ran it: ``scheduler``, ``cli``, ``staff:<id>``.
    started_by: Mapped[str] = mapped_column(sa.String(80), default="")
    created_at: Mapped[datetime] = mapped_column(default=now)


class DigestItem(Base):
    """A bulletin listed in one variant of a run's digest (for the bulletin's report)."""

    __tablename__ = "digest_item"
    __table_args__ = (sa.Index("ix_digest_item_bulletin", "bulletin_id"),)

    run_id: Mapped[int] = mapped_column(
        sa.ForeignKey("digest_run.id", ondelete="CASCADE"), primary_key=True
    )
    variant: Mapped[int] = mapped_column(primary_key=True, autoincrement=False)
    #: The bulletin's campaign.
    bulletin_id: Mapped[int] = mapped_column(
        sa.ForeignKey("campaign.id", ondelete="CASCADE"), primary_key=True
    )
    #: The topic it is listed under in that variant.
    topic_id: Mapped[int | None] = mapped_column(sa.ForeignKey("topic.id", ondelete="SET NULL"))
