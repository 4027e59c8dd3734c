"""Web views, the archive and its feeds: public, valid, and free of personal data."""

from __future__ import annotations

import re
import xml.etree.ElementTree as ET
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
import time_machine
from flask.testing import FlaskClient
from sqlalchemy.orm import Session

from campaigns.demo.content import SPOTLIGHT_ISSUE
from campaigns.issues.models import Issue
from campaigns.issues.service import create_issue
from engine.app import create_app
from engine.config import Settings
from subscribers.links import SubscriberLinks
from subscribers.tokens import InvalidToken, Purpose, TokenSigner
from tests.factories import make_sent_issue, make_subscriber, make_topic
from tests.html_validator import html_errors

ATOM = "{http://www.w3.org/2005/Atom}"


@pytest.fixture
def archive(session: Session, settings: Settings) -> dict[str, Issue]:
    topic = make_topic(session, "human-trafficking", name="Human trafficking")
    issues = {
        "old": make_sent_issue(
            session, settings, "Older Spotlight", datetime(2025, 1, 6, tzinfo=UTC)
        ),
        "new": make_sent_issue(
            session, settings, "Newer Spotlight", datetime(2026, 1, 5, tzinfo=UTC), [topic]
        ),
        "draft": create_issue(session, {**SPOTLIGHT_ISSUE, "title": "Unsent Draft"}),
    }
    session.commit()
    return issues


def test_archive_lists_sent_issues_newest_first(client: FlaskClient, archive) -> None:
    page = client.get("/archive").get_data(as_text=True)
    assert page.index("Newer Spotlight") < page.index("Older Spotlight")
    assert "Unsent Draft" not in page


def test_archive_search_and_filters(client: FlaskClient, archive) -> None:
    assert "Older Spotlight" not in client.get("/archive?q=newer").get_data(as_text=True)
    by_topic = client.get("/archive?topic=human-trafficking").get_data(as_text=True)
    assert "Newer Spotlight" in by_topic and "Older Spotlight" not in by_topic
    by_year = client.get("/archive?year=2025").get_data(as_text=True)
    assert "Older Spotlight" in by_year and "Newer Spotlight" not in by_year
    assert client.get("/archive?year=abc&page=-3").status_code == 200


def test_web_view_has_previous_next_and_open_graph(client: FlaskClient, archive) -> None:
    page = client.get(f"/view/{archive['new'].slug}").get_data(as_text=True)
    assert 'property="og:title" content="Newer Spotlight"' in page
    assert f'href="/view/{archive["old"].slug}"' in page
    assert "Previous: Older Spotlight" in page


def test_public_email_has_no_personal_links(client: FlaskClient, archive) -> None:
    body = client.get(f"/view/{archive['new'].slug}/email").get_data(as_text=True)
    assert "%%" not in body
    assert "/unsubscribe/" not in body and "/preferences/" not in body
    assert "Newer Spotlight" in body


def test_personal_web_view_fills_the_subscribers_links(
    client: FlaskClient, archive, session: Session, settings: Settings
) -> None:
    reader = make_subscriber(session, "reader@example.com", name="Rosa Rivera")
    session.commit()
    url = SubscriberLinks.from_settings(settings).webview(archive["new"].slug, reader.id, 1)
    token = url.split("?t=")[1]
    page = client.get(f"/view/{archive['new'].slug}?t={token}").get_data(as_text=True)
    assert 'name="robots" content="noindex"' in page and "og:title" not in page
    response = client.get(f"/view/{archive['new'].slug}/email?t={token}")
    assert response.headers["Cache-Control"] == "private, no-store"
    assert "/unsubscribe/" in response.get_data(as_text=True)


def test_web_view_links_expire_with_the_web_view_token(
    client: FlaskClient, archive, session: Session, settings: Settings
) -> None:
    reader = make_subscriber(session, "reader@example.com", name="Rosa Rivera")
    session.commit()
    slug = archive["new"].slug
    signer = TokenSigner(settings.SECRET_KEY, settings.TOKEN_MAX_AGE_DAYS)
    opened = datetime.now(UTC)
    sent = opened - timedelta(days=80)
    with time_machine.travel(sent, tick=False):
        token = SubscriberLinks.from_settings(settings).webview(slug, reader.id, 1).split("?t=")[1]
    with time_machine.travel(opened, tick=False):
        body = client.get(f"/view/{slug}/email?t={token}").get_data(as_text=True)
    links = {
        purpose: re.search(rf"/{purpose}/([\w.-]+)", body)[1]
        for purpose in (Purpose.UNSUBSCRIBE, Purpose.PREFERENCES)
    }
    webview = re.search(rf"/view/{slug}\?t=([\w.-]+)", body)[1]
    for purpose, link in [*links.items(), (Purpose.WEBVIEW, webview)]:
        assert signer.load_issued(purpose, link)[2] == int(sent.timestamp())
    # Eleven days later the original has expired, and so has every link the web view gave out.
    with time_machine.travel(opened + timedelta(days=11), tick=False):
        for purpose, link in [*links.items(), (Purpose.WEBVIEW, token)]:
            with pytest.raises(InvalidToken, match="expired"):
                signer.load(purpose, link)


def test_tampered_token_is_a_400_page(client: FlaskClient, archive) -> None:
    response = client.get(f"/view/{archive['new'].slug}/email?t=not-a-real-token")
    assert response.status_code == 400
    assert "not valid" in response.get_data(as_text=True)


def test_unsent_or_unknown_issue_is_404(client: FlaskClient, archive) -> None:
    assert client.get(f"/view/{archive['draft'].slug}").status_code == 404
    assert client.get("/view/no-such-issue").status_code == 404


def test_atom_feeds_parse(client: FlaskClient, archive) -> None:
    feed = ET.fromstring(client.get("/archive/feed.atom").data)
    titles = [entry.find(f"{ATOM}title").text for entry in feed.iter(f"{ATOM}entry")]
    assert titles == ["Newer Spotlight", "Older Spotlight"]
    topic_feed = ET.fromstring(client.get("/archive/topics/human-trafficking/feed.atom").data)
    assert [e.find(f"{ATOM}title").text for e in topic_feed.iter(f"{ATOM}entry")] == [
        "Newer Spotlight"
    ]
    assert client.get("/archive/topics/nope/feed.atom").status_code == 404


def test_atom_feeds_escape_what_editors_write(
    client: FlaskClient, archive, session: Session, settings: Settings
) -> None:
    topic = session.get(Issue, archive["new"].id).topics[0]
    topic.name = "Kids & <Families>"
    injected = "</title></entry><entry><title>Injected</title><id>x</id></entry><entry><title>"
    for title in ("Kids & Families <2027>", injected, "Bell"):
        issue = make_sent_issue(session, settings, title, datetime(2026, 3, 2, tzinfo=UTC), [topic])
    # Characters XML cannot carry at all are left out rather than breaking the whole feed.
    issue.title = "Bell\x07 and \x1b[31mred"
    session.commit()
    for url in ("/archive/feed.atom", "/archive/topics/human-trafficking/feed.atom"):
        response = client.get(url)
        assert response.mimetype == "application/atom+xml"
        feed = ET.fromstring(response.data)
        titles = [entry.find(f"{ATOM}title").text for entry in feed.iter(f"{ATOM}entry")]
        assert {"Kids & Families <2027>", injected, "Bell and [31mred"} <= set(titles)
        assert "Injected" not in titles
    assert feed.find(f"{ATOM}title").text == "Kids & <Families>: Newsletter archive"


def test_archive_and_web_view_pages_are_valid_html5(
    client: FlaskClient, archive, tmp_path: Path
) -> None:
    pages = {
        "archive": client.get("/archive").get_data(as_text=True),
        "archive-filtered": client.get("/archive?q=spot&year=2026").get_data(as_text=True),
        "webview": client.get(f"/view/{archive['new'].slug}").get_data(as_text=True),
        "webview-oldest": client.get(f"/view/{archive['old'].slug}").get_data(as_text=True),
    }
    assert html_errors(pages, tmp_path) == []


def test_archive_pages_answer_304_until_something_is_published(
    client: FlaskClient, archive, session: Session, settings: Settings
) -> None:
    first = client.get("/archive")
    etag = first.headers["ETag"]
    assert first.headers["Cache-Control"].startswith("public")
    assert client.get("/archive", headers={"If-None-Match": etag}).status_code == 304
    make_sent_issue(session, settings, "Newest Spotlight", datetime(2026, 4, 6, tzinfo=UTC))
    session.commit()
    fresh = client.get("/archive", headers={"If-None-Match": etag})
    assert fresh.status_code == 200
    assert "Newest Spotlight" in fresh.get_data(as_text=True)


@pytest.fixture
def cached_client(settings: Settings, archive) -> FlaskClient:
    """A client of an app that replays public pages to anonymous visitors for a minute."""
    return create_app(settings.with_overrides(PAGE_CACHE_SECONDS=60)).test_client(use_cookies=False)


def test_anonymous_visitors_get_public_pages_replayed_for_a_moment(
    cached_client: FlaskClient, archive, session: Session, settings: Settings
) -> None:
    first = cached_client.get("/archive")
    make_sent_issue(session, settings, "Newest Spotlight", datetime(2026, 4, 6, tzinfo=UTC))
    session.commit()
    replay = cached_client.get("/archive")
    assert replay.get_data() == first.get_data()
    assert replay.headers["ETag"] == first.headers["ETag"]
    assert replay.headers["X-Request-ID"] != first.headers["X-Request-ID"]
    assert "Content-Security-Policy" in replay.headers
    # Anyone carrying a cookie goes through the app and sees the new issue at once.
    fresh = cached_client.get("/archive", headers={"Cookie": "session=staff"})
    assert "Newest Spotlight" in fresh.get_data(as_text=True)


def test_personal_web_views_are_never_replayed(
    cached_client: FlaskClient, archive, session: Session, settings: Settings
) -> None:
    reader = make_subscriber(session, "reader@example.com", name="Rosa Rivera")
    other = make_subscriber(session, "other@example.com", name="Omar Okafor")
    session.commit()
    links = SubscriberLinks.from_settings(settings)
    slug = archive["new"].slug
    emails = []
    for subscriber in (reader, other):
        token = links.webview(slug, subscriber.id, 1).split("?t=")[1]
        page = cached_client.get(f"/view/{slug}?t={token}")
        assert page.headers["Cache-Control"].startswith("private")
        email = cached_client.get(f"/view/{slug}/email?t={token}")
        assert email.headers["Cache-Control"] == "private, no-store"
        emails.append(email.get_data(as_text=True))
    # Each reader's own links, never the first reader's page replayed to the second.
    assert "/unsubscribe/" in emails[0] and emails[0] != emails[1]
    public = cached_client.get(f"/view/{slug}/email")
    assert public.headers["Content-Security-Policy"].startswith("default-src 'none'")
    assert (
        cached_client.get(f"/view/{slug}/email").headers["Content-Security-Policy"]
        == (public.headers["Content-Security-Policy"])
    )


def test_the_archive_links_to_the_subscribe_page(client: FlaskClient, archive) -> None:
    page = client.get("/archive").get_data(as_text=True)
    assert '<a href="/subscribe">Subscribe to get new issues by email</a>' in page
    assert '<nav aria-label="Site">' in page and 'href="/subscribe">Subscribe</a>' in page


def test_the_web_view_names_the_issue_once_and_hides_the_view_online_line(
    client: FlaskClient, archive
) -> None:
    slug = archive["new"].slug
    page = client.get(f"/view/{slug}").get_data(as_text=True)
    # The email shows its own kicker and title; the page's heading is for screen readers only.
    assert '<h1 id="issue-title" class="visually-hidden">Newer Spotlight</h1>' in page
    assert 'class="kicker"' not in page and '<h1 id="issue-title">' not in page
    email = client.get(f"/view/{slug}/email").get_data(as_text=True)
    head = email[: email.index("</head>")]
    assert "<style>.pw-top{display:none!important}</style>" in head
    # The line is hidden, not cut: the email is the one subscribers received, byte for byte.
    trouble = re.search(
        r'<div class="pw-top"[^>]*>.*?Having trouble viewing this email\?', email, re.S
    )
    assert trouble is not None
