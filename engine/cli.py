"""The ``pinwheel`` command (a Flask CLI group) and the engine's own commands."""

from __future__ import annotations

import sys
from typing import Any, NoReturn

import click
import sqlalchemy as sa
from flask import Flask
from flask.cli import AppGroup, FlaskGroup

from engine.config import ConfigError
from engine.db import get_database
from engine.errors import PinwheelError


class CliError(click.ClickException):
    """A clear one-line error; exit code 2 means the input was wrong."""

    exit_code = 2

    def format_message(self) -> str:
        return self.message


def fail(message: str) -> NoReturn:
    """Stop the command with ``message`` and exit code 2."""
    raise CliError(message)


class _DomainErrorsAsUsage:
    """Turn expected domain and configuration errors into one clean line instead of a traceback."""

    def invoke(self, ctx: click.Context) -> Any:
        try:
            return super().invoke(ctx)  # type: ignore[misc]
        except PinwheelError as error:
            raise CliError(error.message) from None
        except ConfigError as error:
            raise CliError(str(error)) from None
        except (sa.exc.OperationalError, sa.exc.ProgrammingError) as error:
            if _missing_table(error):
                raise CliError(
                    "The database has no Pinwheel tables yet: run `pinwheel db upgrade` first."
                ) from None
            raise


def _missing_table(error: sa.exc.DBAPIError) -> bool:
    text = str(error.orig).lower()
    return "no such table" in text or ("relation" in text and "does not exist" in text)


class FeatureGroup(_DomainErrorsAsUsage, AppGroup):
    """A command group of a feature package (``pinwheel campaigns …``)."""


class PinwheelGroup(_DomainErrorsAsUsage, FlaskGroup):
    pass


def _create_app() -> Flask:
    from engine.app import create_app

    return create_app()


cli = PinwheelGroup(
    name="pinwheel",
    create_app=_create_app,
    add_version_option=False,
    load_dotenv=False,
    help="Pinwheel: newsletters and awareness campaigns.",
)

db_group = FeatureGroup("db", help="Database schema.")
users_group = FeatureGroup("users", help="Staff accounts.")
tokens_group = FeatureGroup("tokens", help="API tokens.")


@db_group.command("upgrade")
@click.option("--revision", default="head", show_default=True)
def db_upgrade(revision: str) -> None:
    """Apply the Alembic migrations to the configured database."""
    from engine.migrate import upgrade

    upgrade(get_database().url, revision)
    click.echo(f"Database at {revision}.")


@db_group.command("current")
def db_current() -> None:
    """Print the database's migration revision."""
    from engine.migrate import current_revision

    click.echo(current_revision(get_database().url) or "(empty database)")


def init_app(app: Flask) -> None:
    """Register the engine's command groups."""
    from engine.dkim_cli import dkim_group
    from engine.doctor import doctor_command, health_command
    from engine.scheduler import scheduler_command
    from engine.serve import serve_command
    from engine.users_cli import tokens_list  # noqa: F401  (adds the users and tokens commands)

    for group in (db_group, users_group, tokens_group, dkim_group):
        app.cli.add_command(group)
    for command in (serve_command, doctor_command, health_command, scheduler_command):
        app.cli.add_command(command)


def main() -> None:
    """Run the ``pinwheel`` console script."""
    try:
        cli.main(prog_name="pinwheel")
    except ConfigError as error:
        click.echo(f"Error: {error}", err=True)
        sys.exit(2)
