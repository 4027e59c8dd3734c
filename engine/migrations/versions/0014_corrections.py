"""corrections: an issue may correct a sent issue; language variants name their revision

Revision ID: 0014
Revises: 0013
Create Date: 2026-12-07 06:00:00

``issue.correction_of_id`` names the sent issue a correction corrects.
``campaign.corrects_issue_id`` makes a campaign's audience the recipients the original was
accepted for (and the uncertain ones too when ``include_uncertain``), not its topics'.
``campaign_variant.issue_revision`` is the edition revision a language variant compiled, which
the start compares with the edition's latest. ``digest_run.held_back`` names the bulletins that
were paused when their window's digest ran, for the next run to list once they resume.
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import engine.db

revision: str = "0014"
down_revision: str | None = "0013"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("issue") as batch:
        batch.add_column(sa.Column("correction_of_id", sa.Integer(), nullable=True))
        batch.create_foreign_key(
            op.f("fk_issue_correction_of_id_issue"), "issue", ["correction_of_id"], ["id"]
        )
    with op.batch_alter_table("campaign") as batch:
        batch.add_column(sa.Column("corrects_issue_id", sa.Integer(), nullable=True))
        batch.add_column(
            sa.Column("include_uncertain", sa.Boolean(), nullable=False, server_default=sa.false())
        )
        batch.create_foreign_key(
            op.f("fk_campaign_corrects_issue_id_issue"), "issue", ["corrects_issue_id"], ["id"]
        )

    with op.batch_alter_table("campaign_variant") as batch:
        batch.add_column(sa.Column("issue_revision", sa.Integer(), nullable=True))
    with op.batch_alter_table("digest_run") as batch:
        batch.add_column(
            sa.Column("held_back", engine.db.JSONDocument(), server_default="{}", nullable=False)
        )


def downgrade() -> None:
    with op.batch_alter_table("digest_run") as batch:
        batch.drop_column("held_back")
    with op.batch_alter_table("campaign_variant") as batch:
        batch.drop_column("issue_revision")
    with op.batch_alter_table("campaign") as batch:
        batch.drop_constraint(op.f("fk_campaign_corrects_issue_id_issue"), type_="foreignkey")
        batch.drop_column("include_uncertain")
        batch.drop_column("corrects_issue_id")
    with op.batch_alter_table("issue") as batch:
        batch.drop_constraint(op.f("fk_issue_correction_of_id_issue"), type_="foreignkey")
        batch.drop_column("correction_of_id")
