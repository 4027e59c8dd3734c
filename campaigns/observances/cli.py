"""``pinwheel observances list``: the observance calendar (series commands: ``scheduling.cli``)."""

from __future__ import annotations

import json
from typing import Any

import click

from campaigns.observances.catalogue import Occurrence
from campaigns.observances.service import occurrences_in_year
from engine.cli import FeatureGroup
from engine.clock import now
from engine.db import get_database

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
