"""Staff and token commands: ``pinwheel users create|list|invite|set-role|set-password|reset-2fa|
deactivate|reactivate`` and ``pinwheel tokens create|list|revoke``.
"""

from __future__ import annotations

import json
import sys
from datetime import datetime
from typing import Any

import click

from engine import audit
from engine.cli import fail, tokens_group, users_group
from engine.db import get_database
from engine.staff_accounts import deactivate_staff, reactivate_staff, set_staff_role, staff_status
from engine.staff_invites import INVITE_VALID_FOR, invite_link, invite_user
from engine.users import (
    ApiToken,
    Role,
    StaffUser,
    find_user,
    list_api_tokens,
    list_users,
    revoke_api_token,
)
from engine.web import get_settings

ROLES = click.Choice([role.value for role in Role])


def _when(value: datetime | None) -> str | None:
    return value.isoformat() if value else None


@users_group.command("list")
@click.option("--json", "as_json", is_flag=True, help="Print JSON instead of a table.")
def users_list(as_json: bool) -> None:
    """List staff users with their role and whether they may sign in."""
    with get_database().session() as session:
        rows = [
            {"id": u.id, "email": u.email, "name": u.name, "role": str(u.role),
             "active": u.active, "status": str(staff_status(u)),
             "last_login_at": _when(u.last_login_at)}
            for u in list_users(session)
        ]  # fmt: skip
    if as_json:
        click.echo(json.dumps(rows, indent=2))
        return
    for row in rows:
        click.echo(f"{row['id']:>4}  {row['email']:<40} {row['role']:<9} {row['status']}")


@users_group.command("invite")
@click.argument("email")
@click.option("--role", type=ROLES, default="editor", show_default=True)
@click.option("--name", default="")
def users_invite(email: str, role: str, name: str) -> None:
    """Create a staff user without a password and print their one-time invitation link."""
    with get_database().session() as session:
        user = invite_user(session, email=email, role=role, name=name)
        audit.record(session, "cli", "user.invite", user, role=role)
        session.commit()
        days = INVITE_VALID_FOR.days
        click.echo(f"Invited {user.role} {user.email}. Send them this link (once, {days} days):")
        click.echo(invite_link(get_settings(), user))


@users_group.command("set-role")
@click.argument("email")
@click.argument("role", type=ROLES)
def users_set_role(email: str, role: str) -> None:
    """Give a staff user another role; they are signed out everywhere."""
    with get_database().session() as session:
        user = find_user(session, email)
        previous = str(user.role)
        set_staff_role(session, user, role)
        if previous != role:
            audit.record(session, "cli", "user.role_change", user, before=previous, role=role)
        click.echo(f"{user.email} is now {user.role}.")


@users_group.command("deactivate")
@click.argument("email")
def users_deactivate(email: str) -> None:
    """Stop a staff user from signing in; their history is kept."""
    with get_database().session() as session:
        user = deactivate_staff(session, None, find_user(session, email))
        audit.record(session, "cli", "user.deactivate", user)
        click.echo(f"Deactivated {user.email}.")


@users_group.command("reactivate")
@click.argument("email")
def users_reactivate(email: str) -> None:
    """Let a deactivated staff user sign in again."""
    with get_database().session() as session:
        user = reactivate_staff(session, find_user(session, email))
        audit.record(session, "cli", "user.reactivate", user)
        click.echo(f"Reactivated {user.email}.")


def _token_row(token: ApiToken, user: StaffUser | None) -> dict[str, Any]:
    return {
        "id": token.id,
        "name": token.name,
        "user": user.email if user else None,
        "role": str(user.role) if user else None,
        "prefix": token.prefix,
        "created_at": _when(token.created_at),
        "last_used_at": _when(token.last_used_at),
        "revoked_at": _when(token.revoked_at),
    }


@tokens_group.command("list")
@click.option("--json", "as_json", is_flag=True, help="Print JSON instead of a table.")
def tokens_list(as_json: bool) -> None:
    """List API tokens (never their secrets) with their last use."""
    with get_database().session() as session:
        rows = [_token_row(token, user) for token, user in list_api_tokens(session)]
    if as_json:
        click.echo(json.dumps(rows, indent=2))
        return
    for row in rows:
        state = f"revoked {row['revoked_at'][:10]}" if row["revoked_at"] else "live"
        used = (row["last_used_at"] or "never")[:16]
        owner = row["user"] or "nobody (refused)"
        click.echo(
            f"{row['id']:>4}  {row['name']:<24} {owner:<32} {row['prefix']}…  "
            f"last used {used:<16}  {state}"
        )


@tokens_group.command("revoke")
@click.argument("token_id", type=int)
def tokens_revoke(token_id: int) -> None:
    """Revoke an API token: requests with it get 401 from now on."""
    with get_database().session() as session:
        token = revoke_api_token(session, token_id)
        click.echo(f"Revoked token {token.id} ({token.name}).")


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
