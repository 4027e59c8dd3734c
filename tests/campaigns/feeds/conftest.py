"""Feeds served from 127.0.0.1 by a threaded HTTP server with ETags; an app that may read them."""

from __future__ import annotations

import contextlib
import ipaddress
import threading
import time
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from email.utils import format_datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from xml.sax.saxutils import escape

import pytest
from flask import Flask
from sqlalchemy.orm import Session

from campaigns.feeds.egress import AddressPolicy
from campaigns.feeds.models import WatchedFeed
from campaigns.feeds.service import add_feed
from engine.config import Settings
from subscribers.models import Topic
from tests.factories import make_topic

#: ``FEED_ALLOWED_HOSTS`` as the tests set it: the test server's loopback address.
LOOPBACK = (ipaddress.ip_network("127.0.0.1/32"),)
LAST_MODIFIED = format_datetime(datetime(2026, 12, 1, 9, 0, tzinfo=UTC), usegmt=True)


@dataclass
class Route:
    """What the server answers on one path."""

    body: bytes = b""
    status: int = 200
    content_type: str = "application/rss+xml; charset=utf-8"
    etag: str = ""
    headers: dict[str, str] = field(default_factory=dict)
    #: Send the body without Content-Length (read until the connection closes).
    chunked: bool = False
    #: Promise more bytes than the body has, send the body, then close the connection.
    cut_short: bool = False
    #: Seconds between single bytes of a slow answer (0: send it at once).
    drip: float = 0.0
    #: With ``drip``, send the headers a byte at a time too (else only the body).
    drip_headers: bool = False


@dataclass
class FeedServer:
    base: str
    routes: dict[str, Route] = field(default_factory=dict)
    #: Each request's path and headers, in order.
    requests: list[tuple[str, dict[str, str]]] = field(default_factory=list)

    def url(self, path: str = "/feed.xml") -> str:
        return f"{self.base}{path}"

    def serve(self, path: str = "/feed.xml", **route: Any) -> str:
        self.routes[path] = Route(**route)
        return self.url(path)


def _handler(server: FeedServer) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def do_GET(self) -> None:
            server.requests.append((self.path, dict(self.headers.items())))
            route = server.routes.get(self.path)
            if route is None:
                self._answer(404, b"not here", {"Content-Type": "text/plain"})
                return
            if route.etag and self.headers.get("If-None-Match") == route.etag:
                self._answer(304, b"", {"ETag": route.etag})
                return
            headers = {"Content-Type": route.content_type, **route.headers}
            if route.etag:
                headers["ETag"] = route.etag
            if route.drip:
                self._drip(route)
                return
            if route.cut_short:
                headers["Content-Length"] = str(len(route.body) + 100)
                self.close_connection = True
            self._answer(route.status, route.body, headers, chunked=route.chunked)

        def _drip(self, route: Route) -> None:
            """Answer a byte at a time for up to 30 seconds, or until the client goes."""
            head = f"Content-Type: {route.content_type}\r\nContent-Length: 100000\r\n\r\n"
            start = b"HTTP/1.1 200 OK\r\n"
            slow = route.body * 1000
            if route.drip_headers:
                slow = f"X-Slow: {'x' * 1000}\r\n{head}".encode() + slow
            else:
                start += head.encode()
            self.close_connection = True
            with contextlib.suppress(OSError):
                self.wfile.write(start)
                self.wfile.flush()
                for index in range(min(len(slow), int(30 / route.drip))):
                    time.sleep(route.drip)
                    self.wfile.write(slow[index : index + 1])
                    self.wfile.flush()

        def _answer(
            self, status: int, body: bytes, headers: dict[str, str], *, chunked: bool = False
        ) -> None:
            self.send_response(status)
            for name, value in headers.items():
                self.send_header(name, value)
            if chunked:
                self.send_header("Connection", "close")
                self.close_connection = True
            elif status != 304 and "Content-Length" not in headers:
                self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            if status != 304:
                self.wfile.write(body)

        def log_message(self, *_args: Any) -> None:
            pass

    return Handler


@pytest.fixture
def feed_server() -> Iterator[FeedServer]:
    """Serve feeds on 127.0.0.1 (a port of its own) for the length of a test."""
    state = FeedServer(base="")
    httpd = ThreadingHTTPServer(("127.0.0.1", 0), _handler(state))
    httpd.daemon_threads = True
    state.base = f"http://127.0.0.1:{httpd.server_address[1]}"
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    yield state
    httpd.shutdown()
    httpd.server_close()


@pytest.fixture
def settings(settings: Settings, database_url: str) -> Settings:
    """Test settings that let feeds be read from 127.0.0.1 (refused by default).

    ``database_url`` is named so that pytest still parametrizes it for these tests.
    """
    return settings.with_overrides(FEED_ALLOWED_HOSTS=LOOPBACK)


@pytest.fixture
def topic(app: Flask, session: Session) -> Topic:
    made = make_topic(session, slug="foster-care", name="Foster care")
    session.commit()
    return made


def rss(items: Sequence[int], *, title: str = "Agency News") -> bytes:
    """Return an RSS 2.0 feed with the numbered items (newest first, as feeds list them)."""
    entries = "".join(
        f"<item><title>Item {n}</title><link>https://news.example.gov/{n}</link>"
        f'<guid isPermaLink="false">news-{n}</guid>'
        f"<description>&lt;p&gt;About &lt;b&gt;item {n}&lt;/b&gt;.&lt;/p&gt;</description></item>"
        for n in items
    )
    return (
        f'<?xml version="1.0" encoding="utf-8"?><rss version="2.0"><channel>'
        f"<title>{escape(title)}</title><link>https://news.example.gov/</link>"
        f"<description>News</description>{entries}</channel></rss>"
    ).encode()


def watch(session: Session, url: str, topic: Topic) -> WatchedFeed:
    """Add a feed for ``topic`` (loopback allowed), commit, and end the session's transaction.

    The feed comes back detached: on SQLite a test session that refreshed it would open a
    transaction, which holds the write lock the check under test needs.
    """
    feed = add_feed(session, url, topic.slug, policy=AddressPolicy.from_setting(LOOPBACK))
    session.commit()
    session.expunge(feed)
    session.rollback()
    return feed
