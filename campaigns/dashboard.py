"""The staff dashboard as a work queue: what waits for me, what goes out next, what went out."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta

import sqlalchemy as sa
from flask import Blueprint, Flask, redirect, render_template, url_for
from flask_login import current_user
from sqlalchemy.orm import Session, defer
from werkzeug.wrappers import Response

from campaigns.events.reports import DashboardRow, recent_reports
from campaigns.issues.models import Issue, IssueRevision, IssueStatus
from campaigns.issues.workflow import issues_awaiting_review
from campaigns.observances.catalogue import Occurrence
from campaigns.observances.service import occurrences_in_year
from campaigns.scheduling.recurring import recent_notifications
from campaigns.scheduling.rules import resolve_zone
from campaigns.sending.models import Campaign, CampaignStatus
from engine.auth import roles_required
from engine.clock import now
from engine.db import reading_session, request_session
from engine.users import Role, StaffUser
from engine.web import add_admin_nav, get_settings

bp = Blueprint("admin", __name__, url_prefix="/admin")
#: Rows shown per section; each section links to the full list.
SECTION_ROWS = 8
#: How far ahead the dashboard looks for observances.
OBSERVANCE_DAYS = 60
#: An issue for an observance counts for its next window when started this long before it:
#: annual observances are written for once a year.
OBSERVANCE_ISSUE_DAYS = 300


@dataclass(frozen=True, slots=True)
class NavBadge:
    """A number shown beside a navigation link, with words for screen readers."""

    count: int
    label: str


@dataclass(frozen=True, slots=True)
class WorkQueue:
    """The dashboard's sections for one staff user."""

    awaiting_review: list[Issue]
    my_drafts: list[Issue]
    scheduled: list[Campaign]
    recently_sent: list[DashboardRow]
    observances: list[Occurrence]


def work_queue(session: Session, user: StaffUser, today: date) -> WorkQueue:
    """Collect what ``user`` should look at next; sections their role cannot act on are empty."""
    return WorkQueue(
        awaiting_review=_issues(session, issues_awaiting_review(session, user)),
        my_drafts=my_drafts(session, user) if user.has_role(Role.EDITOR) else [],
        scheduled=scheduled_next(session),
        recently_sent=recent_reports(session, limit=5),
        observances=observances_without_issue(session, today),
    )


def _issues(session: Session, ids: list[int]) -> list[Issue]:
    if not ids:
        return []
    shown = ids[:SECTION_ROWS]
    rows = session.scalars(
        sa.select(Issue).options(defer(Issue.content)).where(Issue.id.in_(shown))
    )
    by_id = {issue.id: issue for issue in rows}
    return [by_id[issue_id] for issue_id in shown if issue_id in by_id]


def my_drafts(session: Session, user: StaffUser) -> list[Issue]:
    """Return the drafts ``user`` started or saved last, most recently changed first."""
    latest = sa.and_(IssueRevision.issue_id == Issue.id, IssueRevision.number == Issue.revision)
    return list(
        session.scalars(
            sa.select(Issue)
            .options(defer(Issue.content))
            .outerjoin(IssueRevision, latest)
            .where(
                Issue.status == IssueStatus.DRAFT,
                sa.or_(Issue.author_id == user.id, IssueRevision.saved_by_id == user.id),
            )
            .order_by(Issue.updated_at.desc(), Issue.id.desc())
            .limit(SECTION_ROWS)
        )
    )


def scheduled_next(session: Session) -> list[Campaign]:
    """Return the scheduled campaigns, and those whose start was refused, soonest first."""
    return list(
        session.scalars(
            sa.select(Campaign)
            .options(defer(Campaign.html), defer(Campaign.text))
            .where(Campaign.status.in_([CampaignStatus.SCHEDULED, CampaignStatus.NEEDS_REVIEW]))
            .order_by(Campaign.send_at, Campaign.id)
            .limit(SECTION_ROWS)
        )
    )


def observances_without_issue(session: Session, today: date) -> list[Occurrence]:
    """Return the observances starting in the next ``OBSERVANCE_DAYS`` that have no issue yet."""
    last = today + timedelta(days=OBSERVANCE_DAYS)
    coming = [
        occurrence
        for year in sorted({today.year, last.year})
        for occurrence in occurrences_in_year(session, year)
        if today <= occurrence.window.start <= last
    ]
    if not coming:
        return []
    started = dict(
        session.execute(
            sa.select(Issue.observance_slug, sa.func.max(Issue.created_at))
            .where(Issue.observance_slug.in_({o.observance.slug for o in coming}))
            .group_by(Issue.observance_slug)
        )
        .tuples()
        .all()
    )

    def has_issue(occurrence: Occurrence) -> bool:
        latest = started.get(occurrence.observance.slug)
        cutoff = occurrence.window.start - timedelta(days=OBSERVANCE_ISSUE_DAYS)
        return latest is not None and latest.date() >= cutoff

    return [occurrence for occurrence in coming if not has_issue(occurrence)]


def review_badge(user: StaffUser) -> NavBadge | None:
    """Return the count of issues waiting for ``user``'s review, or ``None`` when there are none."""
    if not user.is_authenticated or not user.has_role(Role.APPROVER):
        return None
    waiting = len(issues_awaiting_review(reading_session(), user))
    return NavBadge(waiting, "issues waiting for your review") if waiting else None


@bp.get("/")
@roles_required()
def dashboard() -> str:
    session = request_session()
    settings = get_settings()
    today = now().astimezone(resolve_zone(settings.TIMEZONE)).date()
    return render_template(
        "admin/dashboard.html",
        queue=work_queue(session, current_user, today),
        notifications=recent_notifications(session),
        observance_days=OBSERVANCE_DAYS,
    )


def home() -> Response:
    """Send signed-in staff to the dashboard and everyone else to the archive."""
    return redirect(
        url_for("admin.dashboard" if current_user.is_authenticated else "archive.index")
    )


def init_app(app: Flask) -> None:
    """Register the dashboard, the site's start page and the review count of the navigation."""
    app.register_blueprint(bp)
    app.add_url_rule("/", "home", home)
    add_admin_nav(app, "admin.dashboard", "Dashboard", group="Content", position=10)

    @app.context_processor
    def _nav_badges() -> dict[str, object]:
        # Called by the navigation only, once per page, so pages without it run no query.
        def badges() -> dict[str, NavBadge]:
            badge = review_badge(current_user)
            return {"admin.dashboard": badge} if badge else {}

        return {"nav_badges": badges}
