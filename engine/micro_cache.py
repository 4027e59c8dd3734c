"""Replay public pages to anonymous visitors for a second without entering Flask.

A sent issue's web view, the archive and its feeds are what a campaign sends thousands of readers
to within minutes. ``engine.http_cache.cached_response`` already keeps their rendered bodies, but
every request still pays for Flask's request cycle and the version query that proves the body is
current. This WSGI middleware, the outermost layer of the app, keeps the whole answer (status,
headers, body) of such pages for ``PINWHEEL_PAGE_CACHE_SECONDS`` (default 1 s; 0 turns it off)
and replays it, as a reverse proxy's micro-cache would:

- Only ``GET``/``HEAD`` requests without a ``Cookie`` or ``Authorization`` header are replayed:
  anything that could belong to a signed-in visitor goes through Flask, and so do requests for a
  range or with ``If-Match``/``If-Unmodified-Since``.
- Only answers that ``cached_response`` marked as public and version-keyed are stored (a ``200``
  without ``Set-Cookie``), keyed by path, query, host and scheme (as forwarded by a proxy).
- A replay gets a fresh ``X-Request-ID``, answers ``If-None-Match``/``If-Modified-Since`` with
  ``304``, and is logged and counted like any other request.

A page can therefore be up to ``PINWHEEL_PAGE_CACHE_SECONDS`` behind a change (a newly sent
issue appears in the archive a second later); every process keeps its own entries.
"""

from __future__ import annotations

import time
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING, Any

from flask import Flask
from werkzeug.http import is_resource_modified, parse_date, unquote_etag

from engine import metrics
from engine.config import Settings
from engine.http_cache import REPLAYABLE, PageCache
from engine.logs import LOG_PATH, REQUEST_ID_HEADER, escape_controls, log_request, new_request_id

if TYPE_CHECKING:
    from _typeshed.wsgi import StartResponse, WSGIApplication, WSGIEnvironment

_KEY_PARTS = (
    "PATH_INFO",
    "QUERY_STRING",
    "wsgi.url_scheme",
    "HTTP_HOST",
    "HTTP_X_FORWARDED_PROTO",
    "HTTP_X_FORWARDED_HOST",
    "HTTP_X_FORWARDED_PORT",
    "HTTP_X_FORWARDED_PREFIX",
    # Readers' pages are in the language the browser asks for (requests with the language
    # cookie are not replayed: they carry a Cookie header).
    "HTTP_ACCEPT_LANGUAGE",
)
#: Requests carrying these go to Flask: credentials (a visitor who may be signed in) and the
#: conditions a replay does not evaluate (ranges, preconditions other than "not modified").
_PASS_THROUGH = (
    "HTTP_COOKIE",
    "HTTP_AUTHORIZATION",
    "HTTP_RANGE",
    "HTTP_IF_MATCH",
    "HTTP_IF_UNMODIFIED_SINCE",
)
#: Headers a ``304`` leaves out (RFC 9110 §15.4.5: it describes the stored representation).
_BODY_HEADERS = frozenset({"content-length", "content-type"})


@dataclass(frozen=True, slots=True)
class StoredAnswer:
    """A whole answer to replay until ``expires`` (a ``time.monotonic()`` value)."""

    status: str
    headers: list[tuple[str, str]]
    body: bytes
    etag: str | None
    last_modified: datetime | None
    endpoint: str
    #: The path as the request's log line showed it (secrets redacted, controls escaped).
    log_path: str
    expires: float


class MicroCache:
    """WSGI middleware replaying marked public answers for ``seconds`` (see the module)."""

    def __init__(
        self, app: WSGIApplication, *, seconds: float, pages: PageCache | None = None
    ) -> None:
        self.app = app
        self.seconds = seconds
        self.pages: PageCache[StoredAnswer] = pages if pages is not None else PageCache(1024)

    def __call__(self, environ: WSGIEnvironment, start_response: StartResponse) -> Iterable[bytes]:
        method = environ["REQUEST_METHOD"]
        if method not in ("GET", "HEAD") or any(name in environ for name in _PASS_THROUGH):
            return self.app(environ, start_response)
        started = time.perf_counter()
        key = tuple(environ.get(part, "") for part in _KEY_PARTS)
        stored = self.pages.get(key)
        if stored is not None and stored.expires > time.monotonic():
            return self._replay(stored, environ, start_response, started)
        return self._answer_and_store(key, environ, start_response)

    def _answer_and_store(
        self, key: tuple[str, ...], environ: WSGIEnvironment, start_response: StartResponse
    ) -> Iterable[bytes]:
        answer: dict[str, Any] = {}

        def remember(status: str, headers: list[tuple[str, str]], exc_info: Any = None) -> Any:
            answer["status"], answer["headers"] = status, headers
            return start_response(status, headers, exc_info)

        body = self.app(environ, remember)
        endpoint = environ.get(REPLAYABLE)
        status: str = answer.get("status", "")
        headers: list[tuple[str, str]] = answer.get("headers", [])
        if (
            endpoint is None
            or environ["REQUEST_METHOD"] != "GET"
            or not status.startswith("200")
            or any(name.lower() == "set-cookie" for name, _ in headers)
        ):
            return body
        try:
            content = b"".join(body)
        finally:
            close = getattr(body, "close", None)
            if close is not None:
                close()
        log_path = environ.get(LOG_PATH) or escape_controls(environ.get("PATH_INFO", ""))
        self.pages.put(key, _stored(status, headers, content, endpoint, log_path, self.seconds))
        return [content]

    def _replay(
        self,
        stored: StoredAnswer,
        environ: WSGIEnvironment,
        start_response: StartResponse,
        started: float,
    ) -> Iterable[bytes]:
        request_id = new_request_id(environ.get("HTTP_X_REQUEST_ID"))
        unchanged = ("HTTP_IF_NONE_MATCH" in environ or "HTTP_IF_MODIFIED_SINCE" in environ) and (
            not is_resource_modified(environ, etag=stored.etag, last_modified=stored.last_modified)
        )
        if unchanged:
            status, body = "304 Not Modified", b""
            headers = [item for item in stored.headers if item[0].lower() not in _BODY_HEADERS]
        else:
            status, headers = stored.status, list(stored.headers)
            body = b"" if environ["REQUEST_METHOD"] == "HEAD" else stored.body
        headers.append((REQUEST_ID_HEADER, request_id))
        start_response(status, headers)
        code = int(status[:3])
        method = environ["REQUEST_METHOD"]
        log_request(method, stored.log_path, code, started, request_id)
        metrics.record_request(stored.endpoint, method, code, started)
        return [body]


def _stored(
    status: str,
    headers: list[tuple[str, str]],
    body: bytes,
    endpoint: str,
    log_path: str,
    seconds: float,
) -> StoredAnswer:
    kept = [(name, value) for name, value in headers if name != REQUEST_ID_HEADER]
    found = {name.lower(): value for name, value in kept}
    etag = unquote_etag(found["etag"])[0] if "etag" in found else None
    return StoredAnswer(
        status=status,
        headers=kept,
        body=body,
        etag=etag,
        last_modified=parse_date(found.get("last-modified")),
        endpoint=endpoint,
        log_path=log_path,
        expires=time.monotonic() + seconds,
    )


def init_app(app: Flask, settings: Settings) -> None:
    """Wrap the app in a ``MicroCache`` unless ``PAGE_CACHE_SECONDS`` is 0.

    Call it after every other middleware is installed: it must see requests first.
    """
    if settings.PAGE_CACHE_SECONDS > 0:
        app.wsgi_app = MicroCache(  # type: ignore[method-assign]
            app.wsgi_app, seconds=settings.PAGE_CACHE_SECONDS
        )
