"""The staff member's own account page (`/admin/account`): their password and two-factor sign-in."""

from __future__ import annotations

from collections.abc import Callable

from flask import Blueprint, Flask, flash, redirect, render_template, request, url_for
from flask_limiter.util import get_remote_address
from flask_login import current_user
from markupsafe import Markup
from sqlalchemy.orm import Session
from werkzeug.wrappers import Response

from engine import audit, staff_sessions
from engine.auth import roles_required
from engine.db import request_session
from engine.errors import PinwheelError, ValidationFailed, WrongCredentials
from engine.passwords import MIN_PASSWORD_LENGTH
from engine.sign_in_throttle import CODE_STEP
from engine.two_factor import (
    begin_enrolment,
    confirm_enrolment,
    disable_two_factor,
    is_enrolled,
    provisioning_uri,
    qr_code_svg,
)
from engine.users import StaffUser, change_password, verify_password
from engine.web import get_settings

bp = Blueprint("account", __name__, url_prefix="/admin/account")
Page = str | tuple[str, int] | Response

#: Where a signed-in user without two-factor sign-in may go when ``REQUIRE_2FA`` is on.
ENROLMENT_ENDPOINTS = frozenset(
    {
        "account.index",
        "account.start_two_factor",
        "account.two_factor",
        "account.confirm_two_factor",
        "auth.logout",
        "static",
    }
)


@bp.get("/")
@roles_required()
def index() -> Page:
    return _account_page(_me(request_session()))


@bp.post("/password")
@roles_required()
def change_own_password() -> Page:
    form = request.form

    def change(session: Session, user: StaffUser) -> None:
        if form.get("new_password", "") != form.get("confirmation", ""):
            raise ValidationFailed("The new password and its confirmation differ. Type both again.")
        change_password(
            session, user, current=form.get("current_password", ""), new=form["new_password"]
        )
        audit.record(session, user, "user.password_change", user)

    return _act_on_own_account(change, "Your password is changed. Other sessions are signed out.")


@bp.post("/two-factor/start")
@roles_required()
def start_two_factor() -> Page:
    # The password first: a borrowed session must not tie the account to someone else's phone.
    password = request.form.get("current_password", "")

    def start(session: Session, user: StaffUser) -> None:
        if not verify_password(user, password):
            raise WrongCredentials("That is not your current password. Type it again.")
        begin_enrolment(session, user)

    return _act_on_own_account(start, "", then="account.two_factor")


@bp.get("/two-factor")
@roles_required()
def two_factor() -> Page:
    """The enrolment page: the QR code and secret of the waiting set-up, and the code box."""
    user = _me(request_session())
    if is_enrolled(user) or user.totp_secret is None:
        return redirect(url_for("account.index"))
    return _enrol_page(user)


@bp.post("/two-factor")
@roles_required()
def confirm_two_factor() -> Page:
    session = request_session()
    user = _me(session)
    try:
        codes = confirm_enrolment(session, user, request.form.get("code", ""))
    except PinwheelError as error:
        session.rollback()
        if user.totp_secret is None or is_enrolled(user):
            return _account_page(user, error)
        return _enrol_page(user, error)
    audit.record(session, user, "user.two_factor_on", user)
    session.commit()
    # Enrolling ended every session of the user, this one too: start this one again.
    staff_sessions.start_session(user)
    # Shown in this answer only: they are kept as digests and cannot be shown again.
    response = Response(
        render_template("account/recovery_codes.html", codes=codes), mimetype="text/html"
    )
    response.headers["Cache-Control"] = "no-store"
    return response


@bp.post("/two-factor/disable")
@roles_required()
def disable_own_two_factor() -> Page:
    proof, required = request.form.get("proof", ""), get_settings().REQUIRE_2FA

    def disable(session: Session, user: StaffUser) -> None:
        disable_two_factor(session, user, proof=proof, required=required)
        audit.record(session, user, "user.two_factor_off", user)

    return _act_on_own_account(disable, "Two-factor sign-in is off. Other sessions are signed out.")


def _act_on_own_account(
    change: Callable[[Session, StaffUser], None], done: str, then: str = "account.index"
) -> Page:
    """Run ``change``, which proves who the user is with a password or code, under the code
    step's limit; it ends the user's sessions, so this one is started again."""
    account, client = f"user:{current_user.id}", get_remote_address()
    session = request_session()
    user = _me(session)
    wait = CODE_STEP.begin_attempt(account, client)
    if wait:
        minutes = -(-wait // 60)
        error = WrongCredentials(
            f"Too many wrong passwords or codes. Wait {minutes} minute"
            f"{'s' if minutes > 1 else ''} and try again."
        )
        response = _account_page_response(user, error, 429)
        response.headers["Retry-After"] = str(wait)
        return response
    try:
        change(session, user)
    except PinwheelError as error:
        session.rollback()
        if isinstance(error, WrongCredentials):
            CODE_STEP.record_failure(account, client)
        return _account_page(user, error)
    session.commit()
    CODE_STEP.record_success(account, client)
    staff_sessions.start_session(user)
    if done:
        flash(done, "success")
    return redirect(url_for(then))


def _me(session: Session) -> StaffUser:
    user = session.get(StaffUser, current_user.id)
    if user is None:  # deleted between loading the session and now
        raise ValidationFailed("Your account no longer exists.")
    return user


def _account_page(user: StaffUser, error: PinwheelError | None = None) -> Page:
    return _account_page_response(user, error, error.status if error else 200)


def _account_page_response(user: StaffUser, error: PinwheelError | None, status: int) -> Response:
    page = render_template(
        "account/index.html",
        user=user,
        enrolled=is_enrolled(user),
        required=get_settings().REQUIRE_2FA,
        min_length=MIN_PASSWORD_LENGTH,
        error=error.message if error else None,
    )
    return Response(page, status, mimetype="text/html")


def _enrol_page(user: StaffUser, error: PinwheelError | None = None) -> Page:
    uri = provisioning_uri(user)
    page = render_template(
        "account/two_factor.html",
        secret=user.totp_secret,
        qr_code=Markup(qr_code_svg(uri)),  # noqa: S704 (segno's SVG of our own link)
        required=get_settings().REQUIRE_2FA and not is_enrolled(user),
        error=error.message if error else None,
    )
    response = Response(page, error.status if error else 200, mimetype="text/html")
    response.headers["Cache-Control"] = "no-store"  # the page shows the secret
    return response


def init_app(app: Flask) -> None:
    """Register the account pages and, with ``REQUIRE_2FA``, keep users without it on them."""
    app.register_blueprint(bp)

    @app.before_request
    def _require_two_factor() -> Response | None:
        if not get_settings().REQUIRE_2FA or request.endpoint in ENROLMENT_ENDPOINTS:
            return None
        if not (current_user.is_authenticated and not is_enrolled(current_user)):
            return None
        flash("Set up two-factor sign-in to continue: it is required for staff accounts.", "info")
        return redirect(url_for("account.index"))
