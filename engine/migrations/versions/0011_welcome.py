"""welcome emails: the issue that welcomes newcomers per category or for all, and who got it

Revision ID: 0011
Revises: 0010
Create Date: 2026-12-07 04:00:00

``welcome_message`` is unique per scope (``for_all``, ``category``); ``welcome_delivery`` is
unique per welcome, subscriber and number, so a welcome is recorded (and sent) once even when
two senders pick the same reader.
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import engine.db

revision: str = "0011"
down_revision: str | None = "0010"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "welcome_message",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("issue_id", sa.Integer(), nullable=False),
        sa.Column("for_all", sa.Boolean(), nullable=False),
        sa.Column("category", sa.String(length=120), nullable=False),
        sa.Column("active", sa.Boolean(), nullable=False),
        sa.Column("enabled_at", engine.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column("created_by_id", sa.Integer(), nullable=True),
        sa.Column("created_at", engine.db.UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["created_by_id"], ["staff_user.id"],
            name=op.f("fk_welcome_message_created_by_id_staff_user"), ondelete="SET NULL",
        ),
        sa.ForeignKeyConstraint(
            ["issue_id"], ["issue.id"],
            name=op.f("fk_welcome_message_issue_id_issue"), ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_welcome_message")),
        sa.UniqueConstraint(
            "for_all", "category", name=op.f("uq_welcome_message_for_all_category")
        ),
    )  # fmt: skip
    op.create_table(
        "welcome_delivery",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("welcome_id", sa.Integer(), nullable=False),
        sa.Column("subscriber_id", sa.Integer(), nullable=False),
        sa.Column("number", sa.Integer(), nullable=False),
        sa.Column("topic_ids", engine.db.JSONDocument(), nullable=False),
        sa.Column("issue_revision", sa.Integer(), nullable=False),
        sa.Column("status", sa.String(length=10), nullable=False),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("recorded_at", engine.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column("retry_at", engine.db.UTCDateTime(timezone=True), nullable=True),
        sa.Column("sent_at", engine.db.UTCDateTime(timezone=True), nullable=True),
        sa.Column("message_id", sa.String(length=255), nullable=False),
        sa.Column("provider_message_id", sa.String(length=255), nullable=True),
        sa.Column("note", sa.Text(), nullable=False),
        sa.ForeignKeyConstraint(
            ["subscriber_id"], ["subscriber.id"],
            name=op.f("fk_welcome_delivery_subscriber_id_subscriber"), ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["welcome_id"], ["welcome_message.id"],
            name=op.f("fk_welcome_delivery_welcome_id_welcome_message"), ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_welcome_delivery")),
        sa.UniqueConstraint(
            "welcome_id", "subscriber_id", "number",
            name=op.f("uq_welcome_delivery_welcome_id_subscriber_id_number"),
        ),
    )  # fmt: skip
    op.create_index(
        "ix_welcome_delivery_status_retry_at", "welcome_delivery", ["status", "retry_at"]
    )
    op.create_index("ix_welcome_delivery_subscriber_id", "welcome_delivery", ["subscriber_id"])


def downgrade() -> None:
    op.drop_index("ix_welcome_delivery_subscriber_id", table_name="welcome_delivery")
    op.drop_index("ix_welcome_delivery_status_retry_at", table_name="welcome_delivery")
    op.drop_table("welcome_delivery")
    op.drop_table("welcome_message")
