"""Staff pages for issues: the list and a read-only preview of the rendered email."""

from __future__ import annotations

import sqlalchemy as sa
from flask import Blueprint, Flask, render_template, request

from campaigns.issues.compiled import render_for_review, render_stored_issue
from campaigns.issues.models import Issue, IssueStatus
from campaigns.issues.service import get_issue
from engine.auth import roles_required
from engine.db import request_session
from engine.web import add_admin_nav, get_settings

bp = Blueprint("issues", __name__, url_prefix="/admin/issues")


@bp.get("/")
@roles_required()
def index() -> str:
    status = request.args.get("status", "")
    query = sa.select(Issue).order_by(Issue.updated_at.desc(), Issue.id.desc())
    if status in IssueStatus.__members__.values():
        query = query.where(Issue.status == status)
    issues = request_session().scalars(query.limit(200)).all()
    return render_template(
        "issues/index.html", issues=issues, status=status, statuses=list(IssueStatus)
    )


@bp.get("/<int:issue_id>/preview")
@roles_required()
def preview(issue_id: int) -> str:
    issue = get_issue(request_session(), issue_id)
    rendered = render_for_review(get_settings(), issue)
    return render_template("issues/preview.html", issue=issue, rendered=rendered)


@bp.get("/<int:issue_id>/preview.html")
@roles_required()
def preview_html(issue_id: int) -> tuple[str, int, dict[str, str]]:
    issue = get_issue(request_session(), issue_id)
    html = render_stored_issue(get_settings(), issue).html
    # Shown in a sandboxed iframe; the email itself never needs script.
    return html, 200, {"Content-Security-Policy": "script-src 'none'; frame-ancestors 'self'"}


def init_app(app: Flask) -> None:
    """Register the issue pages."""
    app.register_blueprint(bp)
    add_admin_nav(app, "issues.index", "Issues", group="Content", position=20)
