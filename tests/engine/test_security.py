from __future__ import annotations

import re

import pytest
from flask import Flask
from flask.testing import FlaskClient

from engine.app import create_app
from engine.config import Settings
from engine.db import get_database
from tests.factories import login, make_user


def _directives(policy: str) -> dict[str, str]:
    pairs = (part.strip().split(" ", 1) for part in policy.split(";") if part.strip())
    return {name: rest for name, rest in pairs}


def test_public_page_has_security_headers(client: FlaskClient) -> None:
    response = client.get("/admin/login")
    assert response.headers["X-Content-Type-Options"] == "nosniff"
    assert response.headers["Referrer-Policy"] == "strict-origin-when-cross-origin"
    policy = _directives(response.headers["Content-Security-Policy"])
    assert policy["frame-ancestors"] == "'self'"


def test_csp_forbids_inline_script(client: FlaskClient) -> None:
    policy = _directives(client.get("/healthz").headers["Content-Security-Policy"])
    assert policy["script-src"] == "'self'"
    assert "unsafe-inline" not in policy["script-src"]
    assert "unsafe-eval" not in policy["script-src"]
    assert policy["object-src"] == "'none'"


def test_staff_page_has_security_headers(client: FlaskClient, session) -> None:
    user = make_user(session)
    session.commit()
    login(client, user)
    response = client.get("/admin/outbox/")
    assert response.status_code == 200
    assert _directives(response.headers["Content-Security-Policy"])["script-src"] == "'self'"
    assert response.headers["X-Content-Type-Options"] == "nosniff"


def test_view_that_sets_its_own_policy_keeps_it(app: Flask, client: FlaskClient) -> None:
    @app.get("/own-policy")
    def own_policy() -> tuple[str, int, dict[str, str]]:
        return "<p>email</p>", 200, {"Content-Security-Policy": "script-src 'none'"}

    response = client.get("/own-policy")
    assert response.headers["Content-Security-Policy"] == "script-src 'none'"
    assert response.headers["X-Content-Type-Options"] == "nosniff"


def test_hsts_when_base_url_is_https(client: FlaskClient, settings: Settings) -> None:
    assert settings.BASE_URL.startswith("https://")
    assert client.get("/healthz").headers["Strict-Transport-Security"].startswith("max-age=")


def _http_app(settings: Settings, **overrides: object) -> Flask:
    return create_app(settings, BASE_URL="http://127.0.0.1:5000", **overrides)


def test_no_hsts_over_plain_http(settings: Settings) -> None:
    app = _http_app(settings)
    response = app.test_client().get("/healthz")
    assert "Strict-Transport-Security" not in response.headers
    assert app.config["SESSION_COOKIE_SECURE"] is False
    get_database(app).dispose()


def test_forwarded_https_is_trusted_only_with_proxy_count(settings: Settings) -> None:
    forwarded = {"X-Forwarded-Proto": "https", "X-Forwarded-For": "203.0.113.9"}
    untrusting = _http_app(settings)
    response = untrusting.test_client().get("/healthz", headers=forwarded)
    assert "Strict-Transport-Security" not in response.headers
    trusting = _http_app(settings, PROXY_COUNT=1)
    response = trusting.test_client().get("/healthz", headers=forwarded)
    assert "Strict-Transport-Security" in response.headers
    for app in (untrusting, trusting):
        get_database(app).dispose()


def test_secure_cookies_with_https(app: Flask) -> None:
    assert app.config["SESSION_COOKIE_SECURE"] is True
    assert app.config["REMEMBER_COOKIE_SECURE"] is True


_INLINE_SCRIPT = re.compile(r"<script(?![^>]*\bsrc=)(?![^>]*application/json)[^>]*>", re.I)
_INLINE_HANDLER = re.compile(r"\son[a-z]+\s*=", re.I)


@pytest.mark.parametrize("path", ["/admin/login", "/subscribe", "/archive"])
def test_public_pages_carry_no_inline_script(app: Flask, client: FlaskClient, path: str) -> None:
    if path not in {rule.rule for rule in app.url_map.iter_rules()}:
        pytest.skip(f"{path} is not served by this build")
    page = client.get(path).get_data(as_text=True)
    assert not _INLINE_SCRIPT.search(page)
    assert not _INLINE_HANDLER.search(page)
