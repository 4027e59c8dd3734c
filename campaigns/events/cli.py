"""``pinwheel events …`` (SMTP bounces, pending webhook batches) and ``pinwheel reports …``."""

from __future__ import annotations

import json
import sys

import click

from campaigns.events.comparison import COMPARE_LIMIT, MAX_COMPARE, topic_comparison
from campaigns.events.dsn import ingest_dsn
from campaigns.events.guard import alert_staff
from campaigns.events.reports import Counts, campaign_report
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


reports_group = FeatureGroup("reports", help="Campaign reports and topic comparisons.")


@reports_group.command("campaign")
@click.argument("campaign_id", type=int)
@click.option("--json", "as_json", is_flag=True, help="Print JSON, the timeline included.")
def campaign_report_command(campaign_id: int, as_json: bool) -> None:
    """Show a campaign's counts and rates (the report page's summary)."""
    with get_database().session() as session:
        report = campaign_report(session, campaign_id, get_settings().TIMEZONE)
        document = report.as_json()
        metrics = report.counts.metrics()
        name = report.campaign.name
    if as_json:
        click.echo(json.dumps(document, indent=2))
        return
    click.echo(f"Campaign {campaign_id}: {name} ({document['status']})")
    for metric in metrics:
        rate = "" if metric.rate is None else f"  {metric.rate:7.2%} {metric.basis}"
        click.echo(f"  {metric.label:<36} {metric.value:>9,}{rate}")


@reports_group.command("topic")
@click.argument("slug")
@click.option(
    "--limit",
    type=click.IntRange(1, MAX_COMPARE),
    default=COMPARE_LIMIT,
    show_default=True,
    help="How many of the last sent campaigns to compare.",
)
@click.option("--json", "as_json", is_flag=True, help="Print JSON instead of a table.")
def topic_report_command(slug: str, limit: int, as_json: bool) -> None:
    """Compare a topic's last sent campaigns, newest first (the topic's report page)."""
    with get_database().session() as session:
        comparison = topic_comparison(session, slug, limit=limit)
        document = comparison.as_json()
        lines = [
            _comparison_line(row.campaign.id, row.campaign.name, row.counts)
            for row in comparison.rows
        ]
        total = _comparison_line(None, "All together", comparison.total)
    if as_json:
        click.echo(json.dumps(document, indent=2))
        return
    if not lines:
        click.echo(f"No campaign to {slug} has been sent yet.")
        return
    click.echo(
        f"{'id':>5}  {'campaign':<32} {'recipients':>10} {'delivered':>10} {'opens':>7} "
        f"{'clicks':>7} {'unsubs':>7} {'bounces':>7}"
    )
    click.echo("\n".join([*lines, total] if len(lines) > 1 else lines))


def _comparison_line(campaign_id: int | None, name: str, counts: Counts) -> str:
    return (
        f"{campaign_id or '':>5}  {name[:32]:<32} {counts.recipients:>10,} {counts.delivered:>10,} "
        f"{_percent(counts.open_rate):>7} {_percent(counts.click_rate):>7} "
        f"{counts.unsubscribes:>7,} {counts.bounced:>7,}"
    )


def _percent(rate: float | None) -> str:
    return "-" if rate is None else f"{rate:.1%}"
