"""drafts from a feed: watched feeds per topic and the items each has shown

Revision ID: 0010
Revises: 0009
Create Date: 2026-12-07 03:00:00

``watched_feed`` is unique per address and topic; ``feed_item`` keeps a hash of each item's GUID
(or link), unique per feed, so an item makes at most one draft.
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import engine.db

revision: str = "0010"
down_revision: str | None = "0009"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "watched_feed",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("url", sa.String(length=2000), nullable=False),
        sa.Column("title", sa.String(length=300), nullable=False),
        sa.Column("topic_id", sa.Integer(), nullable=False),
        sa.Column("active", sa.Boolean(), nullable=False),
        sa.Column("etag", sa.String(length=500), nullable=False),
        sa.Column("last_modified", sa.String(length=100), nullable=False),
        sa.Column("primed_at", engine.db.UTCDateTime(timezone=True), nullable=True),
        sa.Column("last_checked_at", engine.db.UTCDateTime(timezone=True), nullable=True),
        sa.Column("checking_until", engine.db.UTCDateTime(timezone=True), nullable=True),
        sa.Column("last_error", sa.Text(), nullable=False),
        sa.Column("drafts_made", sa.Integer(), nullable=False),
        sa.Column("last_issue_id", sa.Integer(), nullable=True),
        sa.Column("created_by_id", sa.Integer(), nullable=True),
        sa.Column("created_at", engine.db.UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["created_by_id"], ["staff_user.id"],
            name=op.f("fk_watched_feed_created_by_id_staff_user"), ondelete="SET NULL",
        ),
        sa.ForeignKeyConstraint(
            ["last_issue_id"], ["issue.id"],
            name=op.f("fk_watched_feed_last_issue_id_issue"), ondelete="SET NULL",
        ),
        sa.ForeignKeyConstraint(
            ["topic_id"], ["topic.id"],
            name=op.f("fk_watched_feed_topic_id_topic"), ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_watched_feed")),
        sa.UniqueConstraint("url", "topic_id", name=op.f("uq_watched_feed_url_topic_id")),
    )  # fmt: skip
    op.create_table(
        "feed_item",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("feed_id", sa.Integer(), nullable=False),
        sa.Column("key_hash", sa.String(length=64), nullable=False),
        sa.Column("title", sa.String(length=300), nullable=False),
        sa.Column("link", sa.String(length=2000), nullable=False),
        sa.Column("first_seen_at", engine.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column("issue_id", sa.Integer(), nullable=True),
        sa.ForeignKeyConstraint(
            ["feed_id"], ["watched_feed.id"],
            name=op.f("fk_feed_item_feed_id_watched_feed"), ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["issue_id"], ["issue.id"],
            name=op.f("fk_feed_item_issue_id_issue"), ondelete="SET NULL",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_feed_item")),
        sa.UniqueConstraint("feed_id", "key_hash", name=op.f("uq_feed_item_feed_id_key_hash")),
    )  # fmt: skip
    op.create_index(op.f("ix_feed_item_issue_id"), "feed_item", ["issue_id"], unique=False)


def downgrade() -> None:
    op.drop_index(op.f("ix_feed_item_issue_id"), table_name="feed_item")
    op.drop_table("feed_item")
    op.drop_table("watched_feed")
