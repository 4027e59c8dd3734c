"""The editor's "Write a correction" button: whether a sent issue offers it, and what it does."""

from __future__ import annotations

from flask import Blueprint, Flask, flash, redirect, url_for
from flask_login import current_user
from werkzeug.wrappers import Response as WerkzeugResponse

from campaigns.corrections.service import create_correction
from campaigns.issues.models import Issue
from campaigns.issues.service import get_issue
from campaigns.sending.audiences import was_sent
from engine.auth import roles_required
from engine.db import request_session
from engine.users import Role

bp = Blueprint("corrections", __name__, url_prefix="/admin/issues")


@bp.post("/<int:issue_id>/corrections")
@roles_required(Role.EDITOR)
def create(issue_id: int) -> WerkzeugResponse:
    session = request_session()
    correction = create_correction(session, get_issue(session, issue_id), current_user)
    session.commit()
    flash(
        "Correction started: write what was wrong and what is right, with a one-line summary "
        "for the original's web view, then request review.",
        "success",
    )
    return redirect(url_for("editor.edit", issue_id=correction.id))


def _correctable(issue: Issue) -> bool:
    """Whether the editor offers "Write a correction": an original that some send reached."""
    return issue.edition_of_id is None and was_sent(request_session(), issue.id)


def init_app(app: Flask) -> None:
    """Register the corrections action and the editor's question about it."""
    app.register_blueprint(bp)
    app.add_template_global(_correctable, "correctable")
