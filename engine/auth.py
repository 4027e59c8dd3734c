"""Staff sign-in (Flask-Login sessions) and role checks for staff pages."""

from __future__ import annotations

from collections.abc import Callable
from functools import wraps
from typing import Any, TypeVar
from urllib.parse import urlsplit

from flask import Blueprint, Flask, abort, flash, g, redirect, render_template, request, url_for
from flask_login import LoginManager, current_user, login_required, login_user, logout_user
from flask_wtf import FlaskForm
from werkzeug.wrappers import Response
from wtforms import EmailField, PasswordField
from wtforms.validators import DataRequired

from engine.db import reading_session, request_session
from engine.users import Role, StaffUser, authenticate

bp = Blueprint("auth", __name__, url_prefix="/admin")
login_manager = LoginManager()
login_manager.login_view = "auth.login"
login_manager.login_message = "Please sign in to continue."

F = TypeVar("F", bound=Callable[..., Any])


class LoginForm(FlaskForm):
    email = EmailField("Email address", validators=[DataRequired()])
    password = PasswordField("Password", validators=[DataRequired()])


@login_manager.user_loader
def _load_user(user_id: str) -> StaffUser | None:
    if not user_id.isdigit():
        return None
    user = reading_session().get(StaffUser, int(user_id))
    return user if user is not None and user.active else None


def roles_required(*roles: Role) -> Callable[[F], F]:
    """Let signed-in staff holding one of ``roles`` (or admins) through; others get 403.

    Without ``roles``, any signed-in staff member may pass (read-only staff pages).
    """

    def decorate(view: F) -> F:
        @wraps(view)
        @login_required
        def wrapper(*args: Any, **kwargs: Any) -> Any:
            if roles and not current_user.has_role(*roles):
                abort(403, description="Your role does not allow this action.")
            return view(*args, **kwargs)

        return wrapper  # type: ignore[return-value]

    return decorate


@bp.route("/login", methods=["GET", "POST"])
def login() -> str | tuple[str, int] | Response:
    form = LoginForm()
    if form.validate_on_submit():
        session = request_session()
        user = authenticate(session, form.email.data or "", form.password.data or "")
        if user is not None:
            session.commit()
            login_user(user)
            return redirect(_safe_next(request.args.get("next")))
        flash("That email address and password do not match an active account.", "error")
        return render_template("auth/login.html", form=form), 401
    return render_template("auth/login.html", form=form)


@bp.post("/logout")
@login_required
def logout() -> Response:
    logout_user()
    flash("You are signed out.", "info")
    return redirect(url_for("auth.login"))


def _safe_next(target: str | None) -> str:
    # Only same-site paths: an absolute "next" would make the login page an open redirect.
    if (
        target
        and target.startswith("/")
        and not target.startswith("//")
        and not urlsplit(target).netloc
    ):
        return target
    return url_for("admin.dashboard")


def init_app(app: Flask) -> None:
    """Install the login manager and the sign-in pages."""
    login_manager.init_app(app)
    app.register_blueprint(bp)

    @app.teardown_request
    def _forget_user(exc: BaseException | None) -> None:
        # The signed-in user is cached on ``g``; an app context that outlives a request
        # (tests, the CLI) must not carry it into the next one.
        g.pop("_login_user", None)
