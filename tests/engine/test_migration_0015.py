"""Migration 0015: delivery's status leaves every index; waiting retries get a partial index."""

from __future__ import annotations

import sqlalchemy as sa
from alembic import command

from engine.migrate import alembic_config, current_revision

_STAMP = "'2026-01-01 00:00:00'"


def _indexes(engine: sa.Engine) -> dict[str, list[str]]:
    return {
        index["name"]: [str(column) for column in index["column_names"]]
        for index in sa.inspect(engine).get_indexes("delivery")
        if index["name"]
    }


def _fillfactor(engine: sa.Engine) -> list[str] | None:
    with engine.connect() as connection:
        return connection.execute(
            sa.text("SELECT reloptions FROM pg_class WHERE relname = 'delivery'")
        ).scalar()


def _campaign_with_deliveries(connection: sa.Connection) -> None:
    connection.execute(
        sa.text(
            "INSERT INTO campaign (id, issue_id, issue_revision, name, status, timezone, "
            "schedule, segment, tracking, subject, from_address, html, text, paused_reason, "
            f"created_at, updated_at, recipients) VALUES (1, NULL, 1, 'One', 'sending', '', "
            f"'{{}}', '{{}}', false, 'One', 'a@example.com', '', '', '', {_STAMP}, {_STAMP}, 2)"
        )
    )
    for n, (status, retry) in enumerate([("accepted", "NULL"), ("failed_transient", _STAMP)]):
        connection.execute(
            sa.text(
                "INSERT INTO delivery (id, campaign_id, address, status, attempts, last_error, "
                f"updated_at, retry_at) VALUES ({n + 1}, 1, 'r{n}@example.org', '{status}', 0, "
                f"'', {_STAMP}, {retry})"
            )
        )


def test_delivery_indexes_upgrade_keeps_rows_and_downgrades(empty_database: str) -> None:
    config = alembic_config(empty_database)
    command.upgrade(config, "0014")
    engine = sa.create_engine(empty_database)
    postgres = engine.dialect.name == "postgresql"
    with engine.begin() as connection:
        _campaign_with_deliveries(connection)
    assert _indexes(engine)["ix_delivery_campaign_status"] == ["campaign_id", "status"]

    command.upgrade(config, "0015")
    assert current_revision(empty_database) == "0015"
    indexes = _indexes(engine)
    assert "ix_delivery_campaign_status" not in indexes
    assert indexes["ix_delivery_campaign_retry"] == ["campaign_id", "retry_at"]
    assert not any("status" in columns for columns in indexes.values())
    if postgres:
        assert _fillfactor(engine) == ["fillfactor=50"]
    with engine.begin() as connection:
        waiting = connection.execute(
            sa.text("SELECT id FROM delivery WHERE campaign_id = 1 AND retry_at IS NOT NULL")
        )
        assert waiting.scalars().all() == [2]
        assert connection.execute(sa.text("SELECT count(*) FROM delivery")).scalar() == 2

    command.downgrade(config, "0014")
    indexes = _indexes(engine)
    assert indexes["ix_delivery_campaign_status"] == ["campaign_id", "status"]
    assert "ix_delivery_campaign_retry" not in indexes
    if postgres:
        assert _fillfactor(engine) is None
    engine.dispose()
