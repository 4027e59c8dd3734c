"""``pinwheel campaigns send|schedule`` and ``pinwheel observances add-series``: thin adapters."""

from __future__ import annotations

from datetime import datetime

import click
from flask import Flask

from campaigns.digests.cli import group as digests_group
from campaigns.digests.runs import run_digest
from campaigns.digests.windows import (
    RUN_DELAY,
    check_frequency,
    check_weekday,
    check_window_ended,
    latest_window,
    parse_window_end,
)
from campaigns.observances.cli import group as observances_group
from campaigns.scheduling.recurring import create_series
from campaigns.scheduling.service import describe_schedule, schedule_at, schedule_for_observance
from campaigns.scheduling.starting import send_now
from campaigns.sending.cli import deliver
from campaigns.sending.cli import group as campaigns_group
from engine.cli import fail
from engine.clock import now
from engine.db import get_database
from engine.web import get_settings


@click.command("add-series")
@click.argument("observance")
@click.option("--issue", "issue_id", type=int, required=True, help="Issue to clone each year.")
@click.option("--weeks-before", type=int, default=6, show_default=True)
@click.option("--topic", "topics", multiple=True, help="Topic slug (repeatable).")
@click.option("--rule", default="first-business-day 10:00", show_default=True)
def add_series_command(
    observance: str, issue_id: int, weeks_before: int, topics: tuple[str, ...], rule: str
) -> None:
    """Make an annual series: a draft cloned from the last issue, weeks before the window."""
    with get_database().session() as session:
        series = create_series(
            session,
            observance_slug=observance,
            source_issue_id=issue_id,
            weeks_before=weeks_before,
            topics=topics,
            rule=rule,
        )
        click.echo(f"Created series {series.id} for {observance}.")


@click.command("schedule")
@click.argument("campaign_id", type=int)
@click.option("--at", "at_text", help="Local time, e.g. 2027-01-04T10:00.")
@click.option("--tz", default=None, help="IANA time zone (default: PINWHEEL_TIMEZONE).")
@click.option("--observance", default=None, help="Observance slug.")
@click.option("--rule", default=None, help="Send rule, e.g. 'first-business-day 10:00'.")
@click.option("--year", type=click.IntRange(1900, 2200), default=None)
@click.option("--skip-weekends", is_flag=True)
@click.option("--skip-holidays", is_flag=True)
@click.option("--local-time-zones", is_flag=True, help="Send at that time in each reader's zone.")
def schedule_command(
    campaign_id: int,
    at_text: str | None,
    tz: str | None,
    observance: str | None,
    rule: str | None,
    year: int | None,
    skip_weekends: bool,
    skip_holidays: bool,
    local_time_zones: bool,
) -> None:
    """Schedule a campaign at a local time, or by an observance and a send rule."""
    if (at_text is None) == (observance is None):
        fail("Give exactly one of --at and --observance.")
    settings = get_settings()
    zone = tz or settings.TIMEZONE
    with get_database().session() as session:
        if at_text is not None:
            if rule or year or skip_weekends or skip_holidays:
                fail("--rule, --year and the skip options go with --observance, not --at.")
            campaign = schedule_at(
                session,
                campaign_id,
                _parse_local(at_text),
                zone,
                now=now(),
                approval_threshold=settings.APPROVAL_THRESHOLD,
                local_time_zones=local_time_zones,
            )
        else:
            campaign = schedule_for_observance(
                session,
                campaign_id,
                observance=observance or "",
                now=now(),
                approval_threshold=settings.APPROVAL_THRESHOLD,
                tz=zone,
                rule=rule or "first-business-day 10:00",
                year=year,
                skip_weekends=skip_weekends,
                skip_holidays=skip_holidays,
                local_time_zones=local_time_zones,
            )
        click.echo(f"Campaign {campaign_id} scheduled: {describe_schedule(campaign)}.")


@click.command("send")
@click.argument("campaign_id", type=int)
def send_command(campaign_id: int) -> None:
    """Start a campaign now and deliver it (or queue its batches when a broker is set)."""
    with get_database().session() as session:
        campaign = send_now(session, campaign_id, get_settings())
        click.echo(f"Campaign {campaign_id} started: {campaign.recipients} recipients.")
    deliver(campaign_id)


@click.command("run")
@click.option("--frequency", required=True, help="daily or weekly.")
@click.option(
    "--window-end",
    default=None,
    help="Run the window that ended last by this ISO time in the past (local to the "
    "organisation's zone without an offset); default: the last window that ended at least "
    "15 minutes ago.",
)
def run_digest_command(frequency: str, window_end: str | None) -> None:
    """Send a digest window now (once: a window that already ran sends nothing)."""
    settings = get_settings()
    at = parse_window_end(window_end, settings.TIMEZONE) if window_end else now() - RUN_DELAY
    weekday = check_weekday(settings.DIGEST_WEEKDAY)
    chosen = check_frequency(frequency)
    if at > now():
        fail("The window end is in the future; give one in the past.")
    window = latest_window(chosen, at, settings.TIMEZONE, weekday)
    check_window_ended(window, now())
    span = f"{window.local_start:%Y-%m-%d %H:%M} to {window.local_end:%Y-%m-%d %H:%M %Z}"
    with get_database().session() as session:
        run = run_digest(session, window, settings, started_by="cli")
        if run is None:
            click.echo(f"The {window.frequency} digest of {span} already ran: nothing sent.")
            return
        campaign_id, bulletins, readers = run.campaign_id, run.bulletins, run.recipients
    click.echo(f"{window.frequency.capitalize()} digest of {span}: {bulletins} bulletin(s), "
               f"{readers} reader(s).")  # fmt: skip
    if campaign_id is not None:
        deliver(campaign_id)


def _parse_local(text: str) -> datetime:
    try:
        return datetime.fromisoformat(text)
    except ValueError:
        fail(f"--at {text!r} is not a date and time like 2027-01-04T10:00.")


def init_app(app: Flask) -> None:
    """Add the commands to the ``campaigns`` and ``observances`` groups."""
    for command in (send_command, schedule_command):
        campaigns_group.add_command(command)
    observances_group.add_command(add_series_command)
    digests_group.add_command(run_digest_command)
