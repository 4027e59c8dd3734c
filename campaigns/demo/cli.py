"""``pinwheel demo``: load the demo content into an empty database."""

from __future__ import annotations

import click
import sqlalchemy as sa

from campaigns.demo.loader import DEMO_ADMIN, DEMO_PASSWORD, load_demo
from campaigns.issues.models import Issue
from engine.cli import fail
from engine.db import get_database
from engine.web import get_settings


@click.command("demo")
@click.option("--if-empty", is_flag=True, help="Do nothing when the database already has issues.")
def demo_command(if_empty: bool) -> None:
    """Load the demo content (topics, 50 subscribers, an issue and a campaign)."""
    settings = get_settings()
    password = settings.ADMIN_PASSWORD or DEMO_PASSWORD
    with get_database().session() as session:
        if session.scalar(sa.select(sa.func.count()).select_from(Issue)):
            if if_empty:
                click.echo(
                    f"Demo content already loaded. Staff sign-in at {settings.BASE_URL}/admin/ "
                    f"as {DEMO_ADMIN} / {password}"
                )
                return
            fail("The database already has content; the demo was not loaded.")
        loaded = load_demo(session, settings, admin_password=password)
    click.echo(
        f"Demo loaded: issue {loaded['issue']}, campaign {loaded['campaign']} ready to send.\n"
        f"Staff sign-in at {settings.BASE_URL}/admin/ as {DEMO_ADMIN} / {password}"
    )
