"""SQLite keeps no indexes that only PostgreSQL's search can use

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-22 04:30:00

``0001`` created three of the subscriber's indexes on every database, but only PostgreSQL uses
them: pattern operators and GIN for staff search, and ``lower(name)`` for prefix matching, which
SQLite's ``LIKE`` cannot take from an expression index. On SQLite they only made every new
subscriber write three more index pages.
"""

from collections.abc import Sequence

from alembic import op

revision: str = "0003"
down_revision: str | None = "0002"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

POSTGRESQL_ONLY = (
    "ix_subscriber_email_pattern",
    "ix_subscriber_attributes",
    "ix_subscriber_name_lower",
)


def upgrade() -> None:
    if op.get_bind().dialect.name != "sqlite":
        return
    for name in POSTGRESQL_ONLY:
        op.execute(f"DROP INDEX IF EXISTS {name}")


def downgrade() -> None:
    if op.get_bind().dialect.name != "sqlite":
        return
    op.create_index("ix_subscriber_email_pattern", "subscriber", ["email"])
    op.create_index("ix_subscriber_attributes", "subscriber", ["attributes"])
    op.execute("CREATE INDEX ix_subscriber_name_lower ON subscriber (lower(name))")
