"""The issue API: drafts and revisions, rendering and checks, review and approval."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import sqlalchemy as sa
from flask import Flask
from flask_smorest import Blueprint

from campaigns.issues import api_schemas as s
from campaigns.issues.compiled import render_for_review, render_stored_issue
from campaigns.issues.editions import create_edition, list_editions, with_edition_check
from campaigns.issues.editor import preview_payload, save_from_editor
from campaigns.issues.history import (
    diff_revisions,
    list_revisions,
    previous_number,
    restore_revision,
)
from campaigns.issues.models import Issue, IssueRevision
from campaigns.issues.review_notices import review_requests, send_review_requests
from campaigns.issues.service import create_issue, get_issue
from campaigns.issues.workflow import approve, return_to_draft, revision_row, submit_for_review
from engine import audit
from engine.api import register
from engine.api.auth import current_api_user, require_role
from engine.api.idempotency import IDEMPOTENCY_PARAMETER, idempotent
from engine.api.pagination import cursor_page
from engine.api.schemas import ErrorSchema
from engine.db import request_session
from engine.render.accessibility import CheckResult
from engine.users import Role
from engine.web import get_settings
from subscribers.models import Topic

bp = Blueprint("issues_api", __name__, url_prefix="/api/v1", description="Issues and revisions.")
READERS = (Role.EDITOR, Role.APPROVER)


def _checks(issue: Issue, checks: Sequence[CheckResult]) -> list[dict[str, Any]]:
    # An out-of-date edition warns here as in the editor (``with_edition_check``).
    return [
        {"code": c.code, "severity": str(c.severity), "message": c.message, "block_id": c.block_id}
        for c in with_edition_check(issue, checks)
    ]


@bp.get("/issues")
@require_role(*READERS)
@bp.arguments(s.IssueQuerySchema, location="query")
@bp.response(200, s.IssuePageSchema)
def issues_index(args: dict[str, Any]) -> dict[str, Any]:
    """List issues, oldest first, optionally by status."""
    query = sa.select(Issue)
    if args.get("status"):
        query = query.where(Issue.status == args["status"])
    return cursor_page(request_session(), query, Issue.id, args)


@bp.post("/issues")
@idempotent
@require_role(Role.EDITOR)
@bp.doc(parameters=[IDEMPOTENCY_PARAMETER])
@bp.arguments(s.IssueCreateSchema)
@bp.response(201, s.IssueSchema)
def issues_create(data: dict[str, Any]) -> Issue:
    """Create a draft issue from its content (revision 1); ``problems`` lists what to finish."""
    session = request_session()
    topics = session.scalars(sa.select(Topic).where(Topic.id.in_(data["topic_ids"])))
    issue = create_issue(
        session,
        data["content"],
        topics=list(topics),
        observance_slug=data["observance_slug"],
        author_id=current_api_user().id,
    )
    audit.record(session, current_api_user(), "issue.create", issue, layout=issue.layout)
    session.commit()
    return issue


@bp.get("/issues/<id:issue_id>")
@require_role(*READERS)
@bp.response(200, s.IssueSchema)
def issues_show(issue_id: int) -> Issue:
    """Return an issue with the content of its latest revision."""
    return get_issue(request_session(), issue_id)


@bp.put("/issues/<id:issue_id>")
@require_role(Role.EDITOR)
@bp.arguments(s.IssueUpdateSchema)
@bp.response(200, s.IssueSchema)
@bp.alt_response(409, schema=ErrorSchema, description="Saved by someone else since.")
def issues_update(data: dict[str, Any], issue_id: int) -> Issue:
    """Save a draft, unless someone saved after ``base_revision``; unfinished parts are kept.

    The answer lists the draft's ``problems``; they block review and sending, not saving. Saves
    that name the same ``editing_session`` within a few minutes gather into one revision.
    """
    session = request_session()
    issue = save_from_editor(session, get_issue(session, issue_id), data, current_api_user())
    session.commit()
    return issue


@bp.get("/issues/<id:issue_id>/editions")
@require_role(*READERS)
@bp.response(200, s.EditionListSchema)
def editions_index(issue_id: int) -> dict[str, Any]:
    """List an issue's editions in other languages (each an issue of its own)."""
    session = request_session()
    return {"items": list_editions(session, get_issue(session, issue_id))}


@bp.post("/issues/<id:issue_id>/editions")
@idempotent
@require_role(Role.EDITOR)
@bp.doc(parameters=[IDEMPOTENCY_PARAMETER])
@bp.arguments(s.EditionCreateSchema)
@bp.response(201, s.IssueSchema)
@bp.alt_response(409, schema=ErrorSchema, description="The issue already has that edition.")
def editions_create(data: dict[str, Any], issue_id: int) -> Issue:
    """Create an issue's edition in ``language`` from its latest content, as a draft.

    The edition has the same blocks (same ids), layout, topics and observance, to translate;
    it is saved, reviewed and approved as an issue of its own.
    """
    session = request_session()
    original = get_issue(session, issue_id)
    edition = create_edition(session, original, data["language"], current_api_user())
    session.commit()
    return edition


@bp.get("/issues/<id:issue_id>/revisions")
@require_role(*READERS)
@bp.response(200, s.RevisionListSchema)
def revisions_index(issue_id: int) -> dict[str, Any]:
    """List an issue's revisions, newest first."""
    session = request_session()
    return {"items": list_revisions(session, get_issue(session, issue_id))}


@bp.get("/issues/<id:issue_id>/revisions/<id:number>")
@require_role(*READERS)
@bp.response(200, s.RevisionSchema)
def revisions_show(issue_id: int, number: int) -> IssueRevision:
    """Return one stored revision."""
    session = request_session()
    return revision_row(session, get_issue(session, issue_id).id, number)


@bp.post("/issues/<id:issue_id>/revisions/<id:number>/restore")
@idempotent
@require_role(Role.EDITOR)
@bp.doc(parameters=[IDEMPOTENCY_PARAMETER])
@bp.response(200, s.IssueSchema)
def revisions_restore(issue_id: int, number: int) -> Issue:
    """Save an earlier revision's content as a new revision."""
    session = request_session()
    issue = restore_revision(session, get_issue(session, issue_id), number, current_api_user())
    session.commit()
    return issue


@bp.get("/issues/<id:issue_id>/diff")
@require_role(*READERS)
@bp.arguments(s.DiffQuerySchema, location="query")
@bp.response(200, s.DiffSchema)
def issues_diff(args: dict[str, Any], issue_id: int) -> dict[str, Any]:
    """Show what changed between two revisions (default: the latest and the one before)."""
    session = request_session()
    issue = get_issue(session, issue_id)
    new = args.get("to", issue.revision)
    old = args.get("from_") or previous_number(session, issue, new)
    changes = [
        {
            "kind": change.kind,
            "label": change.label,
            "status": change.status,
            "lines": [{"op": op, "text": text} for op, text in change.lines],
        }
        for change in diff_revisions(session, issue, old, new)
    ]
    return {"old": old, "new": new, "changes": changes}


@bp.get("/issues/<id:issue_id>/render")
@require_role(*READERS)
@bp.response(200, s.RenderedSchema)
def issues_render(issue_id: int) -> dict[str, Any]:
    """Render the latest revision: the email's HTML and plain text, with the pre-send checks."""
    issue = get_issue(request_session(), issue_id)
    rendered = render_stored_issue(get_settings(), issue)
    checks = _checks(issue, rendered.checks)
    valid = not rendered.errors
    return {"html": rendered.html, "text": rendered.text, "checks": checks, "valid": valid}


@bp.post("/issues/<id:issue_id>/preview")
@require_role(*READERS)
@bp.arguments(s.PreviewSchema)
@bp.response(200, s.RenderedSchema)
def issues_preview(data: dict[str, Any], issue_id: int) -> dict[str, Any]:
    """Render unsaved content as this issue would send it; invalid blocks are reported."""
    issue = get_issue(request_session(), issue_id)
    return preview_payload(get_settings(), issue, data["content"])


@bp.get("/issues/<id:issue_id>/checks")
@require_role(*READERS)
@bp.response(200, s.ChecksSchema)
def issues_checks(issue_id: int) -> dict[str, Any]:
    """Run the pre-send checks on the latest revision (with spamd's score where configured)."""
    issue = get_issue(request_session(), issue_id)
    rendered = render_for_review(get_settings(), issue)
    return {"ok": not rendered.errors, "checks": _checks(issue, rendered.checks)}


@bp.post("/issues/<id:issue_id>/submit")
@require_role(Role.EDITOR)
@bp.response(200, s.IssueSchema)
def issues_submit(issue_id: int) -> Issue:
    """Ask for review; refused while a blocking pre-send check fails."""
    session = request_session()
    issue = get_issue(session, issue_id)
    settings, submitter = get_settings(), current_api_user()
    submit_for_review(session, issue, submitter, settings=settings)
    requests = review_requests(session, settings, issue, submitter)
    session.commit()
    send_review_requests(settings, requests)
    return issue


@bp.post("/issues/<id:issue_id>/approve")
@require_role(Role.APPROVER)
@bp.arguments(s.ApproveSchema)
@bp.response(200, s.IssueSchema)
def issues_approve(data: dict[str, Any], issue_id: int) -> Issue:
    """Approve the latest revision for these topics (and optional segment)."""
    session = request_session()
    issue = get_issue(session, issue_id)
    approver = current_api_user()
    approve(session, issue, approver, data["topic_ids"], data["segment"], comment=data["comment"])
    session.commit()
    return issue


@bp.post("/issues/<id:issue_id>/return")
@require_role(Role.APPROVER)
@bp.arguments(s.ReturnSchema)
@bp.response(200, s.IssueSchema)
def issues_return(data: dict[str, Any], issue_id: int) -> Issue:
    """Send an issue in review (or approved) back to draft, with a comment for its authors."""
    session = request_session()
    issue = get_issue(session, issue_id)
    return_to_draft(session, issue, current_api_user(), data["comment"] or data["reason"])
    session.commit()
    return issue


def init_app(app: Flask) -> None:
    """Register the issue API."""
    register(app, bp)
