"""The observance API: the calendar of a year, and staff-defined observances."""

from __future__ import annotations

from typing import Any

from flask import Flask
from flask_smorest import Blueprint
from marshmallow import Schema, fields, validate

from campaigns.observances.catalogue import Occurrence
from campaigns.observances.models import StaffObservance
from campaigns.observances.service import (
    add_observance,
    edit_observance,
    get_staff_observance,
    occurrences_in_year,
    retire_observance,
    staff_observances,
)
from engine.api import register
from engine.api.auth import require_role
from engine.api.fields import text_field
from engine.api.idempotency import IDEMPOTENCY_PARAMETER, idempotent
from engine.clock import now
from engine.db import request_session
from engine.users import Role

bp = Blueprint("observances_api", __name__, url_prefix="/api/v1", description="Observances.")
READERS = (Role.EDITOR, Role.APPROVER)


class YearQuerySchema(Schema):
    year = fields.Integer(validate=validate.Range(min=1900, max=2200))


class OccurrenceSchema(Schema):
    slug = fields.String(required=True)
    name = fields.String(required=True)
    kind = fields.String(required=True)
    source = fields.String(required=True, metadata={"description": "catalogue or staff"})
    region = fields.String(required=True)
    topic = fields.String(required=True)
    colour = fields.String(required=True)
    start = fields.Date(required=True)
    end = fields.Date(required=True)
    days = fields.Integer(required=True)


class CalendarSchema(Schema):
    year = fields.Integer(required=True)
    items = fields.List(fields.Nested(OccurrenceSchema), required=True)


class StaffObservanceSchema(Schema):
    """A staff observance; ``rule`` has the catalogue form, e.g. {"type": "month", "month": 4}."""

    slug = fields.String(required=True, validate=validate.Length(min=1, max=80))
    name = fields.String(required=True, validate=validate.Length(min=1, max=200))
    kind = fields.String(required=True, validate=validate.OneOf(["month", "week", "day"]))
    rule = fields.Dict(required=True)
    region = text_field(80, load_default="US")
    description = fields.String(required=True, validate=validate.Length(min=1, max=2000))
    topic = fields.String(required=True, validate=validate.Length(min=1, max=80))
    colour = fields.String(required=True, validate=validate.Regexp(r"^#[0-9A-Fa-f]{6}$"))
    banner = text_field(200, allow_none=True, load_default=None)
    retired = fields.Boolean(dump_only=True)
    created_at = fields.DateTime(dump_only=True)


class StaffObservanceUpdateSchema(StaffObservanceSchema):
    class Meta:
        exclude = ("slug",)


class StaffObservanceListSchema(Schema):
    items = fields.List(fields.Nested(StaffObservanceSchema), required=True)


def _occurrence(occurrence: Occurrence) -> dict[str, Any]:
    observance, window = occurrence.observance, occurrence.window
    return {
        **{key: getattr(observance, key) for key in ("slug", "name", "region", "topic", "colour")},
        "kind": str(observance.kind),
        "source": str(observance.source),
        "start": window.start,
        "end": window.end,
        "days": window.days,
    }


@bp.get("/observances")
@require_role(*READERS)
@bp.arguments(YearQuerySchema, location="query")
@bp.response(200, CalendarSchema)
def observances_index(args: dict[str, Any]) -> dict[str, Any]:
    """List every observance (catalogue and staff) with its window in a year (default: this)."""
    year = args.get("year", now().year)
    occurrences = occurrences_in_year(request_session(), year)
    return {"year": year, "items": [_occurrence(occurrence) for occurrence in occurrences]}


@bp.get("/observances/staff")
@require_role(*READERS)
@bp.response(200, StaffObservanceListSchema)
def staff_index() -> dict[str, Any]:
    """List staff-defined observances, retired ones included."""
    return {"items": staff_observances(request_session(), include_retired=True)}


@bp.post("/observances/staff")
@idempotent
@require_role(Role.EDITOR)
@bp.doc(parameters=[IDEMPOTENCY_PARAMETER])
@bp.arguments(StaffObservanceSchema)
@bp.response(201, StaffObservanceSchema)
def staff_create(data: dict[str, Any]) -> StaffObservance:
    """Add an observance beside the catalogue."""
    session = request_session()
    row = add_observance(session, data)
    session.commit()
    return row


@bp.get("/observances/staff/<slug>")
@require_role(*READERS)
@bp.response(200, StaffObservanceSchema)
def staff_show(slug: str) -> StaffObservance:
    """Return a staff observance."""
    return get_staff_observance(request_session(), slug)


@bp.put("/observances/staff/<slug>")
@require_role(Role.EDITOR)
@bp.arguments(StaffObservanceUpdateSchema)
@bp.response(200, StaffObservanceSchema)
def staff_update(data: dict[str, Any], slug: str) -> StaffObservance:
    """Replace a staff observance's fields (its slug stays)."""
    session = request_session()
    row = edit_observance(session, slug, data)
    session.commit()
    return row


@bp.delete("/observances/staff/<slug>")
@require_role(Role.EDITOR)
@bp.response(200, StaffObservanceSchema)
def staff_retire(slug: str) -> StaffObservance:
    """Retire a staff observance: off the calendar, its slug kept for old issues."""
    session = request_session()
    row = retire_observance(session, slug)
    session.commit()
    return row


def init_app(app: Flask) -> None:
    """Register the observance API."""
    register(app, bp)
