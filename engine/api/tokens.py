"""The staff page for API tokens: each person's own tokens (admins see and revoke all).

A token acts as the person who created it, so nobody may create a token for someone else
here: an admin able to mint an approver's token could approve their own work. Operators with
the server's shell create tokens for a named user with ``pinwheel tokens create --user``.
"""

from __future__ import annotations

from flask import Blueprint, Flask, abort, flash, redirect, render_template, request, url_for
from flask_limiter.util import get_remote_address
from flask_login import current_user
from werkzeug.wrappers import Response

from engine import audit
from engine.auth import roles_required
from engine.db import request_session
from engine.errors import ValidationFailed
from engine.sign_in_throttle import CODE_STEP
from engine.users import (
    ApiToken,
    Role,
    StaffUser,
    create_api_token,
    list_api_tokens,
    revoke_api_token,
    verify_password,
)
from engine.web import add_admin_nav

bp = Blueprint("tokens", __name__, url_prefix="/admin/tokens")


def _visible_tokens() -> list[tuple[ApiToken, StaffUser | None]]:
    rows = list_api_tokens(request_session())
    if current_user.has_role(Role.ADMIN):
        return rows
    return [(token, user) for token, user in rows if token.user_id == current_user.id]


@bp.get("/")
@roles_required()
def index() -> str:
    return render_template("admin/tokens.html", tokens=_visible_tokens())


@bp.post("/")
@roles_required()
def create() -> str | tuple[str, int]:
    session = request_session()
    user = session.get(StaffUser, current_user.id)
    assert user is not None  # signed in, so the row exists
    account, client = f"user:{user.id}", get_remote_address()
    try:
        # A token outlives sessions, so a borrowed session must not mint one: ask the password,
        # under the same limit as other password checks of a signed-in user.
        if CODE_STEP.begin_attempt(account, client):
            raise ValidationFailed("Too many wrong passwords. Wait a few minutes and try again.")
        if not verify_password(user, request.form.get("current_password", "")):
            CODE_STEP.record_failure(account, client)
            raise ValidationFailed("That is not your current password. Type it again.")
        CODE_STEP.record_success(account, client)
        token, secret = create_api_token(
            session, user=user, name=request.form.get("name", "")[:200]
        )
    except ValidationFailed as error:
        session.rollback()
        return render_template("admin/tokens.html", tokens=_visible_tokens(), error=error), 422
    audit.record(session, current_user, "token.create", token, name=token.name)
    session.commit()
    # The secret is in this one response only; it is never stored or shown again.
    return render_template(
        "admin/tokens.html", tokens=_visible_tokens(), created=token, secret=secret
    )


@bp.post("/<int:token_id>/revoke")
@roles_required()
def revoke(token_id: int) -> Response:
    session = request_session()
    token = session.get(ApiToken, token_id)
    if token is None or not (token.user_id == current_user.id or current_user.has_role(Role.ADMIN)):
        abort(404)
    revoke_api_token(session, token_id)
    audit.record(session, current_user, "token.revoke", token)
    session.commit()
    flash(f"Token {token.name} is revoked; requests with it now get 401.", "success")
    return redirect(url_for(".index"))


def init_app(app: Flask) -> None:
    """Register the token page."""
    app.register_blueprint(bp)
    add_admin_nav(app, "tokens.index", "API tokens", group="Administration", position=30)
