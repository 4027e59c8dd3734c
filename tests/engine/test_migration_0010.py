"""Migration 0010 adds the watched feeds and their items, and takes them away again."""

from __future__ import annotations

import pytest
import sqlalchemy as sa
from alembic import command

from engine.migrate import alembic_config, current_revision, upgrade

_STAMP = "'2026-01-01 00:00:00'"


def test_feeds_upgrade_keeps_one_item_per_key_and_downgrades(empty_database: str) -> None:
    config = alembic_config(empty_database)
    command.upgrade(config, "0009")
    engine = sa.create_engine(empty_database)
    with engine.begin() as connection:
        connection.execute(
            sa.text(
                "INSERT INTO topic (id, slug, name, description, category, visibility, opt_in, "
                f"position, created_at) VALUES (1, 't', 'T', '', '', 'public', 'single', 0, "
                f"{_STAMP})"
            )
        )
    command.upgrade(config, "0010")
    assert current_revision(empty_database) == "0010"
    feed = (
        "INSERT INTO watched_feed (id, url, title, topic_id, active, etag, last_modified, "
        "last_error, drafts_made, created_at) VALUES (1, 'https://a.example/feed', '', 1, "
        f"true, '', '', '', 0, {_STAMP})"
    )
    item = (
        "INSERT INTO feed_item (feed_id, key_hash, title, link, first_seen_at) VALUES "
        f"(1, 'abc', 'A', 'https://a.example/1', {_STAMP})"
    )
    with engine.begin() as connection:
        connection.execute(sa.text(feed))
        connection.execute(sa.text(item))
    with pytest.raises(sa.exc.IntegrityError), engine.begin() as connection:
        connection.execute(sa.text(item))
    with pytest.raises(sa.exc.IntegrityError), engine.begin() as connection:
        connection.execute(sa.text(feed.replace("VALUES (1,", "VALUES (2,")))

    command.downgrade(config, "0009")
    tables = set(sa.inspect(engine).get_table_names())
    assert not {"watched_feed", "feed_item"} & tables and "topic" in tables
    upgrade(empty_database)
    assert {"watched_feed", "feed_item"} <= set(sa.inspect(engine).get_table_names())
    engine.dispose()
