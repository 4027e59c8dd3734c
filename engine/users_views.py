"""The admins' staff page (``/admin/users/``) and the invitation page (``/admin/invite/<t>``)."""

from __future__ import annotations

from typing import Any

from flask import (
    Blueprint,
    Flask,
    abort,
    flash,
    make_response,
    redirect,
    render_template,
    request,
    url_for,
)
from flask_login import current_user, login_user
from sqlalchemy.orm import Session
from werkzeug.wrappers import Response

from engine import audit
from engine.auth import roles_required
from engine.db import request_session
from engine.errors import PinwheelError, ValidationFailed
from engine.passwords import MIN_PASSWORD_LENGTH
from engine.staff_accounts import deactivate_staff, reactivate_staff, set_staff_role, staff_status
from engine.staff_invites import (
    INVITE_VALID_FOR,
    accept_invite,
    find_invited_user,
    invite_link,
    invite_message,
    invite_user,
    renew_invite,
    send_invite,
)
from engine.users import Role, StaffUser, list_users
from engine.web import add_admin_nav, get_settings

bp = Blueprint("users", __name__, url_prefix="/admin/users")
invite_bp = Blueprint("staff_invite", __name__, url_prefix="/admin/invite")


def _page(status: int = 200, **extra: Any) -> tuple[str, int]:
    users = list_users(request_session())
    body = render_template(
        "users/index.html",
        users=[(user, staff_status(user)) for user in users],
        roles=list(Role),
        invite_days=INVITE_VALID_FOR.days,
        **extra,
    )
    return body, status


def _staff(session: Session, user_id: int) -> StaffUser:
    user = session.get(StaffUser, user_id)
    if user is None:
        abort(404, description="There is no such staff member.")
    return user


def _refused(session: Session, error: PinwheelError, **extra: Any) -> tuple[str, int]:
    session.rollback()
    return _page(error.status, error=error, **extra)


@bp.get("/")
@roles_required(Role.ADMIN)
def index() -> tuple[str, int]:
    return _page()


@bp.post("/")
@roles_required(Role.ADMIN)
def invite() -> tuple[str, int]:
    session = request_session()
    form = request.form
    try:
        user = invite_user(
            session,
            email=form.get("email", ""),
            role=form.get("role", ""),
            name=form.get("name", ""),
        )
    except PinwheelError as error:
        return _refused(session, error, entered=form)
    audit.record(session, current_user, "user.invite", user, role=str(user.role))
    session.commit()
    return _show_link(user)


@bp.post("/<int:user_id>/invite")
@roles_required(Role.ADMIN)
def reinvite(user_id: int) -> tuple[str, int]:
    session = request_session()
    user = _staff(session, user_id)
    try:
        renew_invite(session, user)
    except PinwheelError as error:
        return _refused(session, error)
    audit.record(session, current_user, "user.invite_renew", user)
    session.commit()
    return _show_link(user)


def _show_link(user: StaffUser) -> tuple[str, int]:
    # After the commit: a refused invitation never mails anyone.
    settings = get_settings()
    link = invite_link(settings, user)
    inviter = current_user.name or current_user.email
    emailed = send_invite(settings, invite_message(settings, user, link, inviter))
    if emailed:
        # Only the invitee sees a mailed link: an admin holding it could accept it as them.
        return _page(invited=user, link=None, emailed=True)
    session = request_session()
    audit.record(session, current_user, "user.invite_link_shown", user)
    session.commit()
    return _page(invited=user, link=link, emailed=False)


@bp.post("/<int:user_id>/role")
@roles_required(Role.ADMIN)
def set_role(user_id: int) -> Response | tuple[str, int]:
    session = request_session()
    user = _staff(session, user_id)
    previous = str(user.role)
    try:
        set_staff_role(session, user, request.form.get("role", ""))
    except PinwheelError as error:
        return _refused(session, error)
    if str(user.role) == previous:
        flash(f"{user.email} already has the role {previous}.", "info")
        return redirect(url_for(".index"))
    audit.record(session, current_user, "user.role_change", user, before=previous, role=user.role)
    email, role = user.email, str(user.role)
    session.commit()
    flash(f"{email} is now {role}; they were signed out everywhere.", "success")
    return redirect(url_for(".index"))


@bp.post("/<int:user_id>/deactivate")
@roles_required(Role.ADMIN)
def deactivate(user_id: int) -> Response | tuple[str, int]:
    session = request_session()
    user = _staff(session, user_id)
    actor = session.get(StaffUser, current_user.id)
    try:
        deactivate_staff(session, actor, user)
    except PinwheelError as error:
        return _refused(session, error)
    audit.record(session, current_user, "user.deactivate", user)
    email = user.email
    session.commit()
    flash(f"{email} is deactivated: signed out, API tokens stopped, history kept.", "success")
    return redirect(url_for(".index"))


@bp.post("/<int:user_id>/reactivate")
@roles_required(Role.ADMIN)
def reactivate(user_id: int) -> Response:
    session = request_session()
    user = reactivate_staff(session, _staff(session, user_id))
    audit.record(session, current_user, "user.reactivate", user)
    email = user.email
    session.commit()
    flash(
        f"{email} may sign in again; their API tokens stay revoked, so they create new ones.",
        "success",
    )
    return redirect(url_for(".index"))


@invite_bp.route("/<token>", methods=["GET", "POST"])
def accept(token: str) -> Response:
    session = request_session()
    secret = get_settings().SECRET_KEY
    if request.method == "GET":
        return _invite_page(find_invited_user(session, secret, token))
    try:
        user = accept_invite(
            session,
            secret,
            token,
            password=request.form.get("password", ""),
            confirmation=request.form.get("confirmation", ""),
        )
    except ValidationFailed as error:
        session.rollback()
        return _invite_page(find_invited_user(session, secret, token), error, 422)
    audit.record(session, user, "user.invite_accept", user)
    session.commit()
    login_user(user)
    flash("Welcome to Pinwheel: your password is set and you are signed in.", "success")
    return redirect(url_for("admin.dashboard"))


def _invite_page(
    user: StaffUser, error: PinwheelError | None = None, status: int = 200
) -> Response:
    page = render_template(
        "users/invite.html", user=user, error=error, min_length=MIN_PASSWORD_LENGTH
    )
    response = make_response(page, status)
    # The address holds a one-time secret: keep it out of caches and other sites' logs.
    response.headers["Cache-Control"] = "no-store"
    response.headers["Referrer-Policy"] = "no-referrer"
    return response


def init_app(app: Flask) -> None:
    """Register the staff page and the invitation page."""
    app.register_blueprint(bp)
    app.register_blueprint(invite_bp)
    add_admin_nav(
        app, "users.index", "Staff", group="Administration", roles=(Role.ADMIN,), position=10
    )
