"""The JSON API under ``/api/v1``: OpenAPI from the schemas, bearer tokens, one error shape."""

from __future__ import annotations

from flask import Flask, Response
from flask_smorest import Api, Blueprint
from werkzeug.exceptions import BadRequest, HTTPException, UnprocessableEntity

from engine.api.auth import authenticate_request
from engine.api.fields import ID_SCHEMA, IdConverter
from engine.api.limits import limit_per_token, refuse_nul_characters
from engine.api.schemas import ErrorSchema
from engine.web import csrf, error_response

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
    app.url_map.converters["id"] = IdConverter
    api.register_converter(IdConverter, lambda _converter: dict(ID_SCHEMA))
    app.extensions["pinwheel.api"] = api
    from engine.api import docs, idempotency, tokens  # noqa: F401  (models and docs routes)

    docs.init_app(app)
    tokens.init_app(app)


def register(app: Flask, blueprint: Blueprint) -> None:
    """Register an API blueprint: token authentication, a rate per token, no CSRF (no cookies)."""
    if not getattr(blueprint, "pinwheel_api_ready", False):
        # A blueprint is set up once per process; every app built afterwards registers it as is.
        blueprint.before_request(authenticate_request)
        blueprint.before_request(refuse_nul_characters)
        for error in (BadRequest, UnprocessableEntity):
            blueprint.register_error_handler(error, _invalid_request)
        limit_per_token(blueprint)
        csrf.exempt(blueprint)
        blueprint.pinwheel_api_ready = True
    app.extensions["pinwheel.api"].register_blueprint(blueprint)


def _invalid_request(error: HTTPException) -> Response:
    """Answer a body or query the schemas refused, with the problems per field as details."""
    messages = getattr(error, "data", {}).get("messages")
    status = error.code or 422
    message = "The request is not valid; details list the problems per field."
    return error_response(
        status,
        "validation_failed" if status == 422 else "bad_request",
        message if messages else (error.description or message),
        messages,
    )
