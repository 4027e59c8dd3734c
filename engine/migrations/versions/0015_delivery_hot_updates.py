"""delivery: status in no index, a partial index of waiting retries, pages half filled

Revision ID: 0015
Revises: 0014
Create Date: 2026-12-07 06:30:00

``ix_delivery_campaign_status`` goes: with ``status`` in no index, each change of a delivery's
state during a send is a heap-only (HOT) update on PostgreSQL, which writes no index entry.
``ix_delivery_campaign_retry`` (``campaign_id, retry_at`` where ``retry_at`` is set) finds the
transient failures waiting for their retry. On PostgreSQL, ``delivery`` pages are filled to
50 % from now on, leaving each row room for its next versions; pages already written keep
their rows as they are. Building the new index reads all of ``delivery`` and holds its writes
off meanwhile: upgrade between sends.
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0015"
down_revision: str | None = "0014"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_WAITING = sa.text("retry_at IS NOT NULL")


def upgrade() -> None:
    op.drop_index("ix_delivery_campaign_status", table_name="delivery")
    op.create_index(
        "ix_delivery_campaign_retry",
        "delivery",
        ["campaign_id", "retry_at"],
        postgresql_where=_WAITING,
        sqlite_where=_WAITING,
    )
    if op.get_bind().dialect.name == "postgresql":
        op.execute("ALTER TABLE delivery SET (fillfactor = 50)")


def downgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        op.execute("ALTER TABLE delivery RESET (fillfactor)")
    op.drop_index("ix_delivery_campaign_retry", table_name="delivery")
    op.create_index("ix_delivery_campaign_status", "delivery", ["campaign_id", "status"])
