"""topic translations: a topic's name and description in readers' other languages

Revision ID: 0013
Revises: 0012
Create Date: 2026-12-07 06:00:00

``topic.translations`` holds ``{"es": {"name": …, "description": …}}``. Existing topics get
``{}``: readers of every language see their English name until staff add another.
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import engine.db

revision: str = "0013"
down_revision: str | None = "0012"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("topic") as batch:
        batch.add_column(
            sa.Column("translations", engine.db.JSONDocument(), server_default="{}", nullable=False)
        )


def downgrade() -> None:
    with op.batch_alter_table("topic") as batch:
        batch.drop_column("translations")
