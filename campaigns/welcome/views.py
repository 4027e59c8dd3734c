"""The staff page of welcome emails: which are on, for whom, approved or not, how many sent."""

from __future__ import annotations

from typing import Any

from flask import Blueprint, Flask, flash, redirect, render_template, request, url_for
from flask_login import current_user
from werkzeug.wrappers import Response

from campaigns.welcome.composition import SignedUp, render_welcome
from campaigns.welcome.eligibility import FRESH_FOR, QUIET_FOR
from campaigns.welcome.service import (
    STATE_LABELS,
    create_welcome,
    delivery_counts,
    get_welcome,
    list_welcomes,
    read_scope,
    scope_topics,
    set_welcome_active,
    topic_categories,
    welcome_state,
)
from engine.auth import roles_required
from engine.db import request_session
from engine.errors import PinwheelError
from engine.users import Role
from engine.web import add_admin_nav, get_settings
from subscribers.models import Frequency
from subscribers.topics import topic_text

bp = Blueprint("welcome", __name__, url_prefix="/admin/welcome")
#: The form's value for the welcome that covers every topic.
ALL = "all"


def _page(status: int = 200, **extra: Any) -> tuple[str, int]:
    session = request_session()
    welcomes = list_welcomes(session)
    taken = {(welcome.for_all, welcome.category) for welcome in welcomes}
    body = render_template(
        "welcome/index.html",
        welcomes=welcomes,
        states={welcome.id: welcome_state(welcome) for welcome in welcomes},
        state_labels=STATE_LABELS,
        counts=delivery_counts(session),
        offer_all=(True, "") not in taken,
        categories=[c for c in topic_categories(session) if (False, c) not in taken],
        fresh_days=FRESH_FOR.days,
        quiet_days=QUIET_FOR.days,
        **extra,
    )
    return body, status


@bp.get("/")
@roles_required(Role.EDITOR)
def index() -> tuple[str, int]:
    return _page()


@bp.post("/")
@roles_required(Role.EDITOR)
def create() -> Response | tuple[str, int]:
    session = request_session()
    chosen = request.form.get("scope", "")
    try:
        if chosen == ALL:
            scope = read_scope(session, None)
        elif chosen.startswith("category:"):
            scope = read_scope(session, chosen.removeprefix("category:"))
        else:
            return _page(422, error="Choose whom the welcome email is for.")
        welcome = create_welcome(session, scope, actor=current_user)
    except PinwheelError as error:
        session.rollback()
        return _page(error.status, error=error.message)
    session.commit()
    flash(
        f"Created the welcome email for {scope.label.lower()}. Write it in the block editor, "
        "then ask for review: it is sent once an approver approves it.",
        "info",
    )
    return redirect(url_for("editor.edit", issue_id=welcome.issue_id))


@bp.post("/<int:welcome_id>/on")
@roles_required(Role.EDITOR)
def turn_on(welcome_id: int) -> Response:
    return _set_active(welcome_id, active=True)


@bp.post("/<int:welcome_id>/off")
@roles_required(Role.EDITOR)
def turn_off(welcome_id: int) -> Response:
    return _set_active(welcome_id, active=False)


def _set_active(welcome_id: int, *, active: bool) -> Response:
    session = request_session()
    welcome = get_welcome(session, welcome_id)
    set_welcome_active(session, welcome, active, actor=current_user)
    session.commit()
    label = welcome.scope_label.lower()
    if active:
        flash(f"The welcome email for {label} is on for subscriptions confirmed from now.", "info")
    else:
        flash(f"The welcome email for {label} is off: nobody gets it now.", "info")
    return redirect(url_for("welcome.index"))


@bp.get("/<int:welcome_id>/preview.html")
@roles_required(Role.EDITOR)
def preview_html(welcome_id: int) -> tuple[str, int, dict[str, str]]:
    """Show the welcome as a reader of up to three of its topics gets it (merge tags kept)."""
    session = request_session()
    welcome = get_welcome(session, welcome_id)
    issue = welcome.issue
    signed_up = [
        SignedUp(topic_text(topic, issue.language).name, Frequency.IMMEDIATELY)
        for topic in scope_topics(session, welcome)
    ]
    html = render_welcome(get_settings(), issue.slug, issue.content, signed_up[:3]).html
    # Opened as a page of its own; the email itself never needs script.
    return html, 200, {"Content-Security-Policy": "script-src 'none'; frame-ancestors 'self'"}


def init_app(app: Flask) -> None:
    """Register the welcome email page."""
    app.register_blueprint(bp)
    add_admin_nav(
        app, "welcome.index", "Welcome email", group="Content", roles=(Role.EDITOR,), position=70
    )
