"""Public pages: the web view of each sent issue, the archive, and its Atom feeds."""

from __future__ import annotations

from flask import Blueprint, Flask, Response, render_template, request

from campaigns.archive import feeds
from campaigns.archive.service import (
    ArchiveFilters,
    archive_topics,
    archive_years,
    find_published,
    search_archive,
)
from campaigns.archive.webview import personal_email_html, public_email_html
from engine.db import request_session
from engine.web import get_settings

bp = Blueprint("archive", __name__)
#: The email inside the page may not run script or be framed by other sites.
EMAIL_CSP = (
    "default-src 'none'; img-src * data:; style-src 'unsafe-inline'; font-src *; "
    "frame-ancestors 'self'"
)


@bp.get("/view/<slug>")
def webview(slug: str) -> str:
    published = find_published(request_session(), slug)
    token = request.args.get("t", "")
    return render_template(
        "archive/webview.html", published=published, personal=bool(token), token=token
    )


@bp.get("/view/<slug>/email")
def webview_email(slug: str) -> Response:
    session = request_session()
    published = find_published(session, slug)
    token = request.args.get("t", "")
    settings = get_settings()
    if token:
        body = personal_email_html(session, settings, published, token)
    else:
        body = public_email_html(settings, published)
    # Links in the email open in the whole window, not inside the page's frame.
    body = body.replace("<head>", '<head><base target="_top">', 1)
    response = Response(body, mimetype="text/html")
    response.headers["Content-Security-Policy"] = EMAIL_CSP
    if token:
        # A personal page: never stored by shared caches, never indexed.
        response.headers["Cache-Control"] = "private, no-store"
        response.headers["X-Robots-Tag"] = "noindex"
    return response


@bp.get("/archive")
def index() -> str:
    session = request_session()
    filters = ArchiveFilters(
        query=request.args.get("q", "")[:200],
        topic=request.args.get("topic", "")[:80],
        observance=request.args.get("observance", "")[:80],
        year=request.args.get("year", type=int),
        page=request.args.get("page", 1, type=int) or 1,
    )
    return render_template(
        "archive/index.html",
        filters=filters,
        result=search_archive(session, filters),
        topics=archive_topics(session),
        years=archive_years(session),
    )


@bp.get("/archive/feed.atom")
def feed() -> Response:
    return feeds.atom_response(request_session(), get_settings(), topic_slug=None)


@bp.get("/archive/topics/<topic_slug>/feed.atom")
def topic_feed(topic_slug: str) -> Response:
    return feeds.atom_response(request_session(), get_settings(), topic_slug=topic_slug)


def init_app(app: Flask) -> None:
    """Register the public archive pages."""
    app.register_blueprint(bp)
