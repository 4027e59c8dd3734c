"""send across several hosts: when a batch was last queued, and one provider budget

Revision ID: 0006
Revises: 0005
Create Date: 2026-12-06 23:00:00

``batch.enqueued_at`` lets the dispatcher queue a batch again when its task was lost (a worker
killed after taking it, or a broker that lost its data). ``provider_budget`` holds the rate
limit every worker on every host shares: the next free send slot and the provider's pause.
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import engine.db

revision: str = "0006"
down_revision: str | None = "0005"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.add_column(
        "batch", sa.Column("enqueued_at", engine.db.UTCDateTime(timezone=True), nullable=True)
    )
    op.create_table(
        "provider_budget",
        sa.Column("name", sa.String(length=40), nullable=False),
        sa.Column("next_free", sa.Float(), server_default="0", nullable=False),
        sa.Column("paused_until", sa.Float(), server_default="0", nullable=False),
        sa.PrimaryKeyConstraint("name", name=op.f("pk_provider_budget")),
    )


def downgrade() -> None:
    op.drop_table("provider_budget")
    op.drop_column("batch", "enqueued_at")
