"""Watched feeds: add, pause, remove, claim a check, and record what a check found.

The functions take a session and flush; ``campaigns.feeds.checking`` runs a check as short
transactions around the fetch, so no transaction stays open while a feed's server answers.
"""

from __future__ import annotations

import hashlib
import ipaddress
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Any
from urllib.parse import urlsplit

import sqlalchemy as sa
from sqlalchemy.orm import Session

from campaigns.feeds.bulletins import bulletin_content
from campaigns.feeds.egress import AddressPolicy
from campaigns.feeds.models import FeedItem, WatchedFeed
from campaigns.feeds.parsing import FeedEntry, ParsedFeed
from campaigns.issues.models import Issue
from campaigns.issues.service import create_issue
from engine import audit
from engine.clock import now
from engine.db import rowcount
from engine.errors import Conflict, NotFound, ValidationFailed
from engine.text_fields import control_character
from subscribers.models import Topic

#: Most items one draft lists; more new items than this at once are recorded without a draft
#: (a feed that was reset, or moved), rather than a bulletin nobody would read to the end.
MAX_DRAFT_ITEMS = 50
#: Most entries read from one answer (a feed lists its latest dozens; an archive is not a feed).
MAX_ENTRIES = 500


@dataclass(frozen=True, slots=True)
class FeedClaim:
    """What a check needs to know about its feed, read when it was claimed."""

    feed_id: int
    url: str
    etag: str
    last_modified: str
    #: When the claim lapses; releasing it compares this, so a late check frees no later claim.
    until: datetime


def add_feed(
    session: Session,
    url: str,
    topic_slug: str,
    *,
    policy: AddressPolicy,
    actor: Any = None,
) -> WatchedFeed:
    """Watch ``url`` for ``topic_slug``; its first check records the items already there."""
    url = _checked_url(url.strip(), policy)
    topic = session.scalar(sa.select(Topic).where(Topic.slug == topic_slug.strip()))
    if topic is None:
        raise ValidationFailed(f"There is no topic with the slug {topic_slug.strip()!r}.")
    taken = sa.select(WatchedFeed.id).where(
        WatchedFeed.url == url, WatchedFeed.topic_id == topic.id
    )
    if session.scalar(taken) is not None:
        raise Conflict(f"{url} is already watched for {topic.name}.")
    feed = WatchedFeed(
        url=url, topic=topic, created_by_id=getattr(actor, "id", None), created_at=now()
    )
    session.add(feed)
    session.flush()
    audit.record(session, actor, "feed.add", feed, url=url, topic=topic.slug)
    return feed


def _checked_url(url: str, policy: AddressPolicy) -> str:
    if not url:
        raise ValidationFailed("Give the feed's web address.")
    if len(url) > 2000 or control_character(url) or any(c.isspace() for c in url):
        raise ValidationFailed(
            "The feed's address must be one web address of at most 2,000 characters."
        )
    try:
        parts = urlsplit(url)
        _ = parts.port  # a port that is not a number fails here
    except ValueError:
        raise ValidationFailed(f"{url} is not a web address.") from None
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise ValidationFailed("The feed's address must start with https:// (or http://).")
    if parts.username or parts.password:
        raise ValidationFailed("Give the feed's address without a user name or password in it.")
    try:
        literal = ipaddress.ip_address(parts.hostname)
    except ValueError:
        return url  # a host name: checked on what it resolves to, at each check
    if not policy.allows(parts.hostname, str(literal)):
        raise ValidationFailed(
            f"{parts.hostname} is a private, loopback or reserved address, which feeds may not "
            "be read from. An administrator can allow it with PINWHEEL_FEED_ALLOWED_HOSTS."
        )
    return url


def list_feeds(session: Session) -> list[WatchedFeed]:
    """Return every watched feed, the oldest first."""
    return list(session.scalars(sa.select(WatchedFeed).order_by(WatchedFeed.id)))


def get_feed(session: Session, feed_id: int) -> WatchedFeed:
    """Return the feed ``feed_id`` or raise ``NotFound``."""
    feed = session.get(WatchedFeed, feed_id)
    if feed is None:
        raise NotFound(f"There is no watched feed {feed_id}.")
    return feed


def set_feed_active(session: Session, feed: WatchedFeed, active: bool, *, actor: Any) -> None:
    """Pause a feed (the scheduler skips it) or resume it."""
    if feed.active != active:
        feed.active = active
        session.flush()
        audit.record(session, actor, "feed.resume" if active else "feed.pause", feed)


def remove_feed(session: Session, feed: WatchedFeed, *, actor: Any) -> None:
    """Stop watching a feed and forget its items; the drafts it made stay."""
    audit.record(session, actor, "feed.remove", feed, url=feed.url, topic=feed.topic.slug)
    session.execute(sa.delete(FeedItem).where(FeedItem.feed_id == feed.id))
    session.delete(feed)
    session.flush()


def due_feed_ids(session: Session, moment: datetime, every: timedelta) -> list[int]:
    """Return the active feeds not checked for ``every``, the longest waiting first."""
    query = (
        sa.select(WatchedFeed.id)
        .where(WatchedFeed.active.is_(True))
        .where(sa.or_(WatchedFeed.last_checked_at.is_(None),
                      WatchedFeed.last_checked_at <= moment - every))
        .order_by(WatchedFeed.last_checked_at.is_not(None), WatchedFeed.last_checked_at)
    )  # fmt: skip
    return list(session.scalars(query))


def claim_feed(
    session: Session,
    feed_id: int,
    moment: datetime,
    *,
    lease: timedelta,
    due_before: datetime | None = None,
) -> FeedClaim | None:
    """Mark a check of the feed as started, once: None while another check holds it.

    The claim is a lease: ``checking_until`` is set to ``moment + lease`` (longer than a fetch
    may take), and no check is claimed before it lapses or the running check releases it, so a
    "Check now" during a scheduled check does not fetch the feed a second time. The update is
    also a compare-and-set on ``last_checked_at``: two schedulers (or a tick and a "Check now")
    that read the same value cannot both move it. ``due_before`` (the scheduler's) also skips a
    feed that was checked since it was found due. Raise ``NotFound`` if the feed is gone.
    """
    feed = get_feed(session, feed_id)
    seen = feed.last_checked_at
    if due_before is not None and seen is not None and seen > due_before:
        return None
    column = WatchedFeed.last_checked_at
    unchanged = column.is_(None) if seen is None else column == seen
    free = sa.or_(WatchedFeed.checking_until.is_(None), WatchedFeed.checking_until <= moment)
    until = moment + lease
    claimed = session.execute(
        sa.update(WatchedFeed)
        .where(WatchedFeed.id == feed_id, unchanged, free)
        .values(last_checked_at=moment, checking_until=until)
        .execution_options(synchronize_session=False)
    )
    if rowcount(claimed) != 1:
        return None
    return FeedClaim(feed.id, feed.url, feed.etag, feed.last_modified, until)


def release_feed(session: Session, claim: FeedClaim) -> None:
    """End the claim's lease, unless it lapsed and another check holds the feed now."""
    session.execute(
        sa.update(WatchedFeed)
        .where(WatchedFeed.id == claim.feed_id, WatchedFeed.checking_until == claim.until)
        .values(checking_until=None)
        .execution_options(synchronize_session=False)
    )


def record_failure(session: Session, feed_id: int, message: str) -> None:
    """Keep why the check failed; the next check tries again."""
    session.execute(
        sa.update(WatchedFeed).where(WatchedFeed.id == feed_id).values(last_error=message[:2000])
    )


def record_not_modified(session: Session, feed_id: int) -> None:
    """The server said the feed has not changed (304): nothing to do but clear the last error."""
    session.execute(sa.update(WatchedFeed).where(WatchedFeed.id == feed_id).values(last_error=""))


@dataclass(frozen=True, slots=True)
class Recorded:
    """What a check added: new items (all recorded) and the draft they made, if any."""

    new_items: int
    #: New items with a link, which a draft lists.
    linked: int
    issue: Issue | None
    first_check: bool


def record_entries(
    session: Session,
    feed_id: int,
    parsed: ParsedFeed,
    *,
    etag: str,
    last_modified: str,
    today: date,
    actor: Any = None,
) -> Recorded:
    """Record the feed's unseen entries; after the first check, draft an issue of them.

    The unique ``(feed_id, key_hash)`` makes this once-only: a check that overlaps another
    fails on insert and drafts nothing, rather than drafting the same items twice.
    """
    feed = get_feed(session, feed_id)
    feed.title, feed.etag, feed.last_modified, feed.last_error = (
        parsed.title, etag, last_modified, "",
    )  # fmt: skip
    fresh = _unseen(session, feed_id, parsed.entries[:MAX_ENTRIES])
    first_check = feed.primed_at is None
    issue = None
    draftable = [entry for entry in fresh if entry.link]
    if not first_check and 0 < len(draftable) <= MAX_DRAFT_ITEMS:
        issue = _draft(session, feed, draftable, today, actor)
    elif first_check:
        feed.primed_at = now()
    session.add_all(
        FeedItem(
            feed_id=feed_id,
            key_hash=key_hash(entry.key),
            title=entry.title,
            link=entry.link,
            first_seen_at=now(),
            issue_id=issue.id if issue is not None and entry.link else None,
        )
        for entry in fresh
    )
    session.flush()
    return Recorded(len(fresh), len(draftable), issue, first_check)


def _unseen(session: Session, feed_id: int, entries: tuple[FeedEntry, ...]) -> list[FeedEntry]:
    by_hash = {key_hash(entry.key): entry for entry in reversed(entries)}  # first one wins
    known = set(
        session.scalars(
            sa.select(FeedItem.key_hash).where(
                FeedItem.feed_id == feed_id, FeedItem.key_hash.in_(list(by_hash))
            )
        )
    )
    fresh = {digest: entry for digest, entry in by_hash.items() if digest not in known}
    return [entry for entry in entries if fresh.get(key_hash(entry.key)) is entry]


def _draft(
    session: Session, feed: WatchedFeed, entries: list[FeedEntry], today: date, actor: Any
) -> Issue:
    content = bulletin_content(feed.display_name, entries, today)
    issue = create_issue(session, content, topics=[feed.topic])
    feed.drafts_made += 1
    feed.last_issue_id = issue.id
    audit.record(session, actor, "feed.draft", issue, feed=feed.id, items=len(entries))
    return issue


def key_hash(key: str) -> str:
    """Return the stored form of an item's GUID or link."""
    return hashlib.sha256(key.encode("utf-8", "surrogatepass")).hexdigest()
