"""Alembic, driven from code: ``pinwheel db upgrade`` and the migration test use this."""

from __future__ import annotations

import importlib
from pathlib import Path

import sqlalchemy as sa
from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext

from engine.db import Base

MIGRATIONS = Path(__file__).resolve().parent / "migrations"
#: The engine's own tables (staff, API, audit, the provider's send budget, the organisation's
#: settings); feature packages list theirs in ``load_models``.
ENGINE_MODEL_MODULES = (
    "engine.users",
    "engine.audit",
    "engine.api.idempotency",
    "engine.delivery.budget",
    "engine.organisation_store",
)


def load_models() -> sa.MetaData:
    """Import every feature's models so ``Base.metadata`` knows all tables."""
    from engine.app import FEATURES

    for module in ENGINE_MODEL_MODULES:
        importlib.import_module(module)
    for name in FEATURES:
        importlib.import_module(name).load_models()
    return Base.metadata


def alembic_config(url: str) -> Config:
    """Return an Alembic configuration for the database at ``url``."""
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS))
    # ConfigParser interpolation would choke on "%" in passwords.
    config.set_main_option("sqlalchemy.url", url.replace("%", "%%"))
    return config


def upgrade(url: str, revision: str = "head") -> None:
    """Migrate the database at ``url`` to ``revision``."""
    command.upgrade(alembic_config(url), revision)


def current_revision(url: str) -> str | None:
    """Return the database's current revision, or ``None`` for an empty database."""
    engine = sa.create_engine(url)
    try:
        with engine.connect() as connection:
            return MigrationContext.configure(connection).get_current_revision()
    finally:
        engine.dispose()
