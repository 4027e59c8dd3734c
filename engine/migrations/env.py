"""Alembic environment: runs migrations against the URL given by ``engine.migrate``."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from alembic import context

from engine.db import create_engine
from engine.migrate import load_models

config = context.config
target_metadata = load_models()


def _for_dialect(dialect: str) -> Callable[[Any, str | None, str, bool, Any], bool]:
    """Leave out of the comparison the indexes a model creates on other databases only."""

    def include_object(
        item: Any, _name: str | None, kind: str, reflected: bool, _compare_to: Any
    ) -> bool:
        condition = getattr(item, "_ddl_if", None) if kind == "index" and not reflected else None
        return condition is None or condition.dialect in (None, dialect)

    return include_object


def run_migrations_online() -> None:
    engine = create_engine(config.get_main_option("sqlalchemy.url") or "")
    with engine.connect() as connection:
        if connection.dialect.name == "sqlite":
            # Batch mode recreates a table and drops the old one; with foreign keys enforced,
            # that drop would cascade to every row referring to it (a campaign's deliveries).
            # The pragma only takes effect outside a transaction, hence on the driver's
            # connection before the migration's transaction begins.
            connection.connection.driver_connection.execute(  # type: ignore[union-attr]
                "PRAGMA foreign_keys=OFF"
            )
        context.configure(
            connection=connection,
            target_metadata=target_metadata,
            # SQLite cannot ALTER most things in place: batch mode recreates tables.
            render_as_batch=connection.dialect.name == "sqlite",
            compare_type=True,
            include_object=_for_dialect(connection.dialect.name),
        )
        with context.begin_transaction():
            context.run_migrations()
    engine.dispose()


def run_migrations_offline() -> None:
    context.configure(
        url=config.get_main_option("sqlalchemy.url"),
        target_metadata=target_metadata,
        literal_binds=True,
    )
    with context.begin_transaction():
        context.run_migrations()


if context.is_offline_mode():
    run_migrations_offline()
else:
    run_migrations_online()
