"""``pinwheel welcome …``: status, create, on, off, and send the welcome emails due."""

from __future__ import annotations

import json
from typing import Any

import click
from flask import Flask

from campaigns.welcome.delivering import send_pending_welcomes
from campaigns.welcome.service import (
    STATE_LABELS,
    WelcomeState,
    create_welcome,
    delivery_counts,
    get_welcome,
    list_welcomes,
    read_scope,
    set_welcome_active,
    welcome_state,
)
from engine.api.fields import MAX_ID
from engine.cli import FeatureGroup
from engine.db import get_database
from engine.web import get_settings

group = FeatureGroup("welcome", help="The welcome email newcomers get when they confirm.")


@group.command("status")
@click.option("--json", "as_json", is_flag=True, help="Print JSON instead of lines.")
def status_command(as_json: bool) -> None:
    """Say which welcome emails exist, whether they send, and how many went out."""
    with get_database().session() as session:
        counts = delivery_counts(session)
        rows: list[dict[str, Any]] = [
            {
                "id": welcome.id,
                "scope": welcome.scope_label,
                "category": None if welcome.for_all else welcome.category,
                "state": str(welcome_state(welcome)),
                "issue_id": welcome.issue_id,
                "issue_status": str(welcome.issue.status),
                "deliveries": {str(k): v for k, v in counts.get(welcome.id, {}).items()},
            }
            for welcome in list_welcomes(session)
        ]
    if as_json:
        click.echo(json.dumps(rows, indent=2))
        return
    if not rows:
        click.echo("No welcome email yet: pinwheel welcome create [--category NAME]")
    for row in rows:
        state = STATE_LABELS[WelcomeState(row["state"])]
        sent = row["deliveries"].get("sent", 0)
        click.echo(
            f"{row['id']:>4}  {row['scope']}: {state}. Issue {row['issue_id']} "
            f"({row['issue_status'].replace('_', ' ')}), {sent} sent."
        )


@group.command("create")
@click.option("--category", default=None, help="A topic category (default: one for all).")
def create_command(category: str | None) -> None:
    """Create the welcome email and its draft issue; write it, then ask for review."""
    with get_database().session() as session:
        welcome = create_welcome(session, read_scope(session, category), actor="cli")
        issue_id, label = welcome.issue_id, welcome.scope_label
    click.echo(
        f"Created the welcome email for {label.lower()}: issue {issue_id}. Edit it at "
        f"{get_settings().BASE_URL}/admin/issues/{issue_id}/edit, then ask for review."
    )


@group.command("on")
@click.argument("welcome_id", type=click.IntRange(1, MAX_ID))
def on_command(welcome_id: int) -> None:
    """Turn a welcome email on for subscriptions confirmed from now."""
    _set_active(welcome_id, active=True)


@group.command("off")
@click.argument("welcome_id", type=click.IntRange(1, MAX_ID))
def off_command(welcome_id: int) -> None:
    """Turn a welcome email off."""
    _set_active(welcome_id, active=False)


def _set_active(welcome_id: int, *, active: bool) -> None:
    with get_database().session() as session:
        welcome = set_welcome_active(session, get_welcome(session, welcome_id), active, actor="cli")
        label = welcome.scope_label
    click.echo(f"The welcome email for {label.lower()} is {'on' if active else 'off'}.")


@group.command("send-pending")
@click.option("--limit", type=click.IntRange(1, 1000), default=100, show_default=True,
              help="Most newcomers to welcome in this run.")  # fmt: skip
def send_pending_command(limit: int) -> None:
    """Send the welcome emails due now (the scheduler does this every minute)."""
    with get_database().session() as session:
        if not any(welcome.active for welcome in list_welcomes(session)):
            click.echo("No welcome email is on: nothing to send.")
            return
    run = send_pending_welcomes(get_database(), get_settings(), limit=limit)
    click.echo(
        f"Welcome emails: {run.sent} sent, {run.retrying} to retry, {run.failed} failed, "
        f"{run.skipped} not welcomed (re-subscribers or readers already)."
    )
    if run.not_known:
        click.echo(
            f"{run.not_known} not known: the provider did not answer. They may have arrived, so "
            "they are not sent again."
        )
    if run.credentials_refused:
        raise click.ClickException(
            "The mail provider refused our credentials: the round stopped and the welcome it "
            "was sending waits. Check the API key or SMTP login ('pinwheel doctor'), then run "
            "this again."
        )


def init_app(app: Flask) -> None:
    """Register the ``welcome`` command group."""
    app.cli.add_command(group)
