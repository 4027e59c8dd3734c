from __future__ import annotations

from datetime import UTC, datetime

import pytest
from flask import Flask, flash, render_template_string, request
from flask.testing import FlaskClient

from engine.http_cache import CachedPage, PageCache, cached_response, conditional_response

SENT_AT = datetime(2026, 4, 1, 13, 0, tzinfo=UTC)


@pytest.fixture
def renders(app: Flask) -> list[str]:
    """Register pages that count their renders; each request's ``v`` is its version."""
    calls: list[str] = []

    def render() -> str:
        calls.append(request.path)
        return f"<p>page {request.args.get('v', '1')}</p>"

    @app.get("/page")
    def page() -> object:
        return cached_response(render, version=request.args.get("v", "1"), last_modified=SENT_AT)

    @app.get("/unversioned")
    def unversioned() -> object:
        return cached_response(render, version=None)

    @app.get("/personal")
    def personal() -> object:
        return cached_response(render, version="1", public=False)

    @app.get("/flashing")
    def flashing() -> object:
        flash("Thanks!", "info")
        return cached_response(
            lambda: render_template_string("{{ get_flashed_messages() }}"), version="1"
        )

    @app.get("/feed")
    def feed() -> object:
        return conditional_response("<feed/>", mimetype="application/atom+xml", max_age=60)

    return calls


def test_first_response_carries_validators(client: FlaskClient, renders: list[str]) -> None:
    response = client.get("/page")
    assert response.status_code == 200
    assert response.get_data(as_text=True) == "<p>page 1</p>"
    assert response.headers["ETag"].startswith('"') and not response.headers["ETag"].startswith(
        "W/"
    )
    assert response.last_modified == SENT_AT
    assert response.cache_control.public
    assert response.cache_control.max_age == 300


def test_matching_etag_gets_304_without_rendering(client: FlaskClient, renders) -> None:
    etag = client.get("/page").headers["ETag"]
    response = client.get("/page", headers={"If-None-Match": etag})
    assert response.status_code == 304
    assert response.get_data() == b""
    assert response.headers["ETag"] == etag
    assert renders == ["/page"]


def test_if_modified_since_gets_304(client: FlaskClient, renders) -> None:
    response = client.get("/page", headers={"If-Modified-Since": "Wed, 01 Apr 2026 13:00:00 GMT"})
    assert response.status_code == 304
    older = client.get("/page", headers={"If-Modified-Since": "Tue, 31 Mar 2026 13:00:00 GMT"})
    assert older.status_code == 200


def test_stale_etag_gets_the_new_page(client: FlaskClient, renders) -> None:
    old = client.get("/page?v=1").headers["ETag"]
    response = client.get("/page?v=2", headers={"If-None-Match": old})
    assert response.status_code == 200
    assert response.get_data(as_text=True) == "<p>page 2</p>"
    assert response.headers["ETag"] != old


def test_hot_page_is_rendered_once(client: FlaskClient, renders) -> None:
    for _ in range(5):
        assert client.get("/page").status_code == 200
    assert renders == ["/page"]
    client.get("/page?v=2")
    assert len(renders) == 2


def test_unversioned_page_etag_comes_from_body(client: FlaskClient, renders) -> None:
    etag = client.get("/unversioned").headers["ETag"]
    response = client.get("/unversioned", headers={"If-None-Match": etag})
    assert response.status_code == 304
    assert len(renders) == 2


def test_private_page_is_not_shared(client: FlaskClient, renders) -> None:
    response = client.get("/personal")
    assert response.cache_control.private and not response.cache_control.public
    client.get("/personal")
    assert len(renders) == 2


def test_page_with_a_flash_is_not_cached(client: FlaskClient, renders) -> None:
    response = client.get("/flashing")
    assert "Thanks!" in response.get_data(as_text=True)
    assert response.cache_control.private and response.cache_control.no_cache
    assert "ETag" not in response.headers


def test_conditional_response_for_a_feed(client: FlaskClient, renders) -> None:
    response = client.get("/feed")
    assert response.mimetype == "application/atom+xml"
    assert response.cache_control.max_age == 60
    again = client.get("/feed", headers={"If-None-Match": response.headers["ETag"]})
    assert again.status_code == 304


def test_head_request_gets_headers(client: FlaskClient, renders) -> None:
    response = client.head("/page")
    assert response.status_code == 200
    assert response.headers["ETag"]


def test_page_cache_evicts_least_recently_used() -> None:
    cache = PageCache(max_entries=2)
    for name in ("a", "b"):
        cache.put((name,), CachedPage(body=name.encode(), etag=name))
    assert cache.get(("a",)) is not None
    cache.put(("c",), CachedPage(body=b"c", etag="c"))
    assert cache.get(("b",)) is None
    assert cache.get(("a",)) is not None and cache.get(("c",)) is not None


def test_page_cache_is_bounded_by_bytes() -> None:
    cache = PageCache(max_entries=100, max_bytes=10)
    cache.put(("a",), CachedPage(body=b"123456", etag="a"))
    cache.put(("b",), CachedPage(body=b"123456", etag="b"))
    assert len(cache) == 1 and cache.get(("b",)) is not None
    cache.put(("huge",), CachedPage(body=b"x" * 11, etag="h"))
    assert cache.get(("huge",)) is None


def test_static_urls_are_versioned_and_long_cached(app: Flask, client: FlaskClient) -> None:
    with app.test_request_context():
        from flask import url_for

        url = url_for("static", filename="css/pinwheel.css")
    assert "?v=" in url
    response = client.get(url)
    assert response.status_code == 200
    assert response.cache_control.max_age == 365 * 24 * 3600
    assert response.cache_control.immutable
    assert not response.cache_control.no_cache
    unversioned = client.get("/static/css/pinwheel.css")
    assert not unversioned.cache_control.immutable
    response.close()
    unversioned.close()
