"""``pinwheel campaigns …`` and ``pinwheel worker``: thin adapters over the sending services."""

from __future__ import annotations

import json
import sys
import threading
import time

import click
import sqlalchemy as sa
from flask import Flask

from campaigns.issues.models import Issue
from campaigns.sending import proofs
from campaigns.sending.dispatch import dispatch_campaign, recover_and_dispatch, run_campaign
from campaigns.sending.progress import Progress, campaign_progress, list_campaigns
from campaigns.sending.progress import uncertain_recipients as list_uncertain
from campaigns.sending.recovery import resend_uncertain
from campaigns.sending.service import (
    cancel_campaign,
    create_campaign,
    get_campaign,
    pause_campaign,
    resume_campaign,
)
from campaigns.sending.worker import run_worker
from engine.cli import FeatureGroup, fail
from engine.config import Settings
from engine.db import Database, get_database
from engine.executor import Executor, relax_garbage_collection
from engine.web import get_settings
from subscribers.models import Topic

group = FeatureGroup("campaigns", help="Campaigns: create, send, watch and recover.")
POLL_SECONDS = 0.5


@group.command("list")
@click.option("--json", "as_json", is_flag=True, help="Print JSON instead of a table.")
def list_command(as_json: bool) -> None:
    """List campaigns, newest first."""
    with get_database().session() as session:
        rows = list_campaigns(session)
    if as_json:
        click.echo(json.dumps([row.as_json() for row in rows], indent=2))
        return
    for row in rows:
        send_at = row.send_at.strftime("%Y-%m-%d %H:%M") if row.send_at else "-"
        click.echo(
            f"{row.id:>5}  {row.status:<12} {send_at:<16} {row.recipients:>8}  {row.issue_title}"
        )


@group.command("create")
@click.argument("issue_id", type=int)
@click.option(
    "--topic",
    "topics",
    multiple=True,
    help="Topic slug (repeatable; required except for a correction, which takes its own).",
)
@click.option("--name", default=None, help="Campaign name (default: the issue's title).")
@click.option(
    "--include-uncertain",
    is_flag=True,
    help="A correction: also send it to the original's uncertain recipients.",
)
def create_command(
    issue_id: int, topics: tuple[str, ...], name: str | None, include_uncertain: bool
) -> None:
    """Create a draft campaign that freezes the issue's current revision.

    A correction's campaign goes to the people its original was accepted for.
    """
    with get_database().session() as session:
        issue = session.get(Issue, issue_id)
        if issue is None:
            fail(f"There is no issue {issue_id}.")
        if not topics and issue.correction_of_id is None:
            fail("Name at least one topic with --topic.")
        found = list(session.scalars(sa.select(Topic).where(Topic.slug.in_(topics))))
        missing = sorted(set(topics) - {topic.slug for topic in found})
        if missing:
            fail(f"Unknown topic(s): {', '.join(missing)}.")
        campaign = create_campaign(
            session,
            issue,
            found,
            name=name,
            settings=get_settings(),
            include_uncertain=include_uncertain,
        )
        click.echo(f"Created campaign {campaign.id} ({campaign.name}).")


@group.command("status")
@click.argument("campaign_id", type=int)
@click.option("--json", "as_json", is_flag=True, help="Print JSON.")
def status_command(campaign_id: int, as_json: bool) -> None:
    """Show how far a campaign got: deliveries per state, rate and ETA."""
    with get_database().session() as session:
        progress = campaign_progress(session, campaign_id)
    if as_json:
        click.echo(json.dumps(progress.as_json(), indent=2))
        return
    click.echo(_summary(progress))
    for state, count in progress.counts.items():
        if count:
            click.echo(f"  {state:<17} {count:>9}")


@group.command("pause")
@click.argument("campaign_id", type=int)
def pause_command(campaign_id: int) -> None:
    """Pause a sending campaign before its next batch."""
    with get_database().session() as session:
        pause_campaign(session, campaign_id)
    click.echo(f"Campaign {campaign_id} paused.")


@group.command("resume")
@click.argument("campaign_id", type=int)
def resume_command(campaign_id: int) -> None:
    """Resume a paused campaign and deliver the rest."""
    with get_database().session() as session:
        resume_campaign(session, campaign_id, approval_threshold=get_settings().APPROVAL_THRESHOLD)
    click.echo(f"Campaign {campaign_id} resumed.")
    deliver(campaign_id)


@group.command("cancel")
@click.argument("campaign_id", type=int)
def cancel_command(campaign_id: int) -> None:
    """Cancel a campaign; nothing more of it is sent."""
    with get_database().session() as session:
        cancel_campaign(session, campaign_id)
    click.echo(f"Campaign {campaign_id} cancelled.")


@group.command("uncertain")
@click.argument("campaign_id", type=int)
@click.option("--json", "as_json", is_flag=True, help="Print JSON.")
def uncertain_command(campaign_id: int, as_json: bool) -> None:
    """List recipients who may or may not have received the campaign after a crash."""
    with get_database().session() as session:
        rows = list_uncertain(session, campaign_id)
    if as_json:
        click.echo(
            json.dumps(
                [
                    {
                        "delivery_id": r.delivery_id,
                        "subscriber_id": r.subscriber_id,
                        "address": r.address,
                    }
                    for r in rows
                ],
                indent=2,
            )
        )
        return
    for row in rows:
        click.echo(f"{row.delivery_id:>9}  {row.address}")
    click.echo(f"{len(rows)} uncertain recipient(s).", err=True)


@group.command("resend-uncertain")
@click.argument("campaign_id", type=int)
def resend_uncertain_command(campaign_id: int) -> None:
    """Send the uncertain recipients again (some may receive two copies)."""
    with get_database().session() as session:
        count = resend_uncertain(
            session, campaign_id, approval_threshold=get_settings().APPROVAL_THRESHOLD
        )
    click.echo(f"{count} uncertain recipient(s) queued again.")
    if count:
        deliver(campaign_id)


@group.command("test-send")
@click.argument("campaign_id", type=int)
@click.option("--to", "addresses", multiple=True, required=True, help="Address (repeatable).")
def test_send_command(campaign_id: int, addresses: tuple[str, ...]) -> None:
    """Send a [Test] copy to a few addresses; the campaign itself is untouched."""
    with get_database().session() as session:
        campaign = get_campaign(session, campaign_id)
        results = proofs.test_send(session, campaign, addresses, settings=get_settings())
    for address, result in zip(addresses, results, strict=False):
        click.echo(f"{address}: {result.status}{f' ({result.error})' if result.error else ''}")


def deliver(campaign_id: int) -> None:
    """Get a started campaign's batches moving: queued for workers, or sent here with a bar."""
    settings = get_settings()
    database = get_database()
    executor = dispatch_campaign(database, settings, campaign_id, background=False)
    if executor is None:
        click.echo(f"Batches of campaign {campaign_id} queued for the workers.")
        return
    with executor.stop_on_signals():
        _run_with_progress(database, settings, campaign_id, executor)
    with database.session() as session:
        click.echo(_summary(campaign_progress(session, campaign_id)))


def _run_with_progress(
    database: Database, settings: Settings, campaign_id: int, executor: Executor
) -> None:
    from rich.progress import BarColumn, MofNCompleteColumn, TimeRemainingColumn
    from rich.progress import Progress as Bar

    thread = threading.Thread(
        target=run_campaign, args=(database, settings, campaign_id, executor), daemon=True
    )
    thread.start()
    columns = ("{task.description}", BarColumn(), MofNCompleteColumn(), TimeRemainingColumn())
    with Bar(*columns, disable=not sys.stdout.isatty()) as bar:
        task = bar.add_task(f"Campaign {campaign_id}", total=None)
        while thread.is_alive():
            thread.join(POLL_SECONDS)
            with database.session() as session:
                progress = campaign_progress(session, campaign_id)
            bar.update(task, total=progress.recipients, completed=progress.done)
    # Make sure SIGTERM during the join still finishes the batch in hand.
    while thread.is_alive():
        time.sleep(POLL_SECONDS)


def _summary(progress: Progress) -> str:
    line = (
        f"Campaign {progress.campaign_id}: {progress.status}, "
        f"{progress.counts['accepted']}/{progress.recipients} sent, "
        f"{progress.failures} failed, {progress.counts['uncertain']} uncertain"
    )
    if progress.rate:
        line += f", {progress.rate:.0f} msg/s"
    if progress.paused_reason and progress.status == "paused":
        line += f" — {progress.paused_reason}"
    return line


@click.command("worker")
@click.option(
    "--concurrency",
    type=click.IntRange(min=1),
    default=None,
    help="Batches sent at once: Celery pool processes with a broker, threads without "
    "(default PINWHEEL_WORKER_THREADS).",
)
@click.option("--threads", type=click.IntRange(min=1), default=None, hidden=True)
@click.option(
    "--once", is_flag=True, help="Exit when no sending campaign has work left (no broker only)."
)
def worker_command(concurrency: int | None, threads: int | None, once: bool) -> None:
    """Deliver send batches: a Celery worker with a broker, otherwise an in-process pool.

    SIGTERM finishes the batches in flight, leaves the rest queued for other workers, and
    exits 0.
    """
    # --threads is the option's first name, kept for existing units and scripts.
    if concurrency and threads and concurrency != threads:
        fail("--threads is the old name of --concurrency: give one of them.")
    settings = get_settings()
    if once and settings.BROKER_URL:
        fail("--once works without a broker only: a Celery worker runs until it is stopped.")
    size = concurrency or threads or settings.WORKER_THREADS
    relax_garbage_collection()
    if settings.BROKER_URL:
        from engine.celery_app import run_worker as run_celery_worker

        recover_and_dispatch(get_database(), settings)
        run_celery_worker(settings, concurrency=size)
        return
    run_worker(get_database(), settings, once=once, threads=size)


def init_app(app: Flask) -> None:
    """Register ``pinwheel campaigns`` and ``pinwheel worker``."""
    app.cli.add_command(group)
    app.cli.add_command(worker_command)
