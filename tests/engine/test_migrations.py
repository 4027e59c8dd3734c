"""The models and the Alembic migrations describe the same schema, on both databases."""

from __future__ import annotations

from pathlib import Path

import sqlalchemy as sa
from alembic import command

from engine.migrate import alembic_config, current_revision, load_models, upgrade


def test_upgrade_then_models_match_migrations(empty_database: str) -> None:
    upgrade(empty_database)
    assert current_revision(empty_database) is not None
    # Fails when a model changed without a migration (what `alembic check` reports).
    command.check(alembic_config(empty_database))


def test_downgrade_to_base_and_back(empty_database: str) -> None:
    config = alembic_config(empty_database)
    upgrade(empty_database)
    command.downgrade(config, "base")
    assert current_revision(empty_database) is None
    upgrade(empty_database)
    assert current_revision(empty_database) is not None


def test_sqlite_gets_the_indexes_the_models_create_there(tmp_path: Path) -> None:
    # `alembic check` leaves out the indexes a model creates on PostgreSQL only.
    migrated_url = f"sqlite:///{tmp_path / 'migrated.db'}"
    upgrade(migrated_url)
    migrated = sa.create_engine(migrated_url)
    created = sa.create_engine(f"sqlite:///{tmp_path / 'created.db'}")
    load_models().create_all(created)
    assert _indexes(migrated) == _indexes(created)
    assert "ix_subscriber_name_lower" not in _indexes(migrated)["subscriber"]
    migrated.dispose()
    created.dispose()


def _indexes(engine: sa.Engine) -> dict[str, set[str]]:
    inspector = sa.inspect(engine)
    return {
        table: {index["name"] for index in inspector.get_indexes(table) if index["name"]}
        for table in inspector.get_table_names()
        if table != "alembic_version"
    }
