"""Migration 0011 adds the welcome emails and their deliveries, and takes them away again."""

from __future__ import annotations

import pytest
import sqlalchemy as sa
from alembic import command

from engine.migrate import alembic_config, current_revision, upgrade

_STAMP = "'2026-01-01 00:00:00'"


def test_welcome_upgrade_keeps_one_delivery_per_number_and_downgrades(
    empty_database: str,
) -> None:
    config = alembic_config(empty_database)
    command.upgrade(config, "0010")
    engine = sa.create_engine(empty_database)
    with engine.begin() as connection:
        connection.execute(
            sa.text(
                "INSERT INTO subscriber (id, email, name, language, timezone, attributes, status, "
                "consent_source, created_at, updated_at, confirmation_attempts) VALUES "
                f"(1, 'a@example.org', '', 'en', '', '{{}}', 'active', 'form', {_STAMP}, "
                f"{_STAMP}, 0)"
            )
        )
        connection.execute(
            sa.text(
                "INSERT INTO issue (id, slug, title, layout, language, content, revision, status, "
                f"created_at, updated_at) VALUES (1, 'welcome', 'Welcome', 'article', 'en', "
                f"'{{}}', 1, 'draft', {_STAMP}, {_STAMP})"
            )
        )
    command.upgrade(config, "0011")
    assert current_revision(empty_database) == "0011"
    welcome = (
        "INSERT INTO welcome_message (id, issue_id, for_all, category, active, enabled_at, "
        f"created_at) VALUES (1, 1, true, '', true, {_STAMP}, {_STAMP})"
    )
    delivery = (
        "INSERT INTO welcome_delivery (welcome_id, subscriber_id, number, topic_ids, "
        "issue_revision, status, attempts, recorded_at, message_id, note) VALUES "
        f"(1, 1, 1, '[]', 1, 'sending', 1, {_STAMP}, '', '')"
    )
    with engine.begin() as connection:
        connection.execute(sa.text(welcome))
        connection.execute(sa.text(delivery))
    with pytest.raises(sa.exc.IntegrityError), engine.begin() as connection:
        connection.execute(sa.text(delivery))
    with pytest.raises(sa.exc.IntegrityError), engine.begin() as connection:
        connection.execute(sa.text(welcome.replace("VALUES (1,", "VALUES (2,")))
    with engine.begin() as connection:
        connection.execute(sa.text(delivery.replace("(1, 1, 1,", "(1, 1, 2,")))

    command.downgrade(config, "0010")
    tables = set(sa.inspect(engine).get_table_names())
    assert not {"welcome_message", "welcome_delivery"} & tables and "issue" in tables
    upgrade(empty_database)
    assert {"welcome_message", "welcome_delivery"} <= set(sa.inspect(engine).get_table_names())
    engine.dispose()
