"""``pinwheel events …``: ingest SMTP bounces and finish pending webhook batches."""

from __future__ import annotations

import sys

import click

from campaigns.events.dsn import ingest_dsn
from campaigns.events.guard import alert_staff
from campaigns.events.webhook_batches import process_pending_batches
from engine.cli import FeatureGroup, fail
from engine.db import get_database
from engine.web import get_settings

events_group = FeatureGroup("events", help="Delivery events, bounces and suppression.")


@events_group.command("ingest-dsn")
@click.argument("file", required=False, type=click.Path(dir_okay=False, allow_dash=True))
def ingest_dsn_command(file: str | None) -> None:
    """Read one bounce message (RFC 3464) from FILE or standard input and act on it."""
    raw = _read(file)
    settings = get_settings()
    with get_database().session() as session:
        outcome = ingest_dsn(session, settings, raw)
    if outcome.trips:
        with get_database().session() as session:
            alert_staff(session, settings, outcome.trips)
    result = outcome.result
    click.echo(
        f"{result.stored} new event(s), {result.duplicates} already known, "
        f"{result.ignored} ignored; {result.suppressed} address(es) suppressed."
    )


def _read(file: str | None) -> bytes:
    if file is None or file == "-":
        return sys.stdin.buffer.read()
    try:
        with open(file, "rb") as handle:
            return handle.read()
    except OSError as error:
        fail(f"Cannot read {file}: {error.strerror}.")


@events_group.command("process")
def process_command() -> None:
    """Process webhook batches left pending by a crash or a failure."""
    done = process_pending_batches(get_database(), get_settings())
    click.echo(f"Processed {done} pending webhook batch(es).")
