"""The staff editor: pages, JSON load/save/preview, review, approval and history."""

from __future__ import annotations

import dataclasses
from typing import Any

import sqlalchemy as sa
from flask import (
    Blueprint,
    Flask,
    Response,
    flash,
    jsonify,
    redirect,
    render_template,
    request,
    url_for,
)
from flask_login import current_user
from sqlalchemy.orm import Session
from werkzeug.wrappers import Response as WerkzeugResponse

from campaigns.content.document import Layout
from campaigns.content.drafts import read_draft
from campaigns.content.reading import ContentError
from campaigns.issues.compiled import (
    issue_problems,
    observance_theme,
    problem_checks,
    render_context,
    render_for_review,
)
from campaigns.issues.editions import (
    EDITION_LANGUAGES,
    create_edition,
    list_editions,
    original_state,
    with_edition_check,
)
from campaigns.issues.history import (
    diff_content,
    diff_revisions,
    list_revisions,
    previous_number,
    restore_revision,
    start_issue,
)
from campaigns.issues.models import Issue
from campaigns.issues.review_notices import review_requests, send_review_requests
from campaigns.issues.service import corrections_of, get_issue, save_revision
from campaigns.issues.workflow import approve, return_to_draft, review_comments, submit_for_review
from campaigns.observances.catalogue import load_catalogue
from campaigns.rendering.render import render_issue
from engine import audit
from engine.auth import roles_required
from engine.config import Settings
from engine.db import request_session
from engine.errors import ValidationFailed
from engine.users import Role
from engine.web import get_settings
from subscribers.models import Topic

bp = Blueprint("editor", __name__, url_prefix="/admin/issues")
#: The block field a check result is about, so the editor can show the check beside it.
_CHECK_FIELDS = {"image_alt": "alt"}


def preview_payload(
    settings: Settings, issue: Issue, data: Any, observance_slug: str | None = None
) -> dict[str, Any]:
    """Render unsaved content for the preview: the blocks that are ready, and every problem.

    ``observance_slug`` is the editor's choice of observance, saved or not ("" for none).
    """
    try:
        draft = read_draft(data)
    except ContentError as error:
        return {
            "html": "",
            "text": "",
            "checks": problem_checks(error.problems, None),
            "valid": False,
        }
    theme = observance_theme(issue, observance_slug, draft.content.language)
    rendered = render_issue(draft.content, render_context(settings, issue.slug, theme))
    checks = [
        {
            "code": c.code,
            "severity": str(c.severity),
            "message": c.message,
            "block_id": c.block_id,
            "field": _CHECK_FIELDS.get(c.code),
        }
        for c in with_edition_check(issue, rendered.checks)
    ]
    return {
        "html": rendered.html,
        "text": rendered.text,
        "checks": problem_checks(draft.problems, draft) + checks,
        "valid": not draft.problems,
    }


def save_from_editor(session: Session, issue: Issue, payload: Any, actor: Any) -> Issue:
    """Save the editor's content and issue settings (compare-and-set on the base revision).

    An edition's editor sends the original's revision it showed beside the blocks
    (``original_revision``): the edition is then translated from that one.
    """
    if not isinstance(payload, dict) or not isinstance(payload.get("base_revision"), int):
        raise ValidationFailed("Send the content with the revision it was based on.")
    shown = payload.get("original_revision")
    save_revision(
        session,
        issue,
        payload.get("content"),
        base_revision=payload["base_revision"],
        saved_by_id=actor.id,
        editing_session=payload.get("editing_session"),
        translated_from=shown if isinstance(shown, int) and not isinstance(shown, bool) else None,
    )
    if isinstance(payload.get("topic_ids"), list):
        ids = [int(t) for t in payload["topic_ids"] if str(t).isdigit()]
        issue.topics = list(session.scalars(sa.select(Topic).where(Topic.id.in_(ids))))
    if "observance_slug" in payload:
        issue.observance_slug = payload.get("observance_slug") or None
    audit.record(session, actor, "issue.save", issue, revision=issue.revision)
    session.flush()
    return issue


def editor_state(issue: Issue) -> dict[str, Any]:
    """Return what the editor script loads: content, revision, status and issue settings."""
    return {
        "id": issue.id,
        "revision": issue.revision,
        "status": str(issue.status),
        "content": issue.content,
        "problems": issue_problems(issue),
        "topic_ids": [topic.id for topic in issue.topics],
        "observance_slug": issue.observance_slug or "",
        "original": original_state(issue) if issue.edition_of_id is not None else None,
    }


def _choices() -> dict[str, Any]:
    topics = request_session().scalars(sa.select(Topic).order_by(Topic.position, Topic.name)).all()
    return {"topics": topics, "observances": load_catalogue(), "layouts": list(Layout)}


@bp.get("/new")
@roles_required(Role.EDITOR)
def new() -> str:
    issues = request_session().scalars(sa.select(Issue).order_by(Issue.updated_at.desc()).limit(50))
    return render_template("editor/new.html", layouts=list(Layout), issues=issues.all())


@bp.post("/new")
@roles_required(Role.EDITOR)
def create() -> WerkzeugResponse:
    session = request_session()
    source_id = request.form.get("source_issue", type=int)
    source = get_issue(session, source_id) if source_id else None
    title = request.form.get("title", "").strip() or "Untitled issue"
    layout = Layout(request.form.get("layout") or Layout.SPOTLIGHT)
    issue = start_issue(session, current_user, title=title, layout=layout, source=source)
    session.commit()
    return redirect(url_for("editor.edit", issue_id=issue.id))


@bp.get("/<int:issue_id>/edit")
@roles_required(Role.EDITOR)
def edit(issue_id: int) -> str:
    session = request_session()
    issue = get_issue(session, issue_id)
    return render_template(
        "editor/edit.html",
        issue=issue,
        state=editor_state(issue),
        comments=review_comments(session, issue),
        editions=list_editions(session, issue) if issue.edition_of_id is None else [],
        edition_languages=EDITION_LANGUAGES,
        corrections=corrections_of(session, issue),
        **_choices(),
    )


@bp.post("/<int:issue_id>/editions")
@roles_required(Role.EDITOR)
def create_edition_page(issue_id: int) -> WerkzeugResponse:
    session = request_session()
    original = get_issue(session, issue_id)
    edition = create_edition(session, original, request.form.get("language", "es"), current_user)
    session.commit()
    flash("Edition created from the latest English text: translate each block.", "success")
    return redirect(url_for("editor.edit", issue_id=edition.id))


@bp.get("/<int:issue_id>/content")
@roles_required(Role.EDITOR, Role.APPROVER)
def load(issue_id: int) -> Response:
    return jsonify(editor_state(get_issue(request_session(), issue_id)))


@bp.post("/<int:issue_id>/content")
@roles_required(Role.EDITOR)
def save(issue_id: int) -> Response:
    session = request_session()
    issue = save_from_editor(
        session, get_issue(session, issue_id), request.get_json(silent=True), current_user
    )
    session.commit()
    return jsonify(editor_state(issue))


@bp.post("/<int:issue_id>/preview")
@roles_required(Role.EDITOR, Role.APPROVER)
def preview(issue_id: int) -> Response:
    issue = get_issue(request_session(), issue_id)
    payload = request.get_json(silent=True) or {}
    content = payload.get("content")
    data = content if isinstance(content, dict) else issue.content
    slug = payload.get("observance_slug")
    chosen = slug if isinstance(slug, str) else None
    return jsonify(preview_payload(get_settings(), issue, data, chosen))


@bp.post("/<int:issue_id>/compare")
@roles_required(Role.EDITOR, Role.APPROVER)
def compare(issue_id: int) -> Response:
    issue = get_issue(request_session(), issue_id)
    mine = (request.get_json(silent=True) or {}).get("content") or {}
    changes = diff_content(issue.content, mine) if isinstance(mine, dict) else []
    return jsonify(
        revision=issue.revision,
        theirs=issue.content,
        html=render_template("editor/_changes.html", changes=changes),
    )


@bp.post("/<int:issue_id>/submit")
@roles_required(Role.EDITOR)
def submit(issue_id: int) -> WerkzeugResponse:
    session, settings = request_session(), get_settings()
    issue = submit_for_review(
        session, get_issue(session, issue_id), current_user, settings=settings
    )
    requests = review_requests(session, settings, issue, current_user)
    session.commit()
    send_review_requests(settings, requests)
    flash("Sent for review. An approver will look at it next.", "success")
    return redirect(url_for("editor.review", issue_id=issue_id))


@bp.get("/<int:issue_id>/review")
@roles_required(Role.EDITOR, Role.APPROVER)
def review(issue_id: int) -> str:
    session = request_session()
    issue = get_issue(session, issue_id)
    rendered = render_for_review(get_settings(), issue)
    rendered = dataclasses.replace(rendered, checks=with_edition_check(issue, rendered.checks))
    return render_template(
        "editor/review.html",
        issue=issue,
        rendered=rendered,
        comments=review_comments(session, issue),
        **_choices(),
    )


@bp.post("/<int:issue_id>/approve")
@roles_required(Role.APPROVER)
def approve_issue(issue_id: int) -> WerkzeugResponse:
    session = request_session()
    topic_ids = [int(t) for t in request.form.getlist("topic_ids") if t.isdigit()]
    segment = _segment(request.form.get("segment_key", ""), request.form.get("segment_value", ""))
    comment = request.form.get("comment", "")
    approve(
        session, get_issue(session, issue_id), current_user, topic_ids, segment, comment=comment
    )
    session.commit()
    flash("Approved for this revision and audience. Any later edit voids the approval.", "success")
    return redirect(url_for("editor.review", issue_id=issue_id))


@bp.post("/<int:issue_id>/return")
@roles_required(Role.APPROVER)
def return_issue(issue_id: int) -> WerkzeugResponse:
    session = request_session()
    return_to_draft(
        session, get_issue(session, issue_id), current_user, request.form.get("comment", "")
    )
    session.commit()
    flash("Returned to draft.", "info")
    return redirect(url_for("editor.review", issue_id=issue_id))


@bp.get("/<int:issue_id>/history")
@roles_required(Role.EDITOR, Role.APPROVER)
def history(issue_id: int) -> str:
    session = request_session()
    issue = get_issue(session, issue_id)
    return render_template(
        "editor/history.html", issue=issue, revisions=list_revisions(session, issue)
    )


@bp.get("/<int:issue_id>/diff")
@roles_required(Role.EDITOR, Role.APPROVER)
def diff(issue_id: int) -> str:
    session = request_session()
    issue = get_issue(session, issue_id)
    new = request.args.get("to", issue.revision, type=int)
    old = request.args.get("from", type=int) or previous_number(session, issue, new)
    changes = diff_revisions(session, issue, old, new)
    return render_template("editor/diff.html", issue=issue, old=old, new=new, changes=changes)


@bp.post("/<int:issue_id>/history/<int:number>/restore")
@roles_required(Role.EDITOR)
def restore(issue_id: int, number: int) -> WerkzeugResponse:
    session = request_session()
    issue = restore_revision(session, get_issue(session, issue_id), number, current_user)
    session.commit()
    flash(f"Revision {number} restored as revision {issue.revision}.", "success")
    return redirect(url_for("editor.edit", issue_id=issue_id))


def _segment(key: str, value: str) -> dict[str, str]:
    key = key.strip()
    return {key: value.strip()} if key else {}


def init_app(app: Flask) -> None:
    """Register the editor pages."""
    app.register_blueprint(bp)
