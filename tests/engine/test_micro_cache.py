from __future__ import annotations

import time

import pytest
from flask import Flask, Response, request

from engine import http_cache
from engine.app import create_app
from engine.config import Settings
from engine.db import get_database
from engine.micro_cache import MicroCache


@pytest.fixture
def page_app() -> tuple[Flask, list[str]]:
    """A bare app whose pages count their renders, wrapped in a one-minute micro-cache."""
    app = Flask(__name__)
    app.config["SECRET_KEY"] = "micro-cache-tests"
    # No in-process page cache behind it: every render counted is a request that reached Flask.
    http_cache.init_app(app, http_cache.PageCache(max_entries=0))
    calls: list[str] = []

    def render() -> str:
        calls.append(request.full_path)
        return f"<p>{request.args.get('q', 'page')}</p>"

    @app.get("/page")
    def page() -> Response:
        return http_cache.cached_response(render, version="1")

    @app.get("/unversioned")
    def unversioned() -> Response:
        return http_cache.cached_response(render, version=None)

    @app.get("/personal")
    def personal() -> Response:
        return http_cache.cached_response(render, version="1", public=False)

    @app.get("/cookie")
    def cookie() -> Response:
        response = http_cache.cached_response(render, version="1")
        response.set_cookie("seen", "1")
        return response

    @app.post("/page")
    def post_page() -> str:
        calls.append("POST")
        return "posted"

    app.wsgi_app = MicroCache(app.wsgi_app, seconds=60)  # type: ignore[method-assign]
    return app, calls


def test_public_page_is_replayed_without_running_the_view(
    page_app: tuple[Flask, list[str]],
) -> None:
    app, calls = page_app
    client = app.test_client()
    first, second = client.get("/page"), client.get("/page")
    assert calls == ["/page?"]
    assert second.status_code == 200
    assert second.get_data() == first.get_data() == b"<p>page</p>"
    assert second.headers["ETag"] == first.headers["ETag"]
    assert second.headers["Cache-Control"] == first.headers["Cache-Control"]
    assert second.headers["X-Request-ID"] != first.headers.get("X-Request-ID")


def test_each_query_string_is_its_own_page(page_app: tuple[Flask, list[str]]) -> None:
    app, calls = page_app
    client = app.test_client()
    assert client.get("/page?q=a").get_data() == b"<p>a</p>"
    assert client.get("/page?q=b").get_data() == b"<p>b</p>"
    assert client.get("/page?q=a").get_data() == b"<p>a</p>"
    assert calls == ["/page?q=a", "/page?q=b"]


def test_replay_answers_validators_and_head(page_app: tuple[Flask, list[str]]) -> None:
    app, _calls = page_app
    client = app.test_client()
    etag = client.get("/page").headers["ETag"]
    unchanged = client.get("/page", headers={"If-None-Match": etag})
    assert unchanged.status_code == 304
    assert unchanged.get_data() == b""
    assert unchanged.headers["ETag"] == etag
    assert "Content-Length" not in unchanged.headers
    head = client.head("/page")
    assert head.status_code == 200
    assert head.get_data() == b""
    assert head.headers["Content-Length"] == str(len(b"<p>page</p>"))


def test_entries_expire(page_app: tuple[Flask, list[str]]) -> None:
    app, calls = page_app
    app.wsgi_app.seconds = 0.01  # type: ignore[attr-defined]
    client = app.test_client()
    client.get("/page")
    time.sleep(0.05)
    client.get("/page")
    assert len(calls) == 2


def test_visitors_with_a_cookie_always_reach_the_app(page_app: tuple[Flask, list[str]]) -> None:
    app, calls = page_app
    client = app.test_client()
    client.get("/page")
    client.set_cookie("session", "abc")
    client.get("/page")
    assert len(calls) == 2


@pytest.mark.parametrize(
    "headers",
    [{"Authorization": "Bearer token"}, {"Range": "bytes=0-3"}],
)
def test_credentials_and_other_conditions_reach_the_app(
    page_app: tuple[Flask, list[str]], headers: dict[str, str]
) -> None:
    app, calls = page_app
    client = app.test_client()
    client.get("/page")
    client.get("/page", headers=headers)
    assert len(calls) == 2


@pytest.mark.parametrize("path", ["/unversioned", "/personal", "/cookie"])
def test_unmarked_or_personal_answers_are_not_replayed(
    page_app: tuple[Flask, list[str]], path: str
) -> None:
    app, calls = page_app
    client = app.test_client(use_cookies=False)
    client.get(path)
    client.get(path)
    assert len(calls) == 2


def test_other_methods_pass_through(page_app: tuple[Flask, list[str]]) -> None:
    app, calls = page_app
    client = app.test_client()
    client.get("/page")
    assert client.post("/page").get_data() == b"posted"
    assert calls == ["/page?", "POST"]


def test_app_factory_installs_it_only_when_enabled(settings: Settings) -> None:
    enabled = create_app(settings.with_overrides(PAGE_CACHE_SECONDS=1.0))
    disabled = create_app(settings.with_overrides(PAGE_CACHE_SECONDS=0.0))
    assert isinstance(enabled.wsgi_app, MicroCache)
    assert not isinstance(disabled.wsgi_app, MicroCache)
    for app in (enabled, disabled):
        get_database(app).dispose()
