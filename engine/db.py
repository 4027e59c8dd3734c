"""Database machinery: declarative base with stable constraint names, engines and sessions.

Services receive a ``Session`` and only flush; the adapter that opened the session commits.
"""

from __future__ import annotations

import sqlite3
import time
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import datetime
from typing import Any, ClassVar, cast

import sqlalchemy as sa
from flask import Flask, current_app, g
from sqlalchemy import event
from sqlalchemy.dialects import postgresql
from sqlalchemy.engine import Engine
from sqlalchemy.orm import DeclarativeBase, Session, sessionmaker

from engine.clock import as_utc
from engine.config import Settings

#: Execution option marking a connection that only reads: on SQLite it begins a deferred
#: transaction, which runs beside other readers instead of queueing for the write lock.
READ_ONLY = "pinwheel_read_only"

#: Named constraints keep Alembic migrations stable across SQLite and PostgreSQL.
NAMING_CONVENTION = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


class UTCDateTime(sa.TypeDecorator[datetime]):
    """Store aware datetimes as UTC and hand back aware UTC values (SQLite drops the zone)."""

    impl = sa.DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: sa.Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetimes are not stored; use engine.clock.now()")
        return as_utc(value)

    def process_result_value(self, value: datetime | None, dialect: sa.Dialect) -> datetime | None:
        return None if value is None else as_utc(value)


class JSONDocument(sa.TypeDecorator[Any]):
    """JSON that is JSONB on PostgreSQL (indexable, compact) and JSON text on SQLite."""

    impl = sa.JSON
    cache_ok = True

    def load_dialect_impl(self, dialect: sa.Dialect) -> sa.types.TypeEngine[Any]:
        if dialect.name == "postgresql":
            return dialect.type_descriptor(postgresql.JSONB())
        return dialect.type_descriptor(sa.JSON())


JSONType = JSONDocument


class Base(DeclarativeBase):
    metadata = sa.MetaData(naming_convention=NAMING_CONVENTION)
    type_annotation_map = {datetime: UTCDateTime, dict[str, Any]: JSONType}
    #: Every model here maps one table (SQLAlchemy types it as any ``FromClause``).
    __table__: ClassVar[sa.Table]


def rowcount(result: sa.Result[Any]) -> int:
    """Return how many rows an UPDATE or DELETE matched (``Session.execute`` hides the cursor)."""
    return cast("sa.CursorResult[Any]", result).rowcount


class Database:
    """One engine and session factory per application (or per worker process)."""

    def __init__(self, settings: Settings) -> None:
        self.url = settings.DATABASE_URL
        self.engine = create_engine(
            settings.DATABASE_URL, idle_in_transaction_seconds=settings.IDLE_IN_TRANSACTION_SECONDS
        )
        self.read_engine = self.engine.execution_options(**{READ_ONLY: True})
        self.sessionmaker = sessionmaker(self.engine, expire_on_commit=False)
        #: Sessions for pages that only read (public archive, web views, health checks).
        self.read_sessionmaker = sessionmaker(self.read_engine, expire_on_commit=False)
        event.listen(self.read_sessionmaker, "before_flush", _refuse_writes)

    @contextmanager
    def session(self, connection: sa.Connection | None = None) -> Iterator[Session]:
        """Yield a session that commits on success and rolls back on error (CLI, jobs, workers).

        With ``connection``, the session runs on it rather than on one checked out of the pool.
        """
        session = self.sessionmaker() if connection is None else self.sessionmaker(bind=connection)
        try:
            yield session
            session.commit()
        except BaseException:
            session.rollback()
            raise
        finally:
            session.close()

    def dispose(self) -> None:
        self.engine.dispose()


def _refuse_writes(session: Session, _context: Any, _instances: Any) -> None:
    # A read-only SQLite transaction begins deferred: a write would have to upgrade it and can
    # fail at once with "database is locked" instead of waiting for the lock.
    if session.new or session.dirty or session.deleted:
        raise RuntimeError("a read-only session cannot write; use request_session()")


#: Seconds a SQLite statement waits for a lock before "database is locked".
SQLITE_BUSY_SECONDS = 30
#: Polling interval while waiting for SQLite's write lock: first and longest pause, in seconds.
_WRITE_LOCK_FIRST_PAUSE, _WRITE_LOCK_LONGEST_PAUSE = 0.00005, 0.0005


def create_engine(url: str, *, idle_in_transaction_seconds: int = 0) -> Engine:
    """Create an engine; SQLite gets WAL, foreign keys and a busy timeout for concurrent writers.

    On PostgreSQL, ``idle_in_transaction_seconds`` ends a session that sits inside a
    transaction doing nothing (a frozen or stopped process): its row locks would otherwise hold
    every other worker and recovery up for as long as it is stopped.
    """
    if url.startswith("sqlite"):
        # Pooled: opening a connection and setting its pragmas costs more than most queries.
        engine = sa.create_engine(
            url,
            connect_args={"timeout": SQLITE_BUSY_SECONDS, "check_same_thread": False},
            pool_size=5,
            max_overflow=10,
        )
        event.listen(engine, "connect", _sqlite_pragmas)
        event.listen(engine, "begin", _sqlite_begin)
        return engine
    connect_args: dict[str, Any] = {}
    if idle_in_transaction_seconds:
        milliseconds = idle_in_transaction_seconds * 1000
        connect_args["options"] = f"-c idle_in_transaction_session_timeout={milliseconds}"
    return sa.create_engine(
        url, pool_pre_ping=True, pool_size=10, max_overflow=20, connect_args=connect_args
    )


def _sqlite_pragmas(dbapi_connection: Any, _record: Any) -> None:
    # Let SQLAlchemy issue BEGIN itself so that writers take the lock up front (see below).
    dbapi_connection.isolation_level = None
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA synchronous=NORMAL")
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.execute(f"PRAGMA busy_timeout={SQLITE_BUSY_SECONDS * 1000}")
    cursor.close()


def _sqlite_begin(connection: sa.Connection) -> None:
    # BEGIN IMMEDIATE serialises writers at the start of a transaction, which turns SQLite's
    # "database is locked" upgrade failures into a plain wait: the claimer transactions of the
    # send pipeline rely on it being the single writer while it holds the lock. Connections
    # marked READ_ONLY never write, so they take no lock and read a WAL snapshot concurrently.
    driver = connection.connection.driver_connection
    if not isinstance(driver, sqlite3.Connection):
        raise TypeError("SQLite's begin hook needs a sqlite3 connection")
    if connection.get_execution_options().get(READ_ONLY):
        driver.execute("BEGIN")
    else:
        begin_immediate(driver)


def begin_immediate(driver: sqlite3.Connection) -> None:
    """Take SQLite's write lock, polling for it every fraction of a millisecond.

    SQLite's own busy handler sleeps 1, 2, 5, 10, 15, 20, 25 ms… between tries: with several
    processes writing short transactions, the lock sits free while they sleep, and the unlucky
    ones wait many times the average (the slowest subscribe posts under load). Polling costs a
    few microseconds a try; the busy timeout still applies to every other statement.
    """
    try:
        driver.execute("PRAGMA busy_timeout=0")
        deadline = time.monotonic() + SQLITE_BUSY_SECONDS
        pause = _WRITE_LOCK_FIRST_PAUSE
        while True:
            try:
                driver.execute("BEGIN IMMEDIATE")
                return
            except sqlite3.OperationalError as error:
                # The primary code: SQLITE_BUSY_RECOVERY and the like wait as well.
                busy = error.sqlite_errorcode & 0xFF == sqlite3.SQLITE_BUSY
                if not busy or time.monotonic() > deadline:
                    # As SQLAlchemy would have raised it, for callers that handle its errors.
                    raise sa.exc.OperationalError("BEGIN IMMEDIATE", None, error) from error
            time.sleep(pause)
            pause = min(pause * 2, _WRITE_LOCK_LONGEST_PAUSE)
    finally:
        driver.execute(f"PRAGMA busy_timeout={SQLITE_BUSY_SECONDS * 1000}")


def init_app(app: Flask, database: Database) -> None:
    """Attach ``database`` to ``app`` and close the request session at teardown."""
    app.extensions["pinwheel.db"] = database
    # Close at the end of each request too: an app context may outlive many requests (tests,
    # the CLI), and an open SQLite transaction would hold the write lock meanwhile.
    app.teardown_request(close_request_session)
    app.teardown_appcontext(close_request_session)


def close_request_session(exc: BaseException | None = None) -> None:
    """End the current request's session, rolling back after an error."""
    session: Session | None = g.pop("db_session", None)
    g.pop("db_session_read_only", None)
    if session is not None:
        if exc is not None:
            session.rollback()
        session.close()


def get_database(app: Flask | None = None) -> Database:
    """Return the application's ``Database``."""
    return (app or current_app).extensions["pinwheel.db"]


def request_session(*, read_only: bool = False) -> Session:
    """Return the session of the current request or app context, opening it on first use.

    ``read_only=True`` is for views that never write (public pages): on SQLite their
    transactions do not wait for, or hold, the write lock. The first call of a request decides;
    asking for a writing session after a read-only one is a programming error.
    """
    if "db_session" not in g:
        database = get_database()
        g.db_session = database.read_sessionmaker() if read_only else database.sessionmaker()
        g.db_session_read_only = read_only
    elif g.db_session_read_only and not read_only:
        raise RuntimeError("this request opened a read-only session; it cannot write")
    return g.db_session


def reading_session() -> Session:
    """Return the request's open session, whichever kind, or open a writing one.

    For code that only reads on any page, such as loading the signed-in user.
    """
    return g.db_session if "db_session" in g else request_session()
