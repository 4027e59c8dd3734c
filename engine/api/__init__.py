"""The JSON API under ``/api/v1``: OpenAPI from the schemas, bearer tokens, one error shape."""

from __future__ import annotations

from flask import Flask
from flask_smorest import Api, Blueprint

from engine.api.auth import authenticate_request
from engine.api.schemas import ErrorSchema
from engine.web import csrf

PREFIX = "/api/v1"


class PinwheelApi(Api):
    """flask-smorest's ``Api`` that leaves error answers to ``engine.web``'s single handler."""

    ERROR_SCHEMA = ErrorSchema

    def _register_error_handlers(self) -> None:
        # engine.web already answers every HTTPException as {"error": {code, message, details}}.
        return None


def init_app(app: Flask) -> None:
    """Create the app's API object and its OpenAPI document at ``/api/v1/openapi.json``."""
    app.config.update(
        API_TITLE="Pinwheel API",
        API_VERSION="v1",
        OPENAPI_VERSION="3.0.3",
        OPENAPI_URL_PREFIX=PREFIX,
        OPENAPI_JSON_PATH="openapi.json",
    )
    api = PinwheelApi(
        app,
        spec_kwargs={
            "info": {
                "description": "Subscribers, topics, issues, campaigns and observances. "
                "Authenticate with `Authorization: Bearer <token>` (see `pinwheel tokens create`)."
            },
            "security": [{"bearerAuth": []}],
        },
    )
    api.spec.components.security_scheme(
        "bearerAuth", {"type": "http", "scheme": "bearer", "description": "An API token."}
    )
    app.extensions["pinwheel.api"] = api
    from engine.api import docs, idempotency  # noqa: F401  (models and docs routes)

    docs.init_app(app)


def register(app: Flask, blueprint: Blueprint) -> None:
    """Register an API blueprint: token authentication, no CSRF (bearer tokens, not cookies)."""
    blueprint.before_request(authenticate_request)
    csrf.exempt(blueprint)
    app.extensions["pinwheel.api"].register_blueprint(blueprint)
