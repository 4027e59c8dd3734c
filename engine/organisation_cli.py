"""``pinwheel settings show|set|unset|set-logo|remove-logo``: the organisation's settings."""

from __future__ import annotations

import json
from pathlib import Path

import click
from flask import Flask

from engine.cli import FeatureGroup
from engine.db import get_database
from engine.media import MAX_IMAGE_BYTES
from engine.organisation import LOGO_SIZE
from engine.organisation_cache import catalogue, current_organisation
from engine.organisation_settings import LogoUpload, change_settings
from engine.web import get_settings

settings_group = FeatureGroup(
    "settings", help="The organisation's name, logo, colours, sender, footers and time zone."
)


@settings_group.command("show")
@click.option("--json", "as_json", is_flag=True, help="Print JSON instead of a table.")
def settings_show(as_json: bool) -> None:
    """List every setting: the value in force and whether it is saved or the default."""
    organisation = current_organisation()
    rows = [
        {
            "key": f.key,
            "value": organisation.values[f.key],
            "saved": organisation.saved.get(f.key),
            "default": organisation.defaults[f.key],
            "env": f.env,
        }
        for f in organisation.fields
    ]
    if as_json:
        click.echo(json.dumps(rows, indent=2, ensure_ascii=False))
        return
    width = max(len(f.key) for f in organisation.fields)
    for row in rows:
        source = "saved" if row["saved"] is not None else f"default{_from(row['env'])}"
        click.echo(f"{row['key']:<{width}}  {row['value'] or '(none)'}  [{source}]")


def _from(env: str | None) -> str:
    return f", {env}" if env else ""


@settings_group.command("set")
@click.argument("key")
@click.argument("value")
def settings_set(key: str, value: str) -> None:
    """Save a setting (an empty VALUE goes back to the default); see `settings show` for keys."""
    _save({key: value})


@settings_group.command("unset")
@click.argument("key")
def settings_unset(key: str) -> None:
    """Go back to a setting's default."""
    _save({key: ""})


@settings_group.command("set-logo")
@click.argument("path", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option("--alt", default="", help="The logo's alt text (required unless already saved).")
def settings_set_logo(path: Path, alt: str) -> None:
    """Upload the logo from a PNG, JPEG, GIF or WebP file."""
    with path.open("rb") as file:
        data = file.read(MAX_IMAGE_BYTES + 1)
    _save({"logo_alt": alt} if alt else {}, LogoUpload(data, get_settings().media_path))


@settings_group.command("remove-logo")
def settings_remove_logo() -> None:
    """Remove the logo: emails and pages show the organisation's name instead."""
    _save({"logo": ""})


def _save(changes: dict[str, str], logo: LogoUpload | None = None) -> None:
    with get_database().session() as session:
        changed = change_settings(session, catalogue(), changes, actor="cli", logo=logo)
    if not changed:
        click.echo("Nothing changed.")
    for key, change in changed.items():
        if key != LOGO_SIZE:
            click.echo(f"{key}: {change['after'] or '(default)'}")


def init_app(app: Flask) -> None:
    """Register ``pinwheel settings``."""
    app.cli.add_command(settings_group)
