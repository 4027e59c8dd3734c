"""Fixtures for the subscriber tests."""

from __future__ import annotations

import pytest
from flask import Flask, g


@pytest.fixture(autouse=True)
def _session_per_request(app: Flask) -> None:
    """Close the request session after each request, as a server does.

    The ``app`` fixture keeps one app context open for the whole test, so without this the
    request session (and, on SQLite, its write lock) would outlive the request.
    """

    @app.teardown_request
    def _close(exc: BaseException | None) -> None:
        session = g.pop("db_session", None)
        if session is not None:
            session.close()
