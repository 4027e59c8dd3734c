"""The staff page for API tokens: list with last use, create (secret shown once), revoke."""

from __future__ import annotations

from flask import Blueprint, Flask, flash, redirect, render_template, request, url_for
from flask_login import current_user
from werkzeug.wrappers import Response

from engine import audit
from engine.auth import roles_required
from engine.db import request_session
from engine.errors import ValidationFailed
from engine.users import Role, create_api_token, list_api_tokens, revoke_api_token
from engine.web import add_admin_nav

bp = Blueprint("tokens", __name__, url_prefix="/admin/tokens")


@bp.get("/")
@roles_required(Role.ADMIN)
def index() -> str:
    return render_template(
        "admin/tokens.html", tokens=list_api_tokens(request_session()), roles=list(Role)
    )


@bp.post("/")
@roles_required(Role.ADMIN)
def create() -> str | tuple[str, int]:
    session = request_session()
    try:
        token, secret = create_api_token(
            session, name=request.form.get("name", "")[:200], role=request.form.get("role", "")
        )
    except ValidationFailed as error:
        session.rollback()
        page = render_template(
            "admin/tokens.html", tokens=list_api_tokens(session), roles=list(Role), error=error
        )
        return page, 422
    audit.record(session, current_user, "token.create", token, role=str(token.role))
    session.commit()
    # The secret is in this one response only; it is never stored or shown again.
    return render_template(
        "admin/tokens.html",
        tokens=list_api_tokens(session),
        roles=list(Role),
        created=token,
        secret=secret,
    )


@bp.post("/<int:token_id>/revoke")
@roles_required(Role.ADMIN)
def revoke(token_id: int) -> Response:
    session = request_session()
    token = revoke_api_token(session, token_id)
    audit.record(session, current_user, "token.revoke", token)
    session.commit()
    flash(f"Token {token.name} is revoked; requests with it now get 401.", "success")
    return redirect(url_for(".index"))


def init_app(app: Flask) -> None:
    """Register the token page."""
    app.register_blueprint(bp)
    add_admin_nav(app, "tokens.index", "API tokens")
