"""Request limits of the API: a rate per token and no NUL characters (PostgreSQL refuses them)."""

from __future__ import annotations

import hashlib

from flask import current_app, request
from flask_limiter.util import get_remote_address
from flask_smorest import Blueprint

from engine.errors import ValidationFailed
from engine.ratelimit import limiter

#: Requests per token; ``app.config["PINWHEEL_API_RATE_LIMIT"]`` overrides it (tests use it).
API_RATE_LIMIT = "600 per minute"


def token_key() -> str:
    """Return the rate-limit bucket of the request: its bearer token, else its address."""
    scheme, _, secret = request.headers.get("Authorization", "").partition(" ")
    if scheme.lower() == "bearer" and secret.strip():
        # The limiter runs before authentication, so the bucket is the token's digest, not its id.
        return "token:" + hashlib.sha256(secret.strip().encode()).hexdigest()[:32]
    return "address:" + get_remote_address()


def api_rate_limit() -> str:
    """Return the configured rate per token."""
    return str(current_app.config.get("PINWHEEL_API_RATE_LIMIT", API_RATE_LIMIT))


def limit_per_token(blueprint: Blueprint) -> Blueprint:
    """Apply the per-token rate limit to every route of ``blueprint`` (call once per blueprint)."""
    limiter.limit(api_rate_limit, key_func=token_key)(blueprint)
    return blueprint


def refuse_nul_characters() -> None:
    """Refuse a request whose path, query or body holds a NUL character (422, never a 500)."""
    texts = [request.path, *(value for _, values in request.args.lists() for value in values)]
    body = request.get_data(cache=True)
    if any("\x00" in text for text in texts) or b"\x00" in body or b"\\u0000" in body:
        raise ValidationFailed("Text may not contain NUL characters.")
