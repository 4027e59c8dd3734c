"""Staff calendar pages (month grid, agenda), one-click drafts and each person's .ics feed."""

from __future__ import annotations

from datetime import date, timedelta

from flask import Blueprint, Flask, abort, flash, redirect, render_template, request, url_for
from flask_login import current_user
from werkzeug.wrappers import Response

from campaigns.scheduling.calendar import (
    agenda,
    build_feed,
    draft_for_observance,
    feed_token,
    feed_user,
    month_weeks,
    new_calendar_key,
    span_label,
)
from campaigns.scheduling.recurring import recent_notifications
from campaigns.scheduling.rules import resolve_zone
from engine import audit
from engine.auth import roles_required
from engine.clock import now
from engine.db import request_session
from engine.users import Role, StaffUser
from engine.web import add_admin_nav, csrf, get_settings

bp = Blueprint("calendar", __name__, url_prefix="/admin/calendar")
feed_bp = Blueprint("calendar_feed", __name__)
AGENDA_DAYS = 90
FEED_DAYS_BACK = 366
FEED_DAYS_AHEAD = 2 * 366


def _today() -> date:
    return now().astimezone(resolve_zone(get_settings().TIMEZONE)).date()


def _month_arg() -> tuple[int, int]:
    today = _today()
    year = request.args.get("year", default=today.year, type=int)
    month = request.args.get("month", default=today.month, type=int)
    if not (1 <= month <= 12 and 1900 <= year <= 2200):
        abort(400, description="Choose a month from 1 to 12 and a year from 1900 to 2200.")
    return year, month


@bp.get("/")
@roles_required(Role.EDITOR, Role.APPROVER)
def month() -> str:
    year, month_number = _month_arg()
    weeks = month_weeks(year, month_number)
    seen = agenda(request_session(), weeks[0][0], weeks[-1][-1])
    first = date(year, month_number, 1)
    previous = first - timedelta(days=1)
    following = first + timedelta(days=32)
    last = following.replace(day=1) - timedelta(days=1)
    return render_template(
        "calendar/month.html",
        weeks=weeks,
        agenda=seen,
        observances=[
            (o, span_label(o.window, first, last)) for o in seen.occurrences_between(first, last)
        ],
        first=first,
        today=_today(),
        previous=previous,
        following=following,
        feed_url=_feed_url(),
        notifications=recent_notifications(request_session()),
    )


@bp.get("/agenda")
@roles_required(Role.EDITOR, Role.APPROVER)
def agenda_list() -> str:
    start = _today()
    seen = agenda(request_session(), start, start + timedelta(days=AGENDA_DAYS))
    days = sorted(
        {o.window.start for o in seen.occurrences if o.window.start >= start}
        | {c.day for c in seen.campaigns}
        | {start}
    )
    return render_template(
        "calendar/agenda.html", agenda=seen, days=days, start=start, feed_url=_feed_url()
    )


@bp.post("/draft/<slug>/<int:year>")
@roles_required(Role.EDITOR)
def draft(slug: str, year: int) -> Response:
    session = request_session()
    issue = draft_for_observance(session, slug, year, author_id=current_user.id)
    session.commit()
    flash(f"Created the draft “{issue.title}”.", "info")
    return redirect(url_for("issues.preview", issue_id=issue.id))


def _signed_in_user() -> StaffUser:
    user = request_session().get(StaffUser, current_user.id)
    assert user is not None  # signed in, so the row exists
    return user


def _feed_url() -> str:
    user = _signed_in_user()
    if user.calendar_key is None:
        # Made on the first visit, so only people who opened the calendar hold a working link.
        new_calendar_key(user)
        request_session().commit()
    token = feed_token(get_settings().SECRET_KEY, user)
    return get_settings().BASE_URL + url_for("calendar_feed.feed", token=token)


@bp.post("/feed/reset")
@roles_required(Role.EDITOR, Role.APPROVER)
def reset_feed() -> Response:
    session = request_session()
    user = _signed_in_user()
    new_calendar_key(user)
    audit.record(session, current_user, "user.calendar_reset", user)
    session.commit()
    flash(
        "Your calendar link is reset: the old address no longer works. Copy the new one "
        "under “Subscribe in your calendar app” into your calendar app.",
        "success",
    )
    return redirect(url_for(".month"))


@feed_bp.get("/calendar.ics")
@csrf.exempt
def feed() -> Response:
    settings = get_settings()
    session = request_session(read_only=True)
    if feed_user(session, settings.SECRET_KEY, request.args.get("token", "")) is None:
        abort(404)
    today = _today()
    body = build_feed(
        session,
        today - timedelta(days=FEED_DAYS_BACK),
        today + timedelta(days=FEED_DAYS_AHEAD),
        settings.BASE_URL,
    )
    response = Response(body, mimetype="text/calendar")
    response.headers["Content-Disposition"] = 'inline; filename="pinwheel.ics"'
    response.headers["Cache-Control"] = "private, max-age=300"
    return response


def init_app(app: Flask) -> None:
    """Register the calendar pages and the feed."""
    app.register_blueprint(bp)
    app.register_blueprint(feed_bp)
    add_admin_nav(
        app,
        "calendar.month",
        "Calendar",
        group="Content",
        roles=(Role.EDITOR, Role.APPROVER),
        position=40,
    )
