"""``pinwheel feeds …``: add, list, check and remove watched feeds."""

from __future__ import annotations

import json
from typing import Any

import click
from flask import Flask

from campaigns.feeds.checking import CheckOutcome, FeedCheck, check_due_feeds, check_feed
from campaigns.feeds.egress import AddressPolicy
from campaigns.feeds.models import WatchedFeed
from campaigns.feeds.service import add_feed, get_feed, list_feeds, remove_feed
from engine.api.fields import MAX_ID
from engine.cli import FeatureGroup
from engine.db import get_database
from engine.web import get_settings

group = FeatureGroup("feeds", help="Watched RSS and Atom feeds whose new items become drafts.")


def _summary(feed: WatchedFeed) -> dict[str, Any]:
    return {
        "id": feed.id,
        "url": feed.url,
        "title": feed.title,
        "topic": feed.topic.slug,
        "active": feed.active,
        "last_checked_at": feed.last_checked_at.isoformat() if feed.last_checked_at else None,
        "last_error": feed.last_error,
        "drafts_made": feed.drafts_made,
        "last_issue_id": feed.last_issue_id,
    }


@group.command("add")
@click.argument("url")
@click.option("--topic", "topic_slug", required=True, help="Slug of the topic drafts are for.")
@click.option("--no-check", is_flag=True, help="Do not run the first check now.")
def add_command(url: str, topic_slug: str, no_check: bool) -> None:
    """Watch the feed at URL; the first check records the items already there."""
    settings = get_settings()
    policy = AddressPolicy.from_setting(settings.FEED_ALLOWED_HOSTS)
    with get_database().session() as session:
        feed = add_feed(session, url, topic_slug, policy=policy, actor="cli")
        feed_id, topic_name = feed.id, feed.topic.name
    click.echo(f"Watching feed {feed_id} for {topic_name}: {url.strip()}")
    if not no_check:
        _report(check_feed(get_database(), settings, feed_id, actor="cli"))


@group.command("list")
@click.option("--json", "as_json", is_flag=True, help="Print JSON instead of a table.")
def list_command(as_json: bool) -> None:
    """List watched feeds."""
    with get_database().session() as session:
        rows = [_summary(feed) for feed in list_feeds(session)]
    if as_json:
        click.echo(json.dumps(rows, indent=2))
        return
    if not rows:
        click.echo("No feeds are watched yet: pinwheel feeds add URL --topic SLUG")
    for row in rows:
        state = "paused" if not row["active"] else ("failing" if row["last_error"] else "active")
        checked = row["last_checked_at"] or "never checked"
        click.echo(
            f"{row['id']:>4}  {state:<8} {row['topic']:<28} {row['drafts_made']:>3} draft(s)  "
            f"{checked}  {row['url']}"
        )
        if row["last_error"]:
            click.echo(f"      last error: {row['last_error']}")


@group.command("check")
@click.option("--id", "feed_id", type=click.IntRange(1, MAX_ID), default=None,
              help="Check this feed now (default: every active feed that is due).")  # fmt: skip
@click.option("--json", "as_json", is_flag=True, help="Print the results as JSON.")
def check_command(feed_id: int | None, as_json: bool) -> None:
    """Check feeds now: new items make one draft issue per feed."""
    database, settings = get_database(), get_settings()
    if feed_id is not None:
        with database.session() as session:
            get_feed(session, feed_id)
        results = [check_feed(database, settings, feed_id, actor="cli")]
    else:
        results = check_due_feeds(database, settings)
    if as_json:
        click.echo(json.dumps([result.as_json() for result in results], indent=2))
    elif not results:
        click.echo("No feed is due for a check.")
    for result in results if not as_json else ():
        _report(result)
    if feed_id is not None and results[0].outcome is CheckOutcome.FAILED:
        raise SystemExit(1)


def _report(result: FeedCheck) -> None:
    prefix = f"Feed {result.feed_id}: "
    if result.outcome is CheckOutcome.FAILED:
        click.echo(f"{prefix}the check failed: {result.message}", err=True)
    elif result.issue_id is not None:
        click.echo(f"{prefix}{result.message} Draft issue {result.issue_id}.")
    else:
        click.echo(f"{prefix}{result.message}")


@group.command("remove")
@click.argument("feed_id", type=click.IntRange(1, MAX_ID))
def remove_command(feed_id: int) -> None:
    """Stop watching a feed; the drafts it made stay."""
    with get_database().session() as session:
        feed = get_feed(session, feed_id)
        url = feed.url
        remove_feed(session, feed, actor="cli")
    click.echo(f"Stopped watching feed {feed_id} ({url}).")


def init_app(app: Flask) -> None:
    """Register the ``feeds`` command group."""
    app.cli.add_command(group)
