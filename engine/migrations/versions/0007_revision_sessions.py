"""issue revisions gather an editing session's saves

Revision ID: 0007
Revises: 0006
Create Date: 2026-12-07 10:00:00

A revision now collects one person's saves from one editing session for up to ten minutes:
``started_at`` is its first save, ``saved_at`` its latest, ``closed_at`` is set once nothing
may change it (submitted, approved, restored), and ``editing_session`` names the editor page
or API client that saved it. Revisions saved before this migration are closed.
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import engine.db

revision: str = "0007"
down_revision: str | None = "0006"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("issue_revision") as batch:
        batch.add_column(
            sa.Column("started_at", engine.db.UTCDateTime(timezone=True), nullable=True)
        )
        batch.add_column(
            sa.Column("closed_at", engine.db.UTCDateTime(timezone=True), nullable=True)
        )
        batch.add_column(sa.Column("editing_session", sa.String(length=64), nullable=True))
    op.execute("UPDATE issue_revision SET started_at = saved_at, closed_at = saved_at")
    with op.batch_alter_table("issue_revision") as batch:
        batch.alter_column(
            "started_at", existing_type=engine.db.UTCDateTime(timezone=True), nullable=False
        )


def downgrade() -> None:
    with op.batch_alter_table("issue_revision") as batch:
        batch.drop_column("editing_session")
        batch.drop_column("closed_at")
        batch.drop_column("started_at")
