"""Clients whose every request runs in its own app context, as in production."""

from __future__ import annotations

from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient


class FreshContextClient(FlaskClient):
    """Run each request in a fresh app context.

    The ``app`` fixture keeps one app context open for the whole test; requests would share its
    ``g`` and so its signed-in user and its database session, whose SQLite write lock would
    then outlive the request.
    """

    def open(self, *args: Any, **kwargs: Any) -> Any:
        with self.application.app_context():
            return super().open(*args, **kwargs)


@pytest.fixture
def client(app: Flask) -> FlaskClient:
    app.test_client_class = FreshContextClient
    return app.test_client()
