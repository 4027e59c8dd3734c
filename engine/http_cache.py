"""Answer public pages with validators, ``304 Not Modified`` and an in-process page cache.

For a page whose content is fully determined by a version key (a web view, the archive, a feed)::

    from engine.http_cache import cached_response

    @bp.get("/view/<slug>")
    def web_view(slug: str) -> Response:
        campaign = find_sent_campaign(request_session(), slug)     # one cheap query
        return cached_response(
            lambda: render_template("archive/view.html", campaign=campaign),
            version=f"{campaign.id}:{campaign.updated_at.isoformat()}",
            last_modified=campaign.finished_at,
            max_age=300,
        )

``cached_response(render, *, version, last_modified=None, max_age=300, mimetype="text/html",
public=True, key=None)``:

- ``version`` is any string that changes whenever the page would change (ids, revision numbers,
  ``updated_at``). The strong ``ETag`` is derived from the cache key, the version and the deployed
  templates, so a matching ``If-None-Match`` (or, without one, an ``If-Modified-Since`` at or after
  ``last_modified``) is answered ``304`` **without calling** ``render``. Otherwise the body comes
  from the in-process cache, keyed by ``(key, version, mimetype)``, and ``render`` runs only on a
  miss. ``key`` defaults to the request path plus query string.
- ``version=None``: ``render`` runs on every request and the ``ETag`` is a hash of the body.
- ``Cache-Control`` is ``public, max-age=<max_age>`` (``private`` with ``public=False``, for pages
  personalised by a token in the URL: those are never put in the shared cache).
- Pages that flashed a message or embedded a CSRF token while rendering are per-visitor: they are
  sent ``private, no-cache`` and not cached. Pages with forms should not use this helper.

``conditional_response(body, *, last_modified=None, max_age=300, mimetype="text/html",
public=True)`` applies the same headers and ``304`` handling to a body you already have.

The cache is per process and bounded (``PageCache``: entries and bytes, least recently used go
first); ``page_cache().clear()`` empties it. ``init_app`` also versions ``url_for('static', ...)``
with a content hash (``?v=…``) and serves versioned static files with a one-year immutable cache.
"""

from __future__ import annotations

import hashlib
import threading
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any, Generic, Protocol, TypeVar

from flask import Flask, Response, current_app, g, request
from flask.globals import request_ctx
from werkzeug.http import is_resource_modified

from engine.i18n import current_language

STATIC_MAX_AGE = 365 * 24 * 3600
DEFAULT_MAX_AGE = 300
_EXTENSION = "pinwheel.page_cache"
_SALT = "pinwheel.page_cache_salt"
#: ``environ`` key marking an answer ``engine.micro_cache`` may replay (value: the endpoint).
REPLAYABLE = "pinwheel.replayable_endpoint"


@dataclass(frozen=True, slots=True)
class CachedPage:
    """A rendered body and its entity tag."""

    body: bytes
    etag: str


class HasBody(Protocol):
    @property
    def body(self) -> bytes: ...


Page = TypeVar("Page", bound=HasBody)


class PageCache(Generic[Page]):
    """A thread-safe LRU of rendered pages bounded by entry count and total bytes."""

    def __init__(self, max_entries: int = 512, max_bytes: int = 64 * 2**20) -> None:
        self.max_entries = max_entries
        self.max_bytes = max_bytes
        self._pages: OrderedDict[tuple[str, ...], Page] = OrderedDict()
        self._bytes = 0
        self._lock = threading.Lock()

    def get(self, key: tuple[str, ...]) -> Page | None:
        """Return the page stored under ``key`` and mark it recently used."""
        with self._lock:
            page = self._pages.get(key)
            if page is not None:
                self._pages.move_to_end(key)
            return page

    def put(self, key: tuple[str, ...], page: Page) -> None:
        """Store ``page``, evicting the least recently used pages beyond the bounds."""
        if len(page.body) > self.max_bytes:
            return
        with self._lock:
            previous = self._pages.pop(key, None)
            if previous is not None:
                self._bytes -= len(previous.body)
            self._pages[key] = page
            self._bytes += len(page.body)
            while len(self._pages) > self.max_entries or self._bytes > self.max_bytes:
                _, evicted = self._pages.popitem(last=False)
                self._bytes -= len(evicted.body)

    def clear(self) -> None:
        """Forget every page."""
        with self._lock:
            self._pages.clear()
            self._bytes = 0

    def __len__(self) -> int:
        return len(self._pages)


def page_cache(app: Flask | None = None) -> PageCache[CachedPage]:
    """Return the application's page cache."""
    return (app or current_app).extensions[_EXTENSION]


def cached_response(
    render: Callable[[], str | bytes],
    *,
    version: str | None,
    last_modified: datetime | None = None,
    max_age: int = DEFAULT_MAX_AGE,
    mimetype: str = "text/html",
    public: bool = True,
    key: str | None = None,
) -> Response:
    """Answer with the page for ``version``: ``304``, a cached body, or ``render()`` on a miss."""
    if version is None:
        return conditional_response(
            render(), last_modified=last_modified, max_age=max_age, mimetype=mimetype, public=public
        )
    # Readers' pages come in their language: a body is kept per language.
    cache_key = (key or _request_key(), version, mimetype, current_language())
    etag = _version_etag(cache_key)
    if not is_resource_modified(request.environ, etag=etag, last_modified=last_modified):
        return _not_modified(etag, last_modified, max_age, public)
    page = page_cache().get(cache_key) if public else None
    if page is None:
        body = _encode(render())
        if _rendered_for_one_visitor():
            return _personal_response(body, mimetype)
        page = CachedPage(body=body, etag=etag)
        if public:
            page_cache().put(cache_key, page)
    if public:
        # engine.micro_cache may replay this whole answer to anonymous visitors for a moment.
        request.environ[REPLAYABLE] = request.endpoint or "unmatched"
    return _full_response(page, last_modified, max_age, mimetype, public)


def conditional_response(
    body: str | bytes,
    *,
    last_modified: datetime | None = None,
    max_age: int = DEFAULT_MAX_AGE,
    mimetype: str = "text/html",
    public: bool = True,
) -> Response:
    """Answer with ``body`` and validators derived from it, or ``304`` when the client has it."""
    data = _encode(body)
    if _rendered_for_one_visitor():
        return _personal_response(data, mimetype)
    page = CachedPage(body=data, etag=hashlib.sha256(data).hexdigest()[:32])
    return _full_response(page, last_modified, max_age, mimetype, public)


def _full_response(
    page: CachedPage, last_modified: datetime | None, max_age: int, mimetype: str, public: bool
) -> Response:
    response = Response(page.body, mimetype=mimetype)
    _set_validators(response, page.etag, last_modified, max_age, public)
    # Updates the response in place (and returns it typed as werkzeug's base class).
    response.make_conditional(request)
    return response


def _not_modified(
    etag: str, last_modified: datetime | None, max_age: int, public: bool
) -> Response:
    response = Response(status=304)
    _set_validators(response, etag, last_modified, max_age, public)
    return response


def _personal_response(body: bytes, mimetype: str) -> Response:
    response = Response(body, mimetype=mimetype)
    response.cache_control.private = True
    response.cache_control.no_cache = True
    return response


def _set_validators(
    response: Response, etag: str, last_modified: datetime | None, max_age: int, public: bool
) -> None:
    response.set_etag(etag)
    if last_modified is not None:
        response.last_modified = last_modified
    if public:
        response.cache_control.public = True
    else:
        response.cache_control.private = True
    response.cache_control.max_age = max_age


def _request_key() -> str:
    query = request.query_string.decode("latin-1")
    return f"{request.path}?{query}" if query else request.path


def _version_etag(cache_key: tuple[str, ...]) -> str:
    digest = hashlib.sha256(current_app.extensions[_SALT].encode())
    for part in cache_key:
        digest.update(b"\0" + part.encode())
    return digest.hexdigest()[:32]


def _rendered_for_one_visitor() -> bool:
    flashes = request_ctx.flashes
    return bool(flashes) or "csrf_token" in g


def _encode(body: str | bytes) -> bytes:
    return body.encode() if isinstance(body, str) else body


def _templates_salt(app: Flask) -> str:
    # Folded into every version ETag so a deploy that changes templates invalidates old ETags;
    # derived from the files, so every worker process agrees on it.
    folder = Path(app.root_path) / (app.template_folder or "templates")
    stamps = sorted(
        f"{path}:{path.stat().st_mtime_ns}" for path in folder.rglob("*") if path.is_file()
    )
    return hashlib.sha256("\n".join(stamps).encode()).hexdigest()


class StaticVersions:
    """Hash static files once per modification so their URLs change whenever they do."""

    def __init__(self, folder: Path) -> None:
        self.folder = folder
        self._hashes: dict[str, tuple[int, str]] = {}

    def version(self, filename: str) -> str | None:
        """Return a short content hash of ``filename``, or ``None`` if it does not exist."""
        path = self.folder / filename
        try:
            modified = path.stat().st_mtime_ns
        except OSError:
            return None
        known = self._hashes.get(filename)
        if known is None or known[0] != modified:
            known = (modified, hashlib.sha256(path.read_bytes()).hexdigest()[:12])
            self._hashes[filename] = known
        return known[1]


def _install_static_versions(app: Flask) -> None:
    versions = StaticVersions(Path(app.static_folder or "static"))

    @app.url_defaults
    def _static_version(endpoint: str, values: dict[str, Any]) -> None:
        if endpoint == "static" and "filename" in values and "v" not in values:
            version = versions.version(values["filename"])
            if version:
                values["v"] = version

    @app.after_request
    def _static_cache(response: Response) -> Response:
        if request.endpoint == "static" and request.args.get("v") and response.status_code < 400:
            response.cache_control.no_cache = None
            response.cache_control.public = True
            response.cache_control.max_age = STATIC_MAX_AGE
            response.cache_control.immutable = True
        return response


def init_app(app: Flask, cache: PageCache[CachedPage] | None = None) -> None:
    """Give ``app`` a page cache and content-hashed, long-cached static URLs."""
    app.extensions[_EXTENSION] = cache if cache is not None else PageCache()
    app.extensions[_SALT] = _templates_salt(app)
    _install_static_versions(app)
