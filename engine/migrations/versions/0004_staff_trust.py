"""API tokens belong to staff users; sessions, two-factor sign-in and calendar links per user

Revision ID: 0004
Revises: 0003
Create Date: 2026-12-06 20:10:00

Tokens made before this revision belong to nobody: their ``user_id`` stays empty and the API
refuses them with a message saying to create a new token for a person
(``pinwheel tokens create --user EMAIL NAME``). Their rows are kept for the audit trail.
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import engine.db

revision: str = "0004"
down_revision: str | None = "0003"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("api_token") as batch:
        batch.add_column(sa.Column("user_id", sa.Integer(), nullable=True))
        batch.create_foreign_key(
            op.f("fk_api_token_user_id_staff_user"), "staff_user", ["user_id"], ["id"]
        )
        batch.create_index(op.f("ix_api_token_user_id"), ["user_id"])
        batch.drop_column("role")
    op.add_column(
        "staff_user",
        sa.Column("session_version", sa.Integer(), server_default="0", nullable=False),
    )
    for name in ("password_changed_at", "totp_enabled_at"):
        op.add_column(
            "staff_user",
            sa.Column(name, engine.db.UTCDateTime(timezone=True), nullable=True),
        )
    op.add_column("staff_user", sa.Column("totp_secret", sa.String(length=64), nullable=True))
    op.add_column("staff_user", sa.Column("totp_last_step", sa.Integer(), nullable=True))
    op.add_column(
        "staff_user",
        sa.Column("recovery_codes", engine.db.JSONDocument(), server_default="[]", nullable=False),
    )
    op.add_column("staff_user", sa.Column("calendar_key", sa.String(length=64), nullable=True))


def downgrade() -> None:
    for name in (
        "calendar_key",
        "recovery_codes",
        "totp_last_step",
        "totp_secret",
        "totp_enabled_at",
        "password_changed_at",
        "session_version",
    ):
        op.drop_column("staff_user", name)
    with op.batch_alter_table("api_token") as batch:
        batch.add_column(
            sa.Column("role", sa.String(length=20), server_default="editor", nullable=False)
        )
        batch.drop_index(op.f("ix_api_token_user_id"))
        batch.drop_constraint(op.f("fk_api_token_user_id_staff_user"), type_="foreignkey")
        batch.drop_column("user_id")
