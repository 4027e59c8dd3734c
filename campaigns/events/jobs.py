"""Scheduled job bodies of the events package (named in the scheduler's job table)."""

from __future__ import annotations

from flask import Flask

from campaigns.events.webhook_batches import process_pending_batches
from engine.db import get_database
from engine.web import get_settings

#: Batches younger than this are most likely being processed by the web worker that took them.
SWEEP_MIN_AGE_SECONDS = 60


def process_pending_webhook_batches(app: Flask) -> None:
    """Finish webhook batches that a crashed or failing worker left pending."""
    process_pending_batches(
        get_database(app), get_settings(app), min_age_seconds=SWEEP_MIN_AGE_SECONDS
    )
