"""Watched feeds, one per address and topic, and the items each has already shown."""

from __future__ import annotations

from datetime import datetime

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column, relationship

from engine.clock import now
from engine.db import Base
from subscribers.models import Topic


class WatchedFeed(Base):
    """An RSS or Atom feed whose new items become a draft issue for its topic."""

    __tablename__ = "watched_feed"
    __table_args__ = (sa.UniqueConstraint("url", "topic_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    #: The address staff gave (http or https); redirects are followed on each check.
    url: Mapped[str] = mapped_column(sa.String(2000))
    #: The feed's own title, read on each successful check ("" until the first).
    title: Mapped[str] = mapped_column(sa.String(300), default="")
    topic_id: Mapped[int] = mapped_column(sa.ForeignKey("topic.id", ondelete="CASCADE"))
    #: Paused feeds are not checked by the scheduler ("Check now" still works).
    active: Mapped[bool] = mapped_column(default=True)
    #: Validators of the last full answer, sent back as If-None-Match / If-Modified-Since.
    etag: Mapped[str] = mapped_column(sa.String(500), default="")
    last_modified: Mapped[str] = mapped_column(sa.String(100), default="")
    #: Set by the first successful check, which records the items already there and drafts
    #: nothing; only items that appear after it make drafts.
    primed_at: Mapped[datetime | None]
    #: When a check last started: the scheduler's compare-and-set claim moves it.
    last_checked_at: Mapped[datetime | None]
    #: While a check runs, when its claim lapses (its fetch deadline plus slack); no other check
    #: is claimed before then. The check clears it when it ends; one that died leaves it to lapse.
    checking_until: Mapped[datetime | None]
    #: Why the last check failed, in plain words ("" when it succeeded).
    last_error: Mapped[str] = mapped_column(sa.Text, default="")
    drafts_made: Mapped[int] = mapped_column(default=0)
    last_issue_id: Mapped[int | None] = mapped_column(
        sa.ForeignKey("issue.id", ondelete="SET NULL")
    )
    created_by_id: Mapped[int | None] = mapped_column(
        sa.ForeignKey("staff_user.id", ondelete="SET NULL")
    )
    created_at: Mapped[datetime] = mapped_column(default=now)

    topic: Mapped[Topic] = relationship()

    @property
    def display_name(self) -> str:
        return self.title or self.url


class FeedItem(Base):
    """An item a feed has shown, kept so that it drafts at most once."""

    __tablename__ = "feed_item"
    __table_args__ = (sa.UniqueConstraint("feed_id", "key_hash"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    feed_id: Mapped[int] = mapped_column(sa.ForeignKey("watched_feed.id", ondelete="CASCADE"))
    #: SHA-256 of the item's GUID (Atom id), or of its link when it has none: GUIDs may be
    #: longer than an index allows. Unique per feed, so a second check of one item drafts nothing.
    key_hash: Mapped[str] = mapped_column(sa.String(64))
    title: Mapped[str] = mapped_column(sa.String(300), default="")
    link: Mapped[str] = mapped_column(sa.String(2000), default="")
    first_seen_at: Mapped[datetime] = mapped_column(default=now)
    #: The draft the item went into; None for items recorded by the first check.
    issue_id: Mapped[int | None] = mapped_column(
        sa.ForeignKey("issue.id", ondelete="SET NULL"), index=True
    )
