"""``pinwheel corrections …``: start a correction of a sent issue, list an issue's corrections."""

from __future__ import annotations

import json

import click
from flask import Flask

from campaigns.corrections.service import create_correction
from campaigns.issues.service import corrections_of, get_issue
from engine.cli import FeatureGroup, fail
from engine.db import get_database
from engine.users import StaffUser, find_user

group = FeatureGroup("corrections", help="Corrections of sent issues: create and list.")


@group.command("create")
@click.argument("issue_id", type=int)
@click.option("--as", "email", default=None, help="The staff user writing it (its author).")
def create_command(issue_id: int, email: str | None) -> None:
    """Start a correction of a sent issue, as a draft to write, review and approve.

    Send it with ``pinwheel campaigns create CORRECTION_ID [--include-uncertain]``: it goes to
    the people the original was accepted for.
    """
    with get_database().session() as session:
        original = get_issue(session, issue_id)
        actor: StaffUser | str = "cli"
        if email:
            actor = find_user(session, email)
            if not actor.active:
                fail(f"{actor.email} is deactivated.")
        correction = create_correction(session, original, actor)
        correction_id, slug = correction.id, correction.slug
    click.echo(f"Created issue {correction_id} ({slug}), a correction of {issue_id}.")
    click.echo(
        f"Write it, have it approved, then: pinwheel campaigns create {correction_id} "
        "[--include-uncertain]"
    )


@group.command("list")
@click.argument("issue_id", type=int)
@click.option("--json", "as_json", is_flag=True, help="Print JSON instead of a table.")
def list_command(issue_id: int, as_json: bool) -> None:
    """List the corrections written for an issue, oldest first."""
    with get_database().session() as session:
        rows = [
            {
                "id": c.id,
                "title": c.title,
                "status": str(c.status),
                "sent_at": c.published_at.isoformat() if c.published_at else None,
            }
            for c in corrections_of(session, get_issue(session, issue_id))
        ]
    if as_json:
        click.echo(json.dumps(rows, indent=2))
        return
    for row in rows:
        click.echo(
            f"{row['id']:>5}  {row['status']:<10} {row['sent_at'] or '-':<26} {row['title']}"
        )


def init_app(app: Flask) -> None:
    """Register the ``corrections`` command group."""
    app.cli.add_command(group)
