"""Shared fixtures: an app on a fresh database per test, on SQLite and PostgreSQL."""

from __future__ import annotations

import ipaddress
import os
import shutil
import socket
import uuid
import warnings
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa
from flask import Flask
from flask.testing import FlaskClient, FlaskCliRunner
from sqlalchemy.orm import Session

from engine.app import create_app
from engine.config import Settings, load_settings
from engine.db import Base, Database, get_database
from engine.delivery.memory import MemoryBackend
from engine.delivery.registry import backend_from_settings, reset_memory_backend
from engine.migrate import load_models
from tests.factories import EDITOR_EMAIL, login, make_user
from tests.hosts.netns import inside_live_bed

#: Set by CI (.ci/run); without it the PostgreSQL leg of each database test is skipped.
POSTGRES_URL = os.environ.get("PINWHEEL_TEST_POSTGRES_URL", "")
SECRET = "test-secret-key-not-for-production"


# --- no test reaches the outside world -------------------------------------------------------

_real_connect = socket.socket.connect


def _is_allowed(address: Any) -> bool:
    if not isinstance(address, tuple):
        return True  # AF_UNIX paths
    host = str(address[0])
    if host in {"localhost", ""}:
        return True
    try:
        loopback = ipaddress.ip_address(host.split("%")[0]).is_loopback
    except ValueError:
        return False
    # A multi-host test bed (tests.hosts) is private to the test that built it.
    return loopback or inside_live_bed(host)


def _guarded_connect(self: socket.socket, address: Any) -> Any:
    if not _is_allowed(address):
        raise AssertionError(
            f"test tried to reach an address outside loopback and its own test bed: {address!r}"
        )
    return _real_connect(self, address)


@pytest.fixture(autouse=True)
def _network_guard(monkeypatch: pytest.MonkeyPatch) -> None:
    """Fail any test that reaches a real provider: only loopback and its own test bed are open."""
    monkeypatch.setattr(socket.socket, "connect", _guarded_connect)


# --- databases -------------------------------------------------------------------------------


@pytest.fixture(scope="session")
def _sqlite_template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Create the schema once; each test gets a copy of this file."""
    path = tmp_path_factory.mktemp("template") / "template.db"
    engine = sa.create_engine(f"sqlite:///{path}")
    load_models()
    Base.metadata.create_all(engine)
    with engine.connect() as connection:
        connection.exec_driver_sql("PRAGMA journal_mode=DELETE")
    engine.dispose()
    return path


@pytest.fixture(scope="session")
def _postgres_database() -> Iterator[str]:
    """Create a private database for this test run (runs may overlap on one server)."""
    if not POSTGRES_URL:
        pytest.skip("PINWHEEL_TEST_POSTGRES_URL is not set: PostgreSQL leg skipped")
    name = f"pinwheel_test_{uuid.uuid4().hex[:12]}"
    url = sa.make_url(POSTGRES_URL)
    admin = sa.create_engine(url, isolation_level="AUTOCOMMIT")
    with admin.connect() as connection:
        connection.exec_driver_sql(f'CREATE DATABASE "{name}"')
    test_url = url.set(database=name).render_as_string(hide_password=False)
    engine = sa.create_engine(test_url)
    load_models()
    Base.metadata.create_all(engine)
    engine.dispose()
    yield test_url
    with admin.connect() as connection:
        connection.exec_driver_sql(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
    admin.dispose()


def _truncate_postgres(url: str) -> None:
    engine = sa.create_engine(url)
    tables = ", ".join(f'"{table.name}"' for table in Base.metadata.sorted_tables)
    with engine.begin() as connection:
        # A transaction an earlier test left open (a session that was never closed) would make
        # TRUNCATE wait for ever: end it, and say so, so the next test starts clean.
        ended = connection.exec_driver_sql(
            "SELECT pid, left(query, 120) FROM pg_stat_activity "
            "WHERE datname = current_database() AND pid <> pg_backend_pid() "
            "AND state IN ('idle in transaction', 'idle in transaction (aborted)')"
        ).all()
        for pid, query in ended:
            warnings.warn(
                f"ended a transaction left open by an earlier test: {query}", stacklevel=1
            )
            connection.exec_driver_sql(f"SELECT pg_terminate_backend({int(pid)})")
        connection.exec_driver_sql(f"TRUNCATE {tables} RESTART IDENTITY CASCADE")
        # A test may stamp the schema with Alembic; the next one starts unstamped, as SQLite's do.
        connection.exec_driver_sql("DROP TABLE IF EXISTS alembic_version")
    engine.dispose()


@pytest.fixture(params=["sqlite", "postgresql"])
def database_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    """Yield the URL of an empty, migrated database: every database test runs on both."""
    if request.param == "sqlite":
        path = tmp_path / "pinwheel.db"
        shutil.copyfile(request.getfixturevalue("_sqlite_template"), path)
        return f"sqlite:///{path}"
    url = request.getfixturevalue("_postgres_database")
    _truncate_postgres(url)
    return url


@pytest.fixture(params=["sqlite", "postgresql"])
def empty_database(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    """Yield the URL of a database without any table (for migrations and first set-ups)."""
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path / 'migrated.db'}"
        return
    if not POSTGRES_URL:
        pytest.skip("PINWHEEL_TEST_POSTGRES_URL is not set: PostgreSQL leg skipped")
    name = f"pinwheel_migrate_{uuid.uuid4().hex[:10]}"
    url = sa.make_url(POSTGRES_URL)
    admin = sa.create_engine(url, isolation_level="AUTOCOMMIT")
    with admin.connect() as connection:
        connection.exec_driver_sql(f'CREATE DATABASE "{name}"')
    yield url.set(database=name).render_as_string(hide_password=False)
    with admin.connect() as connection:
        connection.exec_driver_sql(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
    admin.dispose()


@pytest.fixture
def settings(database_url: str, tmp_path: Path) -> Settings:
    """Return test settings: memory backend, a fixed secret, an instance folder per test."""
    return load_settings(
        environ={},
        ENV="testing",
        DATABASE_URL=database_url,
        SECRET_KEY=SECRET,
        INSTANCE_PATH=str(tmp_path / "instance"),
        MAIL_BACKEND="memory",
        BASE_URL="https://news.example.org",
        RATELIMIT_STORAGE_URL="memory://",
        PAGE_CACHE_SECONDS=0.0,
        # Most tests are about how a send runs, not whether it may: they send small campaigns
        # unapproved, as a small team may allow. The approval tests set the default, 0.
        APPROVAL_THRESHOLD=1000,
    )


@pytest.fixture
def app(settings: Settings) -> Iterator[Flask]:
    reset_memory_backend()
    application = create_app(settings)
    application.config.update(TESTING=True)
    with application.app_context():
        yield application
    get_database(application).dispose()


@pytest.fixture
def client(app: Flask) -> FlaskClient:
    return app.test_client()


@pytest.fixture
def runner(app: Flask) -> FlaskCliRunner:
    return app.test_cli_runner()


@pytest.fixture
def database(app: Flask) -> Database:
    return get_database(app)


@pytest.fixture
def session(database: Database) -> Iterator[Session]:
    """A session for arranging and checking data; commit what the code under test must see."""
    with database.sessionmaker() as db_session:
        yield db_session


@pytest.fixture
def outbox(settings: Settings) -> MemoryBackend:
    """The memory backend the app sends through."""
    backend = backend_from_settings(settings)
    assert isinstance(backend, MemoryBackend)
    return backend


@pytest.fixture
def csrf_disabled(app: Flask) -> None:
    app.config["WTF_CSRF_ENABLED"] = False


@pytest.fixture
def editor_client(client: FlaskClient, session: Session) -> FlaskClient:
    """Return the client signed in as an editor (``EDITOR_EMAIL``).

    The session's read of the user is ended, so it holds no SQLite lock the requests need.
    """
    user = make_user(session, role="editor", email=EDITOR_EMAIL)
    session.commit()
    login(client, user)
    session.rollback()
    return client
