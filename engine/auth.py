"""Staff sign-in (Flask-Login sessions, an optional code step) and role checks for staff pages."""

from __future__ import annotations

from collections.abc import Callable
from functools import wraps
from typing import Any, TypeVar
from urllib.parse import urlsplit

from flask import Blueprint, Flask, abort, flash, g, redirect, render_template, request, url_for
from flask_limiter.util import get_remote_address
from flask_login import LoginManager, current_user, login_required, logout_user
from flask_wtf import FlaskForm
from werkzeug.wrappers import Response
from wtforms import EmailField, PasswordField, StringField
from wtforms.validators import DataRequired

from engine import staff_sessions
from engine.clock import now
from engine.db import reading_session, request_session
from engine.sign_in_throttle import CODE_STEP, PASSWORD_STEP
from engine.two_factor import is_enrolled, verify_second_factor
from engine.users import Role, StaffUser, authenticate, revoke_sessions

bp = Blueprint("auth", __name__, url_prefix="/admin")
login_manager = LoginManager()
login_manager.login_view = "auth.login"
login_manager.login_message = "Please sign in to continue."

F = TypeVar("F", bound=Callable[..., Any])
Page = str | tuple[str, int] | Response

#: The one answer to a wrong password, an unknown address and a deactivated account alike.
MISMATCH = "That email address and password do not match an active account."
WRONG_CODE = "That code is not right. Type the 6-digit code your app shows now, or a recovery code."


class LoginForm(FlaskForm):
    email = EmailField("Email address", validators=[DataRequired()])
    password = PasswordField("Password", validators=[DataRequired()])


class CodeForm(FlaskForm):
    code = StringField("Code", validators=[DataRequired()])


@login_manager.user_loader
def _load_user(session_id: str) -> StaffUser | None:
    user_id, _, version = session_id.partition(".")
    if not (user_id.isdigit() and version.isdigit()) or staff_sessions.is_idle_expired():
        return None
    user = reading_session().get(StaffUser, int(user_id))
    if user is None or not user.active or user.session_version != int(version):
        return None
    staff_sessions.mark_seen()
    return user


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
def login() -> Page:
    form = LoginForm()
    if not form.validate_on_submit():
        return _page("auth/login.html", form, _field_errors(form), 422 if form.errors else 200)
    email, password = (form.email.data or "").strip(), form.password.data or ""
    client = get_remote_address()
    wait = PASSWORD_STEP.begin_attempt(email, client)
    if wait:
        return _too_many("auth/login.html", form, wait)
    session = request_session()
    user = authenticate(session, email, password)
    if user is None:
        PASSWORD_STEP.record_failure(email, client)
        return _page("auth/login.html", form, [("email", MISMATCH)], 401)
    PASSWORD_STEP.record_success(email, client)
    if not is_enrolled(user):
        user.last_login_at = now()  # with two-factor sign-in, once the code step passes
    session.commit()
    if is_enrolled(user):
        staff_sessions.hold_for_second_factor(user)
        return redirect(url_for("auth.second_factor", next=request.args.get("next")))
    staff_sessions.start_session(user)
    return redirect(_safe_next(request.args.get("next")))


@bp.route("/login/code", methods=["GET", "POST"])
def second_factor() -> Page:
    """The second step: a code from the user's app (or a recovery code) after their password."""
    pending = staff_sessions.pending_sign_in()
    if pending is None:
        flash("Sign in with your email address and password first.", "info")
        return redirect(url_for("auth.login", next=request.args.get("next")))
    form = CodeForm()
    if not form.validate_on_submit():
        return _page("auth/code.html", form, _field_errors(form), 422 if form.errors else 200)
    account, client = f"user:{pending.user_id}", get_remote_address()
    wait = CODE_STEP.begin_attempt(account, client)
    if wait:
        return _too_many("auth/code.html", form, wait)
    session = request_session()
    user = session.get(StaffUser, pending.user_id)
    if user is None or not user.active or user.session_version != pending.session_version:
        staff_sessions.forget_pending()
        return redirect(url_for("auth.login"))
    if not verify_second_factor(session, user, form.code.data or ""):
        session.rollback()
        CODE_STEP.record_failure(account, client)
        return _page("auth/code.html", form, [("code", WRONG_CODE)], 401)
    CODE_STEP.record_success(account, client)
    user.last_login_at = now()
    session.commit()
    staff_sessions.start_session(user)
    return redirect(_safe_next(request.args.get("next")))


@bp.post("/logout")
@login_required
def logout() -> Response:
    # Signing out ends every session of this user, so a copied cookie dies with this one.
    session = request_session()
    user = session.get(StaffUser, current_user.id)
    if user is not None:
        revoke_sessions(user)
        session.commit()
    logout_user()
    flash("You are signed out.", "info")
    return redirect(url_for("auth.login"))


def _page(template: str, form: FlaskForm, errors: list[tuple[str, str]], status: int) -> Page:
    return render_template(template, form=form, errors=errors), status


def _too_many(template: str, form: FlaskForm, wait: int) -> Response:
    minutes = -(-wait // 60)
    message = (
        f"Too many failed attempts to sign in. Wait {minutes} minute{'s' if minutes > 1 else ''} "
        "and try again."
    )
    response = Response(render_template(template, form=form, errors=[("", message)]), 429)
    response.headers["Retry-After"] = str(wait)
    return response


def _field_errors(form: FlaskForm) -> list[tuple[str, str]]:
    labels = {"email": "Enter your email address.", "password": "Enter your password."}
    return [
        (name, labels.get(name, "Enter the code.")) for name in form.errors if name != "csrf_token"
    ]


def _safe_next(target: str | None) -> str:
    # Only same-site paths: an absolute "next" would make the login page an open redirect.
    # Browsers read "/\host" as "//host", and drop tabs and newlines inside a URL.
    if (
        target
        and target.startswith("/")
        and not target.startswith("//")
        and not any(char in target for char in "\\\t\r\n")
        and not urlsplit(target).netloc
    ):
        return target
    return url_for("admin.dashboard")


def init_app(app: Flask) -> None:
    """Install the login manager, the idle time of sessions and the sign-in pages."""
    login_manager.init_app(app)
    staff_sessions.init_app(app)
    app.register_blueprint(bp)

    @app.teardown_request
    def _forget_user(exc: BaseException | None) -> None:
        # The signed-in user is cached on ``g``; an app context that outlives a request
        # (tests, the CLI) must not carry it into the next one.
        g.pop("_login_user", None)
