from __future__ import annotations

import sqlite3
import threading
import time

import pytest
import sqlalchemy as sa
from flask import Flask

from engine.db import SQLITE_BUSY_SECONDS, Database, reading_session, request_session
from engine.users import StaffUser


def test_read_only_sessions_refuse_to_write(database: Database) -> None:
    with database.read_sessionmaker() as session:
        assert session.scalar(sa.select(sa.func.count()).select_from(StaffUser)) == 0
        session.add(StaffUser(email="reader@example.org", name="Reader", password_hash="x"))
        with pytest.raises(RuntimeError, match="read-only"):
            session.flush()


def test_a_request_that_opened_a_read_only_session_cannot_ask_to_write(app: Flask) -> None:
    with app.test_request_context("/archive"):
        reader = request_session(read_only=True)
        assert request_session(read_only=True) is reader
        assert reading_session() is reader
        with pytest.raises(RuntimeError, match="read-only"):
            request_session()


def test_reading_code_gets_a_writing_session_when_none_is_open(app: Flask) -> None:
    with app.test_request_context("/admin"):
        session = reading_session()
        assert request_session() is session


def _sqlite_file(database: Database) -> str:
    if not database.url.startswith("sqlite"):
        pytest.skip("PostgreSQL has no database-wide write lock")
    return sa.make_url(database.url).database or ""


def _write_lock_is_free(path: str) -> bool:
    probe = sqlite3.connect(path, timeout=0, isolation_level=None)
    try:
        probe.execute("BEGIN IMMEDIATE")
        probe.execute("ROLLBACK")
        return True
    except sqlite3.OperationalError:
        return False
    finally:
        probe.close()


def test_only_writers_take_the_sqlite_write_lock_at_begin(database: Database) -> None:
    path = _sqlite_file(database)
    with database.read_sessionmaker() as session:
        session.execute(sa.text("SELECT 1"))
        assert _write_lock_is_free(path)
    with database.sessionmaker() as session:
        session.execute(sa.text("SELECT 1"))
        assert not _write_lock_is_free(path)
    assert _write_lock_is_free(path)


def test_a_writer_waits_for_the_lock_then_the_busy_timeout_is_back(database: Database) -> None:
    path = _sqlite_file(database)
    with database.engine.connect() as connection:  # a pooled connection, in WAL mode
        connection.exec_driver_sql("SELECT 1")
    holder = sqlite3.connect(path, isolation_level=None, check_same_thread=False)
    holder.execute("BEGIN IMMEDIATE")
    released = threading.Event()

    def release() -> None:
        time.sleep(0.05)
        released.set()
        holder.execute("ROLLBACK")

    threading.Thread(target=release).start()
    with database.sessionmaker() as session:
        session.execute(sa.text("SELECT 1"))
        assert released.is_set()
    holder.close()
    with database.engine.connect() as connection:
        timeout = connection.exec_driver_sql("PRAGMA busy_timeout").scalar()
    assert timeout == SQLITE_BUSY_SECONDS * 1000
