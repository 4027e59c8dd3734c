"""One check of a feed: claim, fetch, record, each step in its own short transaction.

No transaction is open while the feed's server answers (up to ``FEED_TIMEOUT_SECONDS``): on
SQLite an open write would hold every other writer up that long. The scheduler, "Check now",
the API and the CLI all run a check through :func:`check_feed`.
"""

from __future__ import annotations

import logging
import zoneinfo
from dataclasses import dataclass
from datetime import timedelta
from enum import StrEnum
from typing import Any

import sqlalchemy as sa

from campaigns.feeds.egress import AddressPolicy
from campaigns.feeds.fetching import FeedUnavailable, FetchLimits, fetch_feed
from campaigns.feeds.parsing import FeedUnreadable, parse_feed
from campaigns.feeds.service import (
    MAX_DRAFT_ITEMS,
    FeedClaim,
    Recorded,
    claim_feed,
    due_feed_ids,
    record_entries,
    record_failure,
    record_not_modified,
    release_feed,
)
from engine.clock import now
from engine.config import Settings
from engine.db import Database
from engine.errors import NotFound

log = logging.getLogger("pinwheel.feeds")


class CheckOutcome(StrEnum):
    FIRST_CHECK = "first_check"
    DRAFTED = "drafted"
    NOTHING_NEW = "nothing_new"
    NOT_MODIFIED = "not_modified"
    FAILED = "failed"
    BUSY = "busy"


#: How much longer than its fetch a check may hold its claim: parsing, recording, drafting.
LEASE_SLACK = timedelta(seconds=60)
_UNEXPECTED = "The check failed unexpectedly; see the logs."


@dataclass(frozen=True, slots=True)
class FeedCheck:
    """What one check of a feed did."""

    feed_id: int
    outcome: CheckOutcome
    #: What happened, in plain words, for a flash message or a CLI line.
    message: str
    issue_id: int | None = None
    new_items: int = 0

    def as_json(self) -> dict[str, Any]:
        return {
            "feed_id": self.feed_id,
            "outcome": str(self.outcome),
            "message": self.message,
            "issue_id": self.issue_id,
            "new_items": self.new_items,
        }


def check_feed(
    database: Database,
    settings: Settings,
    feed_id: int,
    *,
    actor: Any = None,
    every: timedelta | None = None,
) -> FeedCheck:
    """Check one feed now (``every``: only if it was not checked for that long).

    Raise ``NotFound`` if the feed is not (or no longer) watched. Any other error is the
    check's: it is logged, kept as the feed's last error, and the result says it failed.
    """
    moment = now()
    lease = timedelta(seconds=settings.FEED_TIMEOUT_SECONDS) + LEASE_SLACK
    with database.session() as session:
        due_before = moment - every if every is not None else None
        claim = claim_feed(session, feed_id, moment, lease=lease, due_before=due_before)
    if claim is None:
        return FeedCheck(feed_id, CheckOutcome.BUSY, "The feed is being checked already.")
    try:
        return _run(database, settings, claim, actor)
    except NotFound:
        raise  # removed while it was being checked
    except sa.exc.IntegrityError:
        # A check whose lease lapsed recorded the same items first (the unique item key).
        with database.session() as session:
            release_feed(session, claim)
        return FeedCheck(feed_id, CheckOutcome.BUSY, "Another check recorded these items first.")
    except Exception:
        log.exception("checking feed %s failed", feed_id)
        _end(database, claim, _UNEXPECTED)
        return FeedCheck(feed_id, CheckOutcome.FAILED, _UNEXPECTED)


def _run(database: Database, settings: Settings, claim: FeedClaim, actor: Any) -> FeedCheck:
    feed_id = claim.feed_id
    try:
        fetched = fetch_feed(
            claim.url,
            etag=claim.etag,
            last_modified=claim.last_modified,
            policy=AddressPolicy.from_setting(settings.FEED_ALLOWED_HOSTS),
            limits=limits_from(settings),
        )
        parsed = parse_feed(fetched.body, url=claim.url) if fetched.body is not None else None
    except (FeedUnavailable, FeedUnreadable) as error:
        _end(database, claim, str(error))
        return FeedCheck(feed_id, CheckOutcome.FAILED, str(error))
    with database.session() as session:
        release_feed(session, claim)
        if parsed is None:
            record_not_modified(session, feed_id)
            return FeedCheck(
                feed_id, CheckOutcome.NOT_MODIFIED, "The feed has not changed since last time."
            )
        recorded = record_entries(
            session,
            feed_id,
            parsed,
            etag=fetched.etag,
            last_modified=fetched.last_modified,
            today=now().astimezone(zoneinfo.ZoneInfo(settings.TIMEZONE)).date(),
            actor=actor,
        )
    return _result(feed_id, recorded)


def _end(database: Database, claim: FeedClaim, error: str) -> None:
    with database.session() as session:
        release_feed(session, claim)
        record_failure(session, claim.feed_id, error)


def _result(feed_id: int, recorded: Recorded) -> FeedCheck:
    count = recorded.new_items
    if recorded.first_check:
        message = (
            f"First check: recorded the {count} item{'s' if count != 1 else ''} already in the "
            "feed; items published from now on become a draft."
        )
        return FeedCheck(feed_id, CheckOutcome.FIRST_CHECK, message, new_items=count)
    if recorded.issue is not None:
        message = f"{_items(recorded.linked)} made a draft issue for review."
        return FeedCheck(
            feed_id, CheckOutcome.DRAFTED, message, issue_id=recorded.issue.id, new_items=count
        )
    if recorded.linked > MAX_DRAFT_ITEMS:
        message = (
            f"{_items(count)} at once, more than the {MAX_DRAFT_ITEMS} a draft lists: recorded "
            "without a draft."
        )
    elif count:
        message = f"{_items(count)} without a web link: recorded, nothing to draft."
    else:
        message = "No new items."
    return FeedCheck(feed_id, CheckOutcome.NOTHING_NEW, message, new_items=count)


def _items(count: int) -> str:
    return f"{count} new item{'s' if count != 1 else ''}" if count else "No items"


def limits_from(settings: Settings) -> FetchLimits:
    """Return the fetch limits a deployment set."""
    return FetchLimits(
        timeout_seconds=float(settings.FEED_TIMEOUT_SECONDS),
        max_bytes=settings.FEED_MAX_BYTES,
        user_agent=f"Pinwheel feed reader (+{settings.BASE_URL})",
    )


def check_due_feeds(database: Database, settings: Settings) -> list[FeedCheck]:
    """Check every active feed not checked for ``FEED_CHECK_MINUTES``, each on its own.

    A feed that fails keeps its error and the others go on; one removed since it was found due
    is skipped.
    """
    every = timedelta(minutes=settings.FEED_CHECK_MINUTES)
    with database.session() as session:
        due = due_feed_ids(session, now(), every)
    results = []
    for feed_id in due:
        try:
            results.append(check_feed(database, settings, feed_id, every=every))
        except NotFound:
            continue
        except Exception:  # the claim itself failed (the check's own errors are its result)
            log.exception("claiming feed %s failed", feed_id)
    return results
