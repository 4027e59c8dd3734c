"""Migration 0013 gives topics their other languages' forms, empty for existing topics."""

from __future__ import annotations

import json

import sqlalchemy as sa
from alembic import command

from engine.migrate import alembic_config, current_revision, upgrade


def test_topic_translations_start_empty_and_downgrade(empty_database: str) -> None:
    config = alembic_config(empty_database)
    command.upgrade(config, "0012")
    engine = sa.create_engine(empty_database)
    insert = (
        "INSERT INTO topic (id, slug, name, description, category, visibility, opt_in, position, "
        "created_at) VALUES ({id}, 'topic-{id}', 'Topic', '', '', 'public', 'double', {id}, "
        "'2026-01-01 00:00:00')"
    )
    with engine.begin() as connection:
        connection.execute(sa.text(insert.format(id=1)))
    command.upgrade(config, "0013")
    assert current_revision(empty_database) == "0013"
    with engine.begin() as connection:
        connection.execute(sa.text(insert.format(id=2)))
        stored = connection.execute(sa.text("SELECT translations FROM topic ORDER BY id")).all()
    assert [json.loads(v) if isinstance(v, str) else v for (v,) in stored] == [{}, {}]

    command.downgrade(config, "0012")
    columns = {column["name"] for column in sa.inspect(engine).get_columns("topic")}
    assert "translations" not in columns
    upgrade(empty_database)
    columns = {column["name"] for column in sa.inspect(engine).get_columns("topic")}
    assert "translations" in columns
    engine.dispose()
