"""``pinwheel users list|deactivate`` and ``pinwheel tokens list|revoke``."""

from __future__ import annotations

import json
from datetime import datetime
from typing import Any

import click

from engine.cli import tokens_group, users_group
from engine.db import get_database
from engine.users import deactivate_user, list_api_tokens, list_users, revoke_api_token


def _when(value: datetime | None) -> str | None:
    return value.isoformat() if value else None


@users_group.command("list")
@click.option("--json", "as_json", is_flag=True, help="Print JSON instead of a table.")
def users_list(as_json: bool) -> None:
    """List staff users with their role and whether they may sign in."""
    with get_database().session() as session:
        rows = [
            {"id": u.id, "email": u.email, "name": u.name, "role": str(u.role),
             "active": u.active, "last_login_at": _when(u.last_login_at)}
            for u in list_users(session)
        ]  # fmt: skip
    if as_json:
        click.echo(json.dumps(rows, indent=2))
        return
    for row in rows:
        state = "active" if row["active"] else "deactivated"
        click.echo(f"{row['id']:>4}  {row['email']:<40} {row['role']:<9} {state}")


@users_group.command("deactivate")
@click.argument("email")
def users_deactivate(email: str) -> None:
    """Stop a staff user from signing in; their history is kept."""
    with get_database().session() as session:
        user = deactivate_user(session, email)
        click.echo(f"Deactivated {user.email}.")


def _token_row(token: Any) -> dict[str, Any]:
    return {
        "id": token.id,
        "name": token.name,
        "role": str(token.role),
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
        rows = [_token_row(token) for token in list_api_tokens(session)]
    if as_json:
        click.echo(json.dumps(rows, indent=2))
        return
    for row in rows:
        state = f"revoked {row['revoked_at'][:10]}" if row["revoked_at"] else "live"
        used = (row["last_used_at"] or "never")[:16]
        click.echo(
            f"{row['id']:>4}  {row['name']:<30} {row['role']:<9} {row['prefix']}…  "
            f"last used {used:<16}  {state}"
        )


@tokens_group.command("revoke")
@click.argument("token_id", type=int)
def tokens_revoke(token_id: int) -> None:
    """Revoke an API token: requests with it get 401 from now on."""
    with get_database().session() as session:
        token = revoke_api_token(session, token_id)
        click.echo(f"Revoked token {token.id} ({token.name}).")
