"""Checking a feed: new items make one draft, a feed seen before makes none, failures are kept."""

from __future__ import annotations

import threading
import time
from datetime import timedelta
from typing import Any

import pytest
import sqlalchemy as sa
from flask import Flask
from sqlalchemy.orm import Session

from campaigns.feeds import checking
from campaigns.feeds.checking import CheckOutcome, check_feed
from campaigns.feeds.models import FeedItem, WatchedFeed
from campaigns.feeds.service import claim_feed, release_feed
from campaigns.issues.models import Issue, IssueStatus
from campaigns.jobs import check_watched_feeds
from campaigns.sending.models import Campaign
from engine.audit import AuditEntry
from engine.clock import now
from engine.config import Settings
from engine.db import Database
from engine.errors import NotFound
from subscribers.models import Topic
from tests.campaigns.feeds.conftest import FeedServer, rss, watch


def _reload(session: Session, feed_id: int) -> WatchedFeed:
    """Read the feed as stored, then end the read: on SQLite it would hold the write lock."""
    session.expire_all()
    feed = session.get(WatchedFeed, feed_id)
    assert feed is not None
    session.expunge(feed)
    session.rollback()
    return feed


def _count(session: Session, model: type) -> int:
    found = session.scalar(sa.select(sa.func.count()).select_from(model))
    session.rollback()
    return int(found or 0)


def test_three_new_items_make_one_draft_and_the_same_feed_again_makes_none(
    database: Database,
    settings: Settings,
    session: Session,
    topic: Topic,
    feed_server: FeedServer,
) -> None:
    url = feed_server.serve(body=rss([2, 1]), etag='"v1"')
    feed = watch(session, url, topic)

    first = check_feed(database, settings, feed.id)
    assert first.outcome is CheckOutcome.FIRST_CHECK and first.new_items == 2
    assert _count(session, Issue) == 0

    feed_server.serve(body=rss([5, 4, 3, 2, 1]), etag='"v2"')
    drafted = check_feed(database, settings, feed.id)
    assert drafted.outcome is CheckOutcome.DRAFTED and drafted.new_items == 3

    issues = session.scalars(sa.select(Issue)).all()
    assert len(issues) == 1
    issue = issues[0]
    issue_id = issue.id
    assert issue_id == drafted.issue_id
    assert issue.status == IssueStatus.DRAFT
    assert [t.slug for t in issue.topics] == ["foster-care"]
    assert issue.layout == "resource_collection"
    (resources,) = [block for block in issue.content["blocks"] if block["type"] == "resources"]
    assert [item["title"] for item in resources["items"]] == ["Item 5", "Item 4", "Item 3"]
    assert resources["items"][0] == {
        "title": "Item 5",
        "url": "https://news.example.gov/5",
        "description": "About item 5.",
        "kind": "webpage",
        "size": "",
    }
    assert issue.title.startswith("New from Agency News, ")
    actions = session.scalars(sa.select(AuditEntry.action)).all()
    assert "feed.draft" in actions
    # Drafts wait for review: nothing is scheduled or sent.
    assert _count(session, Campaign) == 0

    # The same feed again: the server answers 304 to the ETag, and without it nothing is new.
    again = check_feed(database, settings, feed.id)
    assert again.outcome is CheckOutcome.NOT_MODIFIED
    assert feed_server.requests[-1][1]["If-None-Match"] == '"v2"'
    feed_server.serve(body=rss([5, 4, 3, 2, 1]))  # no ETag: a full answer every time
    same = check_feed(database, settings, feed.id)
    assert same.outcome is CheckOutcome.NOTHING_NEW and same.message == "No new items."
    assert _count(session, Issue) == 1
    stored = _reload(session, feed.id)
    assert stored.drafts_made == 1 and stored.last_issue_id == issue_id
    assert stored.title == "Agency News" and stored.last_error == ""
    items = session.scalars(sa.select(FeedItem).where(FeedItem.issue_id == issue_id)).all()
    assert len(items) == 3


def test_first_check_records_what_is_there_and_drafts_nothing(
    database: Database,
    settings: Settings,
    session: Session,
    topic: Topic,
    feed_server: FeedServer,
) -> None:
    feed = watch(session, feed_server.serve(body=rss([3, 2, 1])), topic)
    result = check_feed(database, settings, feed.id)
    assert result.outcome is CheckOutcome.FIRST_CHECK
    assert "recorded the 3 items" in result.message
    assert _count(session, Issue) == 0
    assert _count(session, FeedItem) == 3
    assert _reload(session, feed.id).primed_at is not None


def test_not_modified_sends_validators_and_changes_nothing(
    database: Database,
    settings: Settings,
    session: Session,
    topic: Topic,
    feed_server: FeedServer,
) -> None:
    url = feed_server.serve(
        body=rss([1]), etag='"abc"', headers={"Last-Modified": "Tue, 01 Dec 2026 09:00:00 GMT"}
    )
    feed = watch(session, url, topic)
    check_feed(database, settings, feed.id)
    stored = _reload(session, feed.id)
    assert (stored.etag, stored.last_modified) == ('"abc"', "Tue, 01 Dec 2026 09:00:00 GMT")
    result = check_feed(database, settings, feed.id)
    assert result.outcome is CheckOutcome.NOT_MODIFIED
    headers = feed_server.requests[-1][1]
    assert headers["If-None-Match"] == '"abc"'
    assert headers["If-Modified-Since"] == "Tue, 01 Dec 2026 09:00:00 GMT"
    assert headers["User-Agent"].startswith("Pinwheel feed reader")


def test_loopback_is_refused_without_the_setting(
    database: Database,
    settings: Settings,
    session: Session,
    topic: Topic,
    feed_server: FeedServer,
) -> None:
    feed = watch(session, feed_server.serve(body=rss([1])), topic)
    strict = settings.with_overrides(FEED_ALLOWED_HOSTS=())
    result = check_feed(database, strict, feed.id)
    assert result.outcome is CheckOutcome.FAILED
    assert "127.0.0.1" in result.message and "PINWHEEL_FEED_ALLOWED_HOSTS" in result.message
    assert feed_server.requests == []  # refused before connecting
    assert "loopback" in _reload(session, feed.id).last_error


def test_a_redirect_is_checked_again(
    database: Database,
    settings: Settings,
    session: Session,
    topic: Topic,
    feed_server: FeedServer,
) -> None:
    feed_server.serve("/moved", body=rss([1]))
    url = feed_server.serve(status=301, headers={"Location": "/moved"}, body=b"")
    feed = watch(session, url, topic)
    assert check_feed(database, settings, feed.id).outcome is CheckOutcome.FIRST_CHECK

    feed_server.serve(status=302, headers={"Location": "http://10.1.2.3/feed.xml"}, body=b"")
    feed_server.routes["/moved"].body = rss([2, 1])
    result = check_feed(database, settings, feed.id)
    assert result.outcome is CheckOutcome.FAILED and "10.1.2.3" in result.message

    feed_server.serve(status=302, headers={"Location": "/feed.xml"}, body=b"")
    looping = check_feed(database, settings, feed.id)
    assert looping.outcome is CheckOutcome.FAILED and "redirected more than" in looping.message


def test_an_oversized_feed_is_refused(
    database: Database,
    settings: Settings,
    session: Session,
    topic: Topic,
    feed_server: FeedServer,
) -> None:
    small = settings.with_overrides(FEED_MAX_BYTES=2000)
    big = rss(range(1, 200))
    feed = watch(session, feed_server.serve(body=big), topic)
    declared = check_feed(database, small, feed.id)
    assert declared.outcome is CheckOutcome.FAILED and "larger than" in declared.message

    feed_server.serve(body=big, chunked=True)  # no Content-Length: counted while reading
    streamed = check_feed(database, small, feed.id)
    assert streamed.outcome is CheckOutcome.FAILED and "larger than" in streamed.message
    assert _reload(session, feed.id).primed_at is None


def test_malformed_xml_keeps_an_error_and_drafts_nothing(
    database: Database,
    settings: Settings,
    session: Session,
    topic: Topic,
    feed_server: FeedServer,
) -> None:
    feed = watch(session, feed_server.serve(body=rss([1])), topic)
    check_feed(database, settings, feed.id)
    feed_server.serve(body=rss([2, 1]).replace(b"</channel>", b"<item><title>oops</channel>"))
    result = check_feed(database, settings, feed.id)
    assert result.outcome is CheckOutcome.FAILED
    assert "not well-formed XML" in result.message
    stored = _reload(session, feed.id)
    assert "not well-formed XML" in stored.last_error
    assert _count(session, Issue) == 0

    feed_server.serve(body=b"<!doctype html><html><body>Hello</body></html>",
                      content_type="text/html")  # fmt: skip
    page = check_feed(database, settings, feed.id)
    assert page.outcome is CheckOutcome.FAILED and "not return an RSS or Atom feed" in page.message

    feed_server.serve(status=500, body=b"boom", content_type="text/plain")
    broken = check_feed(database, settings, feed.id)
    assert broken.message == "The feed's server answered 500 Internal Server Error."

    feed_server.serve(body=rss([2, 1]))  # the feed recovers: item 2 is new
    recovered = check_feed(database, settings, feed.id)
    assert recovered.outcome is CheckOutcome.DRAFTED
    assert _reload(session, feed.id).last_error == ""


LEASE = timedelta(seconds=80)


def test_a_claimed_feed_is_not_checked_twice(
    database: Database, session: Session, topic: Topic, feed_server: FeedServer
) -> None:
    feed = watch(session, feed_server.serve(body=rss([1])), topic)
    with database.session() as racing:
        seen = racing.get(WatchedFeed, feed.id)  # held: the identity map keeps it as read
        assert seen is not None and seen.last_checked_at is None
        # Another scheduler claims it after this one read the row: the compare-and-set fails.
        racing.execute(
            sa.update(WatchedFeed)
            .where(WatchedFeed.id == feed.id)
            .values(last_checked_at=now())
            .execution_options(synchronize_session=False)
        )
        assert claim_feed(racing, feed.id, now(), lease=LEASE) is None
    with database.session() as later:
        # Found due half an hour ago, but checked since: skipped.
        found_due = now() - timedelta(minutes=30)
        assert claim_feed(later, feed.id, now(), lease=LEASE, due_before=found_due) is None
        assert claim_feed(later, feed.id, now(), lease=LEASE) is not None  # "Check now"


def test_a_claim_holds_the_feed_until_released_or_lapsed(
    database: Database, session: Session, topic: Topic, feed_server: FeedServer
) -> None:
    feed = watch(session, feed_server.serve(body=rss([1])), topic)
    start = now()
    with database.session() as first:
        claim = claim_feed(first, feed.id, start, lease=LEASE)
    assert claim is not None
    with database.session() as second:
        # A "Check now" while the check runs: refused, though last_checked_at was read afresh.
        assert claim_feed(second, feed.id, start + timedelta(seconds=5), lease=LEASE) is None
    with database.session() as releasing:
        release_feed(releasing, claim)
    with database.session() as third:
        again = claim_feed(third, feed.id, start + timedelta(seconds=6), lease=LEASE)
    assert again is not None
    with database.session() as stale:
        release_feed(stale, claim)  # the first check, late: frees nothing of the second's
        assert claim_feed(stale, feed.id, start + timedelta(seconds=7), lease=LEASE) is None
    with database.session() as lapsed:  # the second check died: its lease lapses
        assert claim_feed(lapsed, feed.id, again.until, lease=LEASE) is not None


def test_check_now_during_a_running_check_fetches_nothing(
    database: Database,
    settings: Settings,
    session: Session,
    topic: Topic,
    feed_server: FeedServer,
) -> None:
    feed = watch(session, feed_server.serve(body=rss([1]), drip=0.1), topic)
    slow = settings.with_overrides(FEED_TIMEOUT_SECONDS=2)
    running = threading.Thread(target=check_feed, args=(database, slow, feed.id))
    running.start()
    try:
        deadline = time.monotonic() + 2
        while not feed_server.requests and time.monotonic() < deadline:
            time.sleep(0.02)
        result = check_feed(database, slow, feed.id)
    finally:
        running.join()
    assert result.outcome is CheckOutcome.BUSY
    assert result.message == "The feed is being checked already."
    assert len(feed_server.requests) == 1
    stored = _reload(session, feed.id)
    assert "took longer than 2 seconds" in stored.last_error
    assert stored.checking_until is None  # released when the check ended


def test_a_feed_removed_meanwhile_is_not_found(
    database: Database, settings: Settings, session: Session, topic: Topic, feed_server: FeedServer
) -> None:
    feed = watch(session, feed_server.serve(body=rss([1])), topic)
    session.execute(sa.delete(WatchedFeed).where(WatchedFeed.id == feed.id))
    session.commit()
    with pytest.raises(NotFound, match=f"no watched feed {feed.id}"):
        check_feed(database, settings, feed.id)


def test_an_unexpected_error_is_a_failed_check_kept_and_logged(
    database: Database,
    settings: Settings,
    session: Session,
    topic: Topic,
    feed_server: FeedServer,
    monkeypatch: pytest.MonkeyPatch,
    caplog: pytest.LogCaptureFixture,
) -> None:
    feed = watch(session, feed_server.serve(body=rss([1])), topic)

    def broken(*_args: Any, **_kwargs: Any) -> None:
        raise RuntimeError("a bug")

    monkeypatch.setattr(checking, "parse_feed", broken)
    result = check_feed(database, settings, feed.id)
    assert result.outcome is CheckOutcome.FAILED
    assert result.message == "The check failed unexpectedly; see the logs."
    stored = _reload(session, feed.id)
    assert stored.last_error == result.message and stored.checking_until is None
    assert "a bug" in caplog.text


def test_items_recorded_by_an_overlapping_check_make_the_check_busy(
    database: Database,
    settings: Settings,
    session: Session,
    topic: Topic,
    feed_server: FeedServer,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    feed = watch(session, feed_server.serve(body=rss([1])), topic)

    def overlapped(*_args: Any, **_kwargs: Any) -> None:
        raise sa.exc.IntegrityError("INSERT INTO feed_item", {}, Exception("uq_feed_item"))

    monkeypatch.setattr(checking, "record_entries", overlapped)
    result = check_feed(database, settings, feed.id)
    assert result.outcome is CheckOutcome.BUSY
    assert result.message == "Another check recorded these items first."
    assert _reload(session, feed.id).checking_until is None


def test_the_scheduler_job_checks_due_feeds_and_one_failure_stops_none(
    app: Flask,
    database: Database,
    settings: Settings,
    session: Session,
    topic: Topic,
    feed_server: FeedServer,
) -> None:
    good = watch(session, feed_server.serve("/good.xml", body=rss([1])), topic)
    bad = watch(session, feed_server.serve("/bad.xml", status=500, body=b"x"), topic)
    paused = watch(session, feed_server.serve("/paused.xml", body=rss([1])), topic)
    session.execute(sa.update(WatchedFeed).where(WatchedFeed.id == paused.id).values(active=False))
    session.commit()

    check_watched_feeds(app)
    assert _reload(session, good.id).primed_at is not None
    assert "500" in _reload(session, bad.id).last_error
    assert _reload(session, paused.id).last_checked_at is None

    feed_server.routes["/good.xml"].body = rss([2, 1])
    check_watched_feeds(app)  # checked a moment ago: not due yet
    assert _count(session, Issue) == 0

    an_hour_ago = now() - timedelta(hours=1)
    session.execute(
        sa.update(WatchedFeed).where(WatchedFeed.active).values(last_checked_at=an_hour_ago)
    )
    session.commit()
    check_watched_feeds(app)
    assert _count(session, Issue) == 1
    assert _reload(session, paused.id).last_checked_at is None
