"""confirmation emails wait in a queue for the sender job

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-22 01:30:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import engine.db

revision: str = "0002"
down_revision: str | None = "0001"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


# Columns are added and dropped in place (SQLite 3.35+ does both): recreating ``subscriber`` in
# batch mode would cascade-delete its subscriptions and history while foreign keys are on.


def upgrade() -> None:
    op.add_column(
        "subscriber",
        sa.Column("confirmation_due_at", engine.db.UTCDateTime(timezone=True), nullable=True),
    )
    op.add_column(
        "subscriber",
        sa.Column("confirmation_attempts", sa.Integer(), server_default="0", nullable=False),
    )
    op.create_index(
        op.f("ix_subscriber_confirmation_due_at"), "subscriber", ["confirmation_due_at"]
    )


def downgrade() -> None:
    op.drop_index(op.f("ix_subscriber_confirmation_due_at"), table_name="subscriber")
    op.drop_column("subscriber", "confirmation_attempts")
    op.drop_column("subscriber", "confirmation_due_at")
