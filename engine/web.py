"""Web plumbing shared by every blueprint: CSRF, error pages, health check, template globals."""

from __future__ import annotations

import sqlalchemy as sa
from flask import Flask, Response, current_app, jsonify, render_template, request
from flask_wtf.csrf import CSRFError, CSRFProtect
from werkzeug.exceptions import HTTPException

from engine.config import Settings
from engine.db import get_database
from engine.errors import PinwheelError

csrf = CSRFProtect()


def get_settings(app: Flask | None = None) -> Settings:
    """Return the application's validated settings."""
    return (app or current_app).extensions["pinwheel.settings"]


def wants_json() -> bool:
    """Return whether the current request should be answered with JSON."""
    if request.path.startswith(("/api/", "/webhooks/")):
        return True
    best = request.accept_mimetypes.best_match(["text/html", "application/json"])
    return (
        best == "application/json"
        and request.accept_mimetypes[best] > request.accept_mimetypes["text/html"]
    )


def error_response(status: int, code: str, message: str, details: object = None) -> Response:
    """Answer with a JSON error body or an HTML error page, whichever the client wants."""
    if wants_json():
        response = jsonify({"error": {"code": code, "message": message, "details": details}})
    else:
        response = current_app.make_response(
            render_template("error.html", status=status, message=message, details=details)
        )
    response.status_code = status
    return response


def init_app(app: Flask) -> None:
    """Install CSRF protection, error handlers, ``/healthz`` and template globals."""
    csrf.init_app(app)

    @app.errorhandler(PinwheelError)
    def _domain_error(error: PinwheelError) -> Response:
        return error_response(error.status, error.code, error.message, error.details)

    @app.errorhandler(CSRFError)
    def _csrf_error(error: CSRFError) -> Response:
        return error_response(
            400,
            "csrf_failed",
            "This form has expired or did not come from this site. Go back, reload the page "
            "and try again.",
        )

    @app.errorhandler(HTTPException)
    def _http_error(error: HTTPException) -> Response:
        status = error.code or 500
        return error_response(
            status,
            (error.name or "error").lower().replace(" ", "_"),
            error.description or error.name,
        )

    @app.errorhandler(Exception)
    def _unexpected(error: Exception) -> Response:
        app.logger.exception("unhandled error")
        return error_response(500, "internal_error", "Something went wrong on our side.")

    @app.get("/healthz")
    @csrf.exempt
    def healthz() -> tuple[Response, int]:
        try:
            with get_database().read_engine.connect() as connection:
                connection.execute(sa.text("SELECT 1"))
        except sa.exc.SQLAlchemyError as error:
            return jsonify(status="unavailable", database=str(error.__class__.__name__)), 503
        return jsonify(status="ok", database="ok"), 200

    app.extensions.setdefault("pinwheel.admin_nav", [])

    @app.context_processor
    def _globals() -> dict[str, object]:
        return {
            "settings": get_settings(),
            "admin_nav": app.extensions["pinwheel.admin_nav"],
            "has_endpoint": lambda endpoint: endpoint in app.view_functions,
        }


def add_admin_nav(app: Flask, endpoint: str, label: str) -> None:
    """Add a link to the staff navigation bar (features call this from ``init_app``)."""
    app.extensions.setdefault("pinwheel.admin_nav", []).append((endpoint, label))
