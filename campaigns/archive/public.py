"""Public pages: the web view of each sent issue, the archive, and its Atom feeds."""

from __future__ import annotations

from flask import Blueprint, Flask, Response, render_template, request
from flask_babel import gettext

from campaigns.archive import feeds
from campaigns.archive.service import (
    ArchiveFilters,
    archive_topics,
    archive_version,
    archive_years,
    find_published,
    published_corrections,
    published_editions,
    search_archive,
)
from campaigns.archive.webview import personal_email_html, public_email_html, token_reader
from engine.db import request_session
from engine.http_cache import cached_response
from engine.i18n import use_language
from engine.web import get_settings

bp = Blueprint("archive", __name__)
#: The email inside the page may not run script or be framed by other sites.
EMAIL_CSP = (
    "default-src 'none'; img-src * data:; style-src 'unsafe-inline'; font-src *; "
    "frame-ancestors 'self'"
)
WEB_VIEW_STYLE = "<style>.pw-top{display:none!important}</style>"


@bp.context_processor
def _language_names() -> dict[str, object]:
    # The languages of editions, named in the page's language ("In Spanish:", "En inglés:").
    return {"language_names": {"en": gettext("English"), "es": gettext("Spanish")}}


@bp.get("/view/<slug>")
def webview(slug: str) -> Response:
    session = request_session(read_only=True)
    token = request.args.get("t", "")
    reader = token_reader(session, get_settings(), token) if token else None
    if reader is not None:
        # The page around the email speaks the language of the reader it was sent to.
        use_language(reader.language)

    def render() -> str:
        published = find_published(session, slug)
        return render_template(
            "archive/webview.html", published=published, personal=bool(token), token=token
        )

    version, changed = archive_version(session)
    return cached_response(render, version=version, last_modified=changed, public=not token)


@bp.get("/view/<slug>/email")
def webview_email(slug: str) -> Response:
    session = request_session(read_only=True)
    token = request.args.get("t", "")
    if token:
        published = find_published(session, slug)
        body = personal_email_html(session, get_settings(), published, token)
        response = Response(_framed(body), mimetype="text/html")
        # A personal page: never stored by shared caches, never indexed.
        response.headers["Cache-Control"] = "private, no-store"
        response.headers["X-Robots-Tag"] = "noindex"
    else:
        version, changed = archive_version(session)
        response = cached_response(
            lambda: _framed(public_email_html(get_settings(), find_published(session, slug))),
            version=version,
            last_modified=changed,
        )
    response.headers["Content-Security-Policy"] = EMAIL_CSP
    return response


def _framed(body: str) -> str:
    # Links in the email open in the whole window, not inside the page's frame; its "View it as
    # a web page" line (the `pw-top` section) is hidden rather than cut out, so the email's own
    # bytes stay the ones subscribers received, the campaigns sent before this page included.
    return body.replace("<head>", f'<head><base target="_top">{WEB_VIEW_STYLE}', 1)


@bp.get("/archive")
def index() -> Response:
    session = request_session(read_only=True)
    filters = ArchiveFilters.from_args(request.args)

    def render() -> str:
        result = search_archive(session, filters)
        return render_template(
            "archive/index.html",
            filters=filters,
            result=result,
            editions=published_editions(session, result.issues),
            corrections=published_corrections(session, result.issues),
            topics=archive_topics(session),
            years=archive_years(session),
        )

    version, changed = archive_version(session)
    return cached_response(render, version=version, last_modified=changed)


@bp.get("/archive/feed.atom")
def feed() -> Response:
    return _feed(None)


@bp.get("/archive/topics/<topic_slug>/feed.atom")
def topic_feed(topic_slug: str) -> Response:
    return _feed(topic_slug)


@bp.get("/archive/<any(es, en):language>/feed.atom")
def language_feed(language: str) -> Response:
    """The issues written in ``language``: its editions and the originals written in it."""
    return _feed(None, language)


def _feed(topic_slug: str | None, language: str = "") -> Response:
    session = request_session(read_only=True)
    version, changed = archive_version(session)
    return cached_response(
        lambda: feeds.atom_document(
            session, get_settings(), topic_slug=topic_slug, language=language
        ),
        version=version,
        last_modified=changed,
        mimetype="application/atom+xml",
    )


def init_app(app: Flask) -> None:
    """Register the public archive pages."""
    app.register_blueprint(bp)
