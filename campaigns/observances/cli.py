"""``pinwheel observances …`` and ``pinwheel campaigns schedule``: thin adapters."""

from __future__ import annotations

import json
from datetime import datetime
from typing import Any

import click

from campaigns.observances.catalogue import Occurrence
from campaigns.observances.service import occurrences_in_year
from campaigns.recurring import create_series
from campaigns.schedule import describe_schedule, schedule_at, schedule_for_observance
from engine.cli import FeatureGroup, fail
from engine.clock import now
from engine.db import get_database
from engine.web import get_settings

group = FeatureGroup("observances", help="Awareness observances and annual series.")


@group.command("list")
@click.option("--year", type=click.IntRange(1900, 2200), default=None, help="Default: this year.")
@click.option("--json", "as_json", is_flag=True, help="Print JSON instead of a table.")
def list_command(year: int | None, as_json: bool) -> None:
    """List observances (shipped and staff-defined) with their window in a year."""
    chosen = year or now().year
    with get_database().session() as session:
        occurrences = occurrences_in_year(session, chosen)
    if as_json:
        click.echo(json.dumps([_as_json(o) for o in occurrences], indent=2))
        return
    for occurrence in occurrences:
        w = occurrence.window
        span = f"{w.start:%b %d}" if w.days == 1 else f"{w.start:%b %d} to {w.end:%b %d}"
        click.echo(f"{span:<17} {occurrence.observance.slug:<45} {occurrence.observance.name}")


def _as_json(occurrence: Occurrence) -> dict[str, Any]:
    observance, window = occurrence.observance, occurrence.window
    return {
        "slug": observance.slug,
        "name": observance.name,
        "kind": observance.kind.value,
        "source": observance.source.value,
        "region": observance.region,
        "topic": observance.topic,
        "colour": observance.colour,
        "start": window.start.isoformat(),
        "end": window.end.isoformat(),
        "days": window.days,
    }


@group.command("add-series")
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
    zone = tz or get_settings().TIMEZONE
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
                local_time_zones=local_time_zones,
            )
        else:
            campaign = schedule_for_observance(
                session,
                campaign_id,
                observance=observance or "",
                now=now(),
                tz=zone,
                rule=rule or "first-business-day 10:00",
                year=year,
                skip_weekends=skip_weekends,
                skip_holidays=skip_holidays,
                local_time_zones=local_time_zones,
            )
        click.echo(f"Campaign {campaign_id} scheduled: {describe_schedule(campaign)}.")


def _parse_local(text: str) -> datetime:
    try:
        return datetime.fromisoformat(text)
    except ValueError:
        fail(f"--at {text!r} is not a date and time like 2027-01-04T10:00.")
