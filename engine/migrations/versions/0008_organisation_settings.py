"""the organisation's settings: one row per setting saved on the settings page

Revision ID: 0008
Revises: 0007
Create Date: 2026-12-07 10:00:00

Until a setting is saved, its environment variable (or Pinwheel's own default) stays in force,
so an upgraded installation looks and sends exactly as before.
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import engine.db

revision: str = "0008"
down_revision: str | None = "0007"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "organisation_setting",
        sa.Column("key", sa.String(length=80), nullable=False),
        sa.Column("value", sa.Text(), nullable=False),
        sa.Column("updated_at", engine.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column("updated_by", sa.String(length=254), nullable=False),
        sa.PrimaryKeyConstraint("key", name=op.f("pk_organisation_setting")),
    )


def downgrade() -> None:
    op.drop_table("organisation_setting")
