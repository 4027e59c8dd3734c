"""issue editions: an issue may be another language's edition of an original issue

Revision ID: 0012
Revises: 0011
Create Date: 2026-12-07 05:00:00

``issue.edition_of_id`` names the original; ``(edition_of_id, language)`` is unique, so an
original has at most one edition per language. ``translated_from_revision`` is the original's
revision the edition was last saved against (a later one makes the edition out of date).
``campaign_variant.issue_id`` names the edition a campaign's language variant sends.
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0012"
down_revision: str | None = "0011"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("issue") as batch:
        batch.add_column(sa.Column("edition_of_id", sa.Integer(), nullable=True))
        batch.add_column(sa.Column("translated_from_revision", sa.Integer(), nullable=True))
        batch.create_foreign_key(
            op.f("fk_issue_edition_of_id_issue"),
            "issue",
            ["edition_of_id"],
            ["id"],
            ondelete="CASCADE",
        )
        batch.create_unique_constraint(
            op.f("uq_issue_edition_of_id_language"), ["edition_of_id", "language"]
        )
    with op.batch_alter_table("campaign_variant") as batch:
        batch.add_column(sa.Column("issue_id", sa.Integer(), nullable=True))
        batch.create_foreign_key(
            op.f("fk_campaign_variant_issue_id_issue"), "issue", ["issue_id"], ["id"]
        )


def downgrade() -> None:
    with op.batch_alter_table("campaign_variant") as batch:
        batch.drop_constraint(op.f("fk_campaign_variant_issue_id_issue"), type_="foreignkey")
        batch.drop_column("issue_id")
    with op.batch_alter_table("issue") as batch:
        batch.drop_constraint(op.f("uq_issue_edition_of_id_language"), type_="unique")
        batch.drop_constraint(op.f("fk_issue_edition_of_id_issue"), type_="foreignkey")
        batch.drop_column("translated_from_revision")
        batch.drop_column("edition_of_id")
