from __future__ import annotations

import pytest
import sqlalchemy as sa
from flask import Flask

from engine.db import Database, reading_session, request_session
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


def test_only_writers_take_the_sqlite_write_lock_at_begin(database: Database) -> None:
    if not database.url.startswith("sqlite"):
        pytest.skip("PostgreSQL has no database-wide write lock")
    statements: list[str] = []
    sa.event.listen(
        database.engine,
        "before_cursor_execute",
        lambda _c, _cur, statement, *_: statements.append(statement),
    )
    with database.read_sessionmaker() as session:
        session.execute(sa.text("SELECT 1"))
    with database.sessionmaker() as session:
        session.execute(sa.text("SELECT 1"))
    assert [s for s in statements if s.startswith("BEGIN")] == ["BEGIN", "BEGIN IMMEDIATE"]
