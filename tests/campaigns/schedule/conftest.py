"""Fixtures for the scheduling and calendar tests."""

from __future__ import annotations

import pytest
from flask import Flask, g


@pytest.fixture(autouse=True)
def _session_per_request(request: pytest.FixtureRequest) -> None:
    """Close the request session after each request, as a server does (the app context spans
    the whole test, so on SQLite the request's write lock would otherwise outlive it)."""
    if "app" not in request.fixturenames:
        return
    app: Flask = request.getfixturevalue("app")

    @app.teardown_request
    def _close(exc: BaseException | None) -> None:
        session = g.pop("db_session", None)
        if session is not None:
            session.close()
