"""``pinwheel digests``: list digest runs (``run`` is added by ``campaigns.scheduling``)."""

from __future__ import annotations

import click
from flask import Flask

from campaigns.digests.reports import list_runs
from engine.cli import FeatureGroup
from engine.db import get_database

group = FeatureGroup("digests", help="Daily and weekly digests: run a window, list runs.")


@group.command("list")
@click.option("--limit", type=click.IntRange(1, 1000), default=20, show_default=True)
def list_command(limit: int) -> None:
    """List the newest digest runs: window, bulletins, readers and their campaign."""
    with get_database().session() as session:
        for run in list_runs(session, limit=limit):
            campaign = f"campaign {run.campaign_id}" if run.campaign_id else "nothing to send"
            click.echo(
                f"{run.id}\t{run.frequency}\t{run.window_start.isoformat()} → "
                f"{run.window_end.isoformat()}\t{run.bulletins} bulletin(s)\t"
                f"{run.recipients} reader(s)\t{campaign}"
            )


def init_app(app: Flask) -> None:
    """Register ``pinwheel digests``."""
    app.cli.add_command(group)
