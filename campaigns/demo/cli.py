"""``pinwheel demo``: load the demo content into an empty database."""

from __future__ import annotations

import click
import sqlalchemy as sa

from campaigns.demo.loader import DEMO_ADMIN, DEMO_APPROVER, DEMO_PASSWORD, load_demo
from campaigns.issues.models import Issue
from engine.cli import fail
from engine.db import get_database
from engine.web import get_settings


@click.command("demo")
@click.option("--if-empty", is_flag=True, help="Do nothing when the database already has issues.")
@click.option("--force", is_flag=True, help="Load it even with PINWHEEL_ENV=production.")
def demo_command(if_empty: bool, force: bool) -> None:
    """Load the demo content (topics, 50 subscribers, an issue and a campaign)."""
    settings = get_settings()
    if settings.is_production and not force:
        # The demo creates a staff admin with a published password and sample subscribers.
        fail(
            "PINWHEEL_ENV is production: the demo would add an admin with a known password "
            "and sample subscribers. Run it on a development copy, or add --force."
        )
    password = settings.ADMIN_PASSWORD or DEMO_PASSWORD
    with get_database().session() as session:
        if session.scalar(sa.select(sa.func.count()).select_from(Issue)):
            if if_empty:
                click.echo(f"Demo content already loaded. {_sign_in(settings.BASE_URL, password)}")
                return
            fail("The database already has content; the demo was not loaded.")
        loaded = load_demo(session, settings, admin_password=password)
    click.echo(
        f"Demo loaded: issue {loaded['issue']} (approved by {DEMO_APPROVER}), campaign "
        f"{loaded['campaign']} ready to send.\n{_sign_in(settings.BASE_URL, password)}"
    )


def _sign_in(base_url: str, password: str) -> str:
    return (
        f"Staff sign-in at {base_url}/admin/ as {DEMO_ADMIN} (admin, the author) or "
        f"{DEMO_APPROVER} (approver), password {password}"
    )
