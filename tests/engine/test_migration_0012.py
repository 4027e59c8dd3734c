"""Migration 0012 links editions to their original issue, one per language, and back again."""

from __future__ import annotations

import pytest
import sqlalchemy as sa
from alembic import command

from engine.migrate import alembic_config, current_revision, upgrade

_STAMP = "'2026-01-01 00:00:00'"


def _issue(issue_id: int, language: str, edition_of: str = "") -> str:
    columns = ", edition_of_id, translated_from_revision" if edition_of else ""
    values = f", {edition_of}, 1" if edition_of else ""
    return (
        "INSERT INTO issue (id, slug, title, layout, language, content, revision, status, "
        f"created_at, updated_at{columns}) VALUES ({issue_id}, 'issue-{issue_id}', 'Issue', "
        f"'article', '{language}', '{{}}', 1, 'draft', {_STAMP}, {_STAMP}{values})"
    )


def test_editions_upgrade_keeps_one_edition_per_language_and_downgrades(
    empty_database: str,
) -> None:
    config = alembic_config(empty_database)
    command.upgrade(config, "0011")
    engine = sa.create_engine(empty_database)
    with engine.begin() as connection:
        connection.execute(sa.text(_issue(1, "en")))
    command.upgrade(config, "0012")
    assert current_revision(empty_database) == "0012"
    with engine.begin() as connection:
        connection.execute(sa.text(_issue(2, "es", edition_of="1")))
        connection.execute(sa.text(_issue(3, "es")))
        connection.execute(sa.text(_issue(4, "es")))
    with pytest.raises(sa.exc.IntegrityError), engine.begin() as connection:
        connection.execute(sa.text(_issue(5, "es", edition_of="1")))
    with engine.begin() as connection:
        row = connection.execute(
            sa.text("SELECT edition_of_id, translated_from_revision FROM issue WHERE id = 2")
        ).one()
    assert tuple(row) == (1, 1)
    variant_columns = {c["name"] for c in sa.inspect(engine).get_columns("campaign_variant")}
    assert "issue_id" in variant_columns

    command.downgrade(config, "0011")
    columns = {column["name"] for column in sa.inspect(engine).get_columns("issue")}
    assert not {"edition_of_id", "translated_from_revision"} & columns
    variant_columns = {c["name"] for c in sa.inspect(engine).get_columns("campaign_variant")}
    assert "issue_id" not in variant_columns
    with engine.begin() as connection:
        assert connection.execute(sa.text("SELECT count(*) FROM issue")).scalar() == 4
    upgrade(empty_database)
    columns = {column["name"] for column in sa.inspect(engine).get_columns("issue")}
    assert {"edition_of_id", "translated_from_revision"} <= columns
    engine.dispose()
