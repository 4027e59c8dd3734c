"""Corrections over the API: start one for a sent issue, list an issue's corrections."""

from __future__ import annotations

from typing import Any

from flask import Flask
from flask_smorest import Blueprint
from marshmallow import Schema, fields

from campaigns.corrections.service import create_correction
from campaigns.issues.api_schemas import IssueSchema, IssueSummarySchema
from campaigns.issues.models import Issue
from campaigns.issues.service import corrections_of, get_issue
from engine.api import register
from engine.api.auth import current_api_user, require_role
from engine.api.idempotency import IDEMPOTENCY_PARAMETER, idempotent
from engine.api.schemas import ErrorSchema
from engine.db import request_session
from engine.users import Role

bp = Blueprint("corrections_api", __name__, url_prefix="/api/v1", description="Corrections.")
READERS = (Role.EDITOR, Role.APPROVER)


class CorrectionListSchema(Schema):
    items = fields.List(fields.Nested(IssueSummarySchema), required=True)


@bp.get("/issues/<id:issue_id>/corrections")
@require_role(*READERS)
@bp.response(200, CorrectionListSchema)
def corrections_index(issue_id: int) -> dict[str, Any]:
    """List the corrections written for an issue, oldest first (sent or not)."""
    session = request_session()
    return {"items": corrections_of(session, get_issue(session, issue_id))}


@bp.post("/issues/<id:issue_id>/corrections")
@idempotent
@require_role(Role.EDITOR)
@bp.doc(parameters=[IDEMPOTENCY_PARAMETER])
@bp.response(201, IssueSchema)
@bp.alt_response(409, schema=ErrorSchema, description="No send of the issue reached anyone.")
def corrections_create(issue_id: int) -> Issue:
    """Start a correction of a sent issue: a short draft issue, reviewed and approved as any.

    A campaign of it (``POST /campaigns`` with its ``issue_id``; topics may be left out) goes
    to the people the original was accepted for, and, with ``include_uncertain``, its uncertain
    recipients too. Once it is sent, the original's web view, archive entry and Atom entry show
    a dated note with the correction's summary, linking to it.
    """
    session = request_session()
    correction = create_correction(session, get_issue(session, issue_id), current_api_user())
    session.commit()
    return correction


def init_app(app: Flask) -> None:
    """Register the corrections API."""
    register(app, bp)
