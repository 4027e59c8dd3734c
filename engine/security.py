"""Add security headers to every response and trust ``X-Forwarded-*`` from configured proxies.

Every response gets a Content Security Policy that allows scripts only from this origin (no
inline script, no ``eval``), ``frame-ancestors 'self'``, ``X-Content-Type-Options: nosniff`` and
``Referrer-Policy: strict-origin-when-cross-origin``; HSTS is added when ``PINWHEEL_BASE_URL`` is
https or the request arrived over HTTPS. A response that already carries a
``Content-Security-Policy`` keeps it: the email previews served into sandboxed iframes set their
own. A page that shows a rendered email (the web view) sets ``EMAIL_CONTENT_POLICY``::

    from engine.security import EMAIL_CONTENT_POLICY

    response.headers["Content-Security-Policy"] = EMAIL_CONTENT_POLICY
"""

from __future__ import annotations

from flask import Flask, Response, request
from werkzeug.middleware.proxy_fix import ProxyFix

from engine.config import Settings

#: Inline ``style`` attributes stay allowed: observance themes colour pages with them, and style
#: injection cannot run code. Scripts, the real risk, come from this origin only.
CONTENT_SECURITY_POLICY = "; ".join(
    (
        "default-src 'self'",
        "script-src 'self'",
        "style-src 'self' 'unsafe-inline'",
        "img-src 'self' data: https:",
        "font-src 'self'",
        "connect-src 'self'",
        "frame-src 'self'",
        "object-src 'none'",
        "base-uri 'self'",
        "form-action 'self'",
        "frame-ancestors 'self'",
    )
)
#: For a rendered email shown as a page: its inline styles and remote images, never script.
EMAIL_CONTENT_POLICY = "; ".join(
    (
        "default-src 'none'",
        "script-src 'none'",
        "style-src 'unsafe-inline' https:",
        "img-src 'self' data: https: http:",
        "font-src https: data:",
        "base-uri 'none'",
        "form-action 'self'",
        "frame-ancestors 'self'",
    )
)
#: One year, no ``includeSubDomains``: the agency's other hosts are not ours to pin to HTTPS.
HSTS = "max-age=31536000"
STATIC_HEADERS = {
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "strict-origin-when-cross-origin",
    "X-Frame-Options": "SAMEORIGIN",
    "Cross-Origin-Opener-Policy": "same-origin",
}


def add_security_headers(response: Response, *, always_https: bool) -> Response:
    """Set the security headers on ``response``, keeping a policy the view chose itself."""
    headers = response.headers
    headers.setdefault("Content-Security-Policy", CONTENT_SECURITY_POLICY)
    for name, value in STATIC_HEADERS.items():
        headers.setdefault(name, value)
    if always_https or request.is_secure:
        headers.setdefault("Strict-Transport-Security", HSTS)
    return response


def init_app(app: Flask, settings: Settings) -> None:
    """Trust ``PINWHEEL_PROXY_COUNT`` proxies and add the security headers to every response."""
    if settings.PROXY_COUNT:
        hops = settings.PROXY_COUNT
        app.wsgi_app = ProxyFix(  # type: ignore[method-assign]
            app.wsgi_app, x_for=hops, x_proto=hops, x_host=hops, x_port=hops, x_prefix=hops
        )
    always_https = settings.BASE_URL.startswith("https://")
    app.config.update(SESSION_COOKIE_SECURE=always_https, REMEMBER_COOKIE_SECURE=always_https)

    @app.after_request
    def _security_headers(response: Response) -> Response:
        return add_security_headers(response, always_https=always_https)
