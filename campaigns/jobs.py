"""The scheduler's job bodies (named in ``engine.scheduler.JOBS``): each owns its transactions."""

from __future__ import annotations

import logging
from datetime import timedelta

from flask import Flask

from campaigns.digests.runs import run_digest
from campaigns.feeds.checking import CheckOutcome, check_due_feeds
from campaigns.scheduling.recurring import (
    editor_addresses,
    notify_editors,
    prepare_recurring_drafts,
)
from campaigns.scheduling.rules import resolve_zone
from campaigns.scheduling.starting import (
    StartOutcome,
    due_campaign_ids,
    due_digest_windows,
    start_due_campaign,
)
from campaigns.scheduling.waves import release_due_waves
from campaigns.sending import dispatch as pipeline
from campaigns.welcome.delivering import send_pending_welcomes
from engine.clock import now
from engine.db import get_database
from engine.logs import bind_campaign
from engine.web import get_settings
from subscribers.housekeeping import purge_stale_signups as purge_signups

log = logging.getLogger("pinwheel.scheduler")


def dispatch_due_campaigns(app: Flask) -> None:
    """Start due campaigns (one transaction each), release due waves, get batches moving."""
    settings, database = get_settings(app), get_database(app)
    with database.session() as session:
        due = due_campaign_ids(session, now())
    for campaign_id in due:
        with database.session() as session:
            result = start_due_campaign(session, campaign_id, now(), settings)
        with bind_campaign(campaign_id):
            if result.outcome is StartOutcome.STARTED:
                log.info("scheduler started campaign %s", campaign_id)
                pipeline.dispatch_campaign(database, settings, campaign_id)
            elif result.outcome is StartOutcome.NEEDS_REVIEW:
                log.warning("campaign %s missed its send time: it needs review", campaign_id)
    with database.session() as session:
        released = release_due_waves(session, now())
    if released and settings.BROKER_URL:
        pipeline.enqueue_batches(database, settings, released)


def run_due_digests(app: Flask) -> None:
    """Run each digest window that has ended and not run yet (one transaction each)."""
    settings, database = get_settings(app), get_database(app)
    for window in due_digest_windows(settings, now()):
        try:
            with database.session() as session:
                run = run_digest(session, window, settings, started_by="scheduler")
                if run is None:
                    continue
                campaign_id = run.campaign_id
                log.info(
                    "digest %s to %s: %s bulletin(s), %s reader(s)",
                    window.frequency, window.end.isoformat(), run.bulletins, run.recipients,
                )  # fmt: skip
        except Exception:
            # Rolled back: the window stays unrun and the next tick tries again; the other
            # windows still go.
            log.exception("digest %s to %s failed", window.frequency, window.end.isoformat())
            continue
        if campaign_id is not None:
            with bind_campaign(campaign_id):
                pipeline.dispatch_campaign(database, settings, campaign_id)


def recover_stale_work(app: Flask) -> None:
    """Take back expired batch claims and retry due failures (the pipeline's recovery)."""
    requeued = pipeline.recover_and_dispatch(get_database(app), get_settings(app))
    if requeued:
        log.info("recovery requeued %s batch(es)", requeued)


def prepare_recurring_campaigns(app: Flask) -> None:
    """Clone this year's drafts of annual series whose day has come, then tell the editors."""
    settings, database = get_settings(app), get_database(app)
    today = now().astimezone(resolve_zone(settings.TIMEZONE)).date()
    with database.session() as session:
        drafts = prepare_recurring_drafts(session, today)
        addresses = editor_addresses(session)
    if drafts:
        log.info("prepared %s recurring draft(s)", len(drafts))
        notify_editors(settings, addresses, drafts)


def purge_stale_signups(app: Flask) -> None:
    """Delete sign-ups left unconfirmed for longer than ``UNCONFIRMED_RETENTION_DAYS``."""
    settings = get_settings(app)
    cutoff = now() - timedelta(days=settings.UNCONFIRMED_RETENTION_DAYS)
    with get_database(app).session() as session:
        report = purge_signups(session, created_before=cutoff)
    if report.subscribers or report.subscriptions:
        log.info(
            "purged %s unconfirmed subscriber(s), %s subscription(s)",
            report.subscribers,
            report.subscriptions,
        )


def check_watched_feeds(app: Flask) -> None:
    """Check the watched feeds that are due; new items become draft issues, never sends."""
    results = check_due_feeds(get_database(app), get_settings(app))
    for result in results:
        if result.outcome is CheckOutcome.DRAFTED:
            log.info("feed %s made draft issue %s", result.feed_id, result.issue_id)
        elif result.outcome is CheckOutcome.FAILED:
            log.warning("feed %s check failed: %s", result.feed_id, result.message)


def send_welcome_emails(app: Flask) -> None:
    """Welcome the newcomers whose subscriptions were confirmed (each recorded, then sent)."""
    run = send_pending_welcomes(get_database(app), get_settings(app))
    if run.sent or run.retrying or run.failed:
        log.info(
            "welcome emails: %s sent, %s to retry, %s failed", run.sent, run.retrying, run.failed
        )
