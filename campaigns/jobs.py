"""The scheduler's job bodies (named in ``engine.scheduler.JOBS``): each owns its transactions."""

from __future__ import annotations

import logging
from datetime import timedelta

from flask import Flask

from campaigns.scheduling.recurring import (
    editor_addresses,
    notify_editors,
    prepare_recurring_drafts,
)
from campaigns.scheduling.rules import resolve_zone
from campaigns.scheduling.starting import StartOutcome, due_campaign_ids, start_due_campaign
from campaigns.scheduling.waves import release_due_waves
from campaigns.sending import dispatch as pipeline
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
