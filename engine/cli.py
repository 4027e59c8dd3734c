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
from engine.web import get_settings


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


@users_group.command("create")
@click.argument("email")
@click.option("--role", type=click.Choice(["admin", "editor", "approver"]), default="editor")
@click.option("--name", default="")
def users_create(email: str, role: str, name: str) -> None:
    """Create a staff user; the password comes from PINWHEEL_ADMIN_PASSWORD or a prompt."""
    from engine.users import create_user

    password = _read_password(get_settings().ADMIN_PASSWORD, "PINWHEEL_ADMIN_PASSWORD")
    with get_database().session() as session:
        user = create_user(session, email=email, password=password, role=role, name=name)
        click.echo(f"Created {user.role} {user.email}.")


@users_group.command("set-password")
@click.argument("email")
def users_set_password(email: str) -> None:
    """Give a staff user a new password and sign them out everywhere.

    The password comes from PINWHEEL_USER_PASSWORD or a prompt (typed twice).
    """
    from engine import audit
    from engine.users import find_user, set_password

    with get_database().session() as session:
        find_user(session, email)  # an unknown address fails before the prompt
    password = _read_password(get_settings().USER_PASSWORD, "PINWHEEL_USER_PASSWORD")
    with get_database().session() as session:
        user = find_user(session, email)
        set_password(session, user, password)
        audit.record(session, "cli", "user.password_change", user)
        click.echo(f"Set a new password for {user.email}; their sessions are signed out.")


@users_group.command("reset-2fa")
@click.argument("email")
def users_reset_two_factor(email: str) -> None:
    """Turn a staff user's two-factor sign-in off (a lost phone); they enrol again."""
    from engine import audit
    from engine.two_factor import reset_two_factor
    from engine.users import find_user

    with get_database().session() as session:
        user = reset_two_factor(session, find_user(session, email))
        audit.record(session, "cli", "user.two_factor_reset", user)
        click.echo(f"Two-factor sign-in is off for {user.email}; their sessions are signed out.")


@tokens_group.command("create")
@click.argument("name")
@click.option("--user", "email", required=True, help="The staff user the token acts as.")
def tokens_create(name: str, email: str) -> None:
    """Create an API token acting as a staff user and print its secret once."""
    from engine import audit
    from engine.users import create_api_token, find_user

    with get_database().session() as session:
        user = find_user(session, email)
        token, secret = create_api_token(session, user=user, name=name)
        audit.record(session, "cli", "token.create", token, name=token.name, user=user.email)
        click.echo(f"Token {token.id} ({token.name}) acts as {user.email} ({user.role}):")
        click.echo(secret)
        click.echo("Store it now: it is not shown again.", err=True)


def _read_password(preset: str, variable: str) -> str:
    """Return ``preset`` (the setting ``variable`` names) or a password typed twice."""
    if preset:
        return preset
    if not sys.stdin.isatty():
        fail(f"Set {variable} or run the command in a terminal to type a password.")
    return str(click.prompt("Password", hide_input=True, confirmation_prompt=True))


def init_app(app: Flask) -> None:
    """Register the engine's command groups."""
    from engine.doctor import doctor_command, health_command
    from engine.scheduler import scheduler_command
    from engine.serve import serve_command
    from engine.users_cli import tokens_list  # noqa: F401  (adds users/tokens list, revoke…)

    for group in (db_group, users_group, tokens_group):
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
