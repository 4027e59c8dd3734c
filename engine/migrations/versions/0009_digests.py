"""digest frequency: per-subscription frequency, digest runs, and campaigns with variants

Revision ID: 0009
Revises: 0008
Create Date: 2026-12-07 02:00:00

Every existing subscription keeps getting each bulletin as it is sent (``immediately``). A
digest run is a campaign without an issue (``campaign.issue_id`` becomes nullable) whose
readers each get one of its variants (``campaign_variant``; ``delivery.variant`` and
``batch.variant`` say which). ``digest_run`` is unique per frequency and window end, which
makes each window send once; ``digest_item`` lists the bulletins of each variant.
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import engine.db

revision: str = "0009"
down_revision: str | None = "0008"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.add_column(
        "subscription",
        sa.Column("frequency", sa.String(length=12), server_default="immediately", nullable=False),
    )
    # The audience filters on frequency: the index keeps its EXISTS index-only on PostgreSQL.
    op.drop_index("ix_subscription_topic_status", table_name="subscription")
    op.create_index(
        "ix_subscription_topic_status",
        "subscription",
        ["topic_id", "status", "frequency", "subscriber_id"],
        unique=False,
    )
    op.create_index(
        "ix_subscription_topic_status_confirmed",
        "subscription",
        ["topic_id", "status", "confirmed_at"],
        unique=False,
    )
    with op.batch_alter_table("campaign") as batch:
        batch.alter_column("issue_id", existing_type=sa.Integer(), nullable=True)
    op.add_column("batch", sa.Column("variant", sa.Integer(), nullable=True))
    op.add_column("delivery", sa.Column("variant", sa.Integer(), nullable=True))
    op.create_table(
        "campaign_variant",
        sa.Column("campaign_id", sa.Integer(), nullable=False),
        sa.Column("number", sa.Integer(), autoincrement=False, nullable=False),
        sa.Column("key", sa.String(length=2000), nullable=False),
        sa.Column("subject", sa.String(length=300), nullable=False),
        sa.Column("html", sa.Text(), nullable=False),
        sa.Column("text", sa.Text(), nullable=False),
        sa.ForeignKeyConstraint(
            ["campaign_id"], ["campaign.id"],
            name=op.f("fk_campaign_variant_campaign_id_campaign"), ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("campaign_id", "number", name=op.f("pk_campaign_variant")),
    )  # fmt: skip
    op.create_table(
        "digest_run",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("frequency", sa.String(length=12), nullable=False),
        sa.Column("window_start", engine.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column("window_end", engine.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column("timezone", sa.String(length=64), nullable=False),
        sa.Column("campaign_id", sa.Integer(), nullable=True),
        sa.Column("bulletins", sa.Integer(), nullable=False),
        sa.Column("recipients", sa.Integer(), nullable=False),
        sa.Column("started_by", sa.String(length=80), nullable=False),
        sa.Column("created_at", engine.db.UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["campaign_id"], ["campaign.id"],
            name=op.f("fk_digest_run_campaign_id_campaign"), ondelete="SET NULL",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_digest_run")),
        sa.UniqueConstraint("campaign_id", name=op.f("uq_digest_run_campaign_id")),
        sa.UniqueConstraint(
            "frequency", "window_end", name=op.f("uq_digest_run_frequency_window_end")
        ),
    )  # fmt: skip
    op.create_table(
        "digest_item",
        sa.Column("run_id", sa.Integer(), nullable=False),
        sa.Column("variant", sa.Integer(), autoincrement=False, nullable=False),
        sa.Column("bulletin_id", sa.Integer(), nullable=False),
        sa.Column("topic_id", sa.Integer(), nullable=True),
        sa.ForeignKeyConstraint(
            ["bulletin_id"], ["campaign.id"],
            name=op.f("fk_digest_item_bulletin_id_campaign"), ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["run_id"], ["digest_run.id"],
            name=op.f("fk_digest_item_run_id_digest_run"), ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["topic_id"], ["topic.id"],
            name=op.f("fk_digest_item_topic_id_topic"), ondelete="SET NULL",
        ),
        sa.PrimaryKeyConstraint("run_id", "variant", "bulletin_id", name=op.f("pk_digest_item")),
    )  # fmt: skip
    op.create_index("ix_digest_item_bulletin", "digest_item", ["bulletin_id"], unique=False)


def downgrade() -> None:
    op.drop_index("ix_digest_item_bulletin", table_name="digest_item")
    op.drop_table("digest_item")
    op.drop_table("digest_run")
    op.drop_table("campaign_variant")
    op.drop_column("delivery", "variant")
    op.drop_column("batch", "variant")
    # Digest runs have no issue; they cannot survive the column becoming required again.
    digests = "SELECT id FROM campaign WHERE issue_id IS NULL"
    # SQLite runs migrations with foreign keys off: no cascade, so every child table is named
    # (events before the deliveries they point at).
    children = ("delivery_event", "tracked_link", "campaign_tally", "delivery", "batch")
    for table in (*children, "campaign_topic"):
        op.execute(f"DELETE FROM {table} WHERE campaign_id IN ({digests})")
    op.execute("DELETE FROM campaign WHERE issue_id IS NULL")
    with op.batch_alter_table("campaign") as batch:
        batch.alter_column("issue_id", existing_type=sa.Integer(), nullable=False)
    op.drop_index("ix_subscription_topic_status_confirmed", table_name="subscription")
    op.drop_index("ix_subscription_topic_status", table_name="subscription")
    op.drop_column("subscription", "frequency")
    op.create_index(
        "ix_subscription_topic_status",
        "subscription",
        ["topic_id", "status", "subscriber_id"],
        unique=False,
    )
