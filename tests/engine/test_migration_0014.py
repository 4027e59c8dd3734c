"""Migration 0014: corrections name their original, campaigns its readers, variants a revision."""

from __future__ import annotations

import sqlalchemy as sa
from alembic import command

from engine.migrate import alembic_config, current_revision, upgrade

_STAMP = "'2026-01-01 00:00:00'"


def _issue(issue_id: int, correction_of: str = "NULL") -> str:
    return (
        "INSERT INTO issue (id, slug, title, layout, language, content, revision, status, "
        f"created_at, updated_at, correction_of_id) VALUES ({issue_id}, 'issue-{issue_id}', "
        f"'Issue', 'article', 'en', '{{}}', 1, 'draft', {_STAMP}, {_STAMP}, {correction_of})"
    )


def test_corrections_upgrade_keeps_campaigns_and_downgrades(empty_database: str) -> None:
    config = alembic_config(empty_database)
    command.upgrade(config, "0013")
    engine = sa.create_engine(empty_database)
    with engine.begin() as connection:
        connection.execute(
            sa.text(
                "INSERT INTO issue (id, slug, title, layout, language, content, revision, "
                f"status, created_at, updated_at) VALUES (1, 'one', 'One', 'article', 'en', "
                f"'{{}}', 1, 'draft', {_STAMP}, {_STAMP})"
            )
        )
        connection.execute(
            sa.text(
                "INSERT INTO campaign (id, issue_id, issue_revision, name, status, timezone, "
                "schedule, segment, tracking, subject, from_address, html, text, paused_reason, "
                f"created_at, updated_at, recipients) VALUES (1, 1, 1, 'One', 'sent', '', '{{}}', "
                f"'{{}}', false, 'One', 'a@example.com', '', '', '', {_STAMP}, {_STAMP}, 0)"
            )
        )
    command.upgrade(config, "0014")
    assert current_revision(empty_database) == "0014"
    with engine.begin() as connection:
        connection.execute(sa.text(_issue(2, correction_of="1")))
        row = connection.execute(
            sa.text("SELECT corrects_issue_id, include_uncertain FROM campaign WHERE id = 1")
        ).one()
    assert row[0] is None and not row[1]
    with engine.begin() as connection:
        found = connection.execute(sa.text("SELECT correction_of_id FROM issue WHERE id = 2"))
        assert found.scalar() == 1

    command.downgrade(config, "0013")
    assert "correction_of_id" not in {c["name"] for c in sa.inspect(engine).get_columns("issue")}
    campaign_columns = {c["name"] for c in sa.inspect(engine).get_columns("campaign")}
    assert not {"corrects_issue_id", "include_uncertain"} & campaign_columns
    variant_columns = {c["name"] for c in sa.inspect(engine).get_columns("campaign_variant")}
    assert "issue_revision" not in variant_columns
    upgrade(empty_database)
    variant_columns = {c["name"] for c in sa.inspect(engine).get_columns("campaign_variant")}
    assert "issue_revision" in variant_columns
    assert "correction_of_id" in {c["name"] for c in sa.inspect(engine).get_columns("issue")}
    engine.dispose()
