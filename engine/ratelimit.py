"""Rate limits for public forms (Flask-Limiter), stored where ``RATELIMIT_STORAGE_URL`` says.

``memory://`` keeps the counts in each process, in ``engine.rate_counters`` rather than limits'
own in-memory storage; any other URL (``redis://``) goes to limits as it is.
"""

from __future__ import annotations

from flask import Flask, Response
from flask_limiter import Limiter, RateLimitExceeded
from flask_limiter.util import get_remote_address
from limits.errors import ConfigurationError

from engine.config import ConfigError, url_without_password
from engine.rate_counters import SCHEME as LOCAL_SCHEME
from engine.web import error_response, get_settings

#: Routes opt in with ``@limiter.limit(...)``; nothing is limited by default.
limiter = Limiter(key_func=get_remote_address, headers_enabled=True)


def init_app(app: Flask) -> None:
    """Point the limiter at the configured storage and answer breaches with a clear 429 page."""
    url = get_settings(app).RATELIMIT_STORAGE_URL
    in_process = url.startswith("memory://")
    app.config["RATELIMIT_STORAGE_URI"] = f"{LOCAL_SCHEME}://" if in_process else url
    try:
        limiter.init_app(app)
    except (ConfigurationError, ValueError) as error:
        # limits' own message quotes the whole URL, password included.
        raise ConfigError(
            f"PINWHEEL_RATELIMIT_STORAGE_URL cannot be used ({error.__class__.__name__}): "
            f"{url_without_password(url)!r}"
        ) from None

    @app.errorhandler(RateLimitExceeded)
    def _too_many(error: RateLimitExceeded) -> Response:
        response = error_response(
            429,
            "rate_limited",
            "Too many requests from your connection. Please wait a few minutes and try again.",
        )
        retry_after = error.response.headers.get("Retry-After") if error.response else None
        if retry_after:
            response.headers["Retry-After"] = retry_after
        return response
