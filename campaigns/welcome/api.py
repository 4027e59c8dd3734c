"""Welcome emails over the API: list them, create one, turn one on or off, send what is due."""

from __future__ import annotations

from dataclasses import asdict
from typing import Any

from flask import Flask
from flask_smorest import Blueprint
from marshmallow import Schema, fields, validate

from campaigns.welcome.delivering import send_pending_welcomes
from campaigns.welcome.models import WelcomeDeliveryStatus, WelcomeMessage
from campaigns.welcome.service import (
    WelcomeState,
    create_welcome,
    delivery_counts,
    get_welcome,
    list_welcomes,
    read_scope,
    set_welcome_active,
    welcome_state,
)
from engine.api import register
from engine.api.auth import current_api_user, require_role
from engine.api.idempotency import IDEMPOTENCY_PARAMETER, idempotent
from engine.api.schemas import ErrorSchema
from engine.db import get_database, request_session
from engine.users import Role
from engine.web import get_settings

bp = Blueprint("welcome_api", __name__, url_prefix="/api/v1", description="Welcome emails.")


class WelcomeSchema(Schema):
    id = fields.Integer(required=True)
    for_all = fields.Boolean(
        required=True, metadata={"description": "It covers every topic without a welcome."}
    )
    category = fields.String(
        allow_none=True,
        required=True,
        metadata={"description": "The topic category it welcomes to; null for all."},
    )
    scope = fields.String(required=True, metadata={"description": "Whom it is for, in words."})
    active = fields.Boolean(required=True)
    state = fields.String(
        required=True,
        validate=validate.OneOf([str(state) for state in WelcomeState]),
        metadata={"description": "on: sending; awaiting_approval: on, its issue not approved."},
    )
    issue_id = fields.Integer(required=True, metadata={"description": "Edit it as an issue."})
    issue_status = fields.String(required=True)
    enabled_at = fields.DateTime(required=True)
    deliveries = fields.Dict(
        keys=fields.String(validate=validate.OneOf([str(s) for s in WelcomeDeliveryStatus])),
        values=fields.Integer(),
        required=True,
        metadata={"description": "How many deliveries have each status."},
    )


class WelcomeListSchema(Schema):
    items = fields.List(fields.Nested(WelcomeSchema), required=True)


class WelcomeCreateSchema(Schema):
    category = fields.String(
        load_default=None,
        allow_none=True,
        validate=validate.Length(max=120),
        metadata={"description": "A topic category; null or left out: one welcome for all."},
    )


class WelcomeUpdateSchema(Schema):
    active = fields.Boolean(required=True, metadata={"description": "false turns it off."})


class WelcomeRunSchema(Schema):
    sent = fields.Integer(required=True)
    retrying = fields.Integer(required=True)
    failed = fields.Integer(required=True)
    skipped = fields.Integer(required=True)
    lost = fields.Integer(required=True, metadata={"description": "Taken by another sender."})
    not_known = fields.Integer(
        required=True,
        metadata={"description": "Handed over with no answer: may have arrived, never resent."},
    )
    credentials_refused = fields.Boolean(
        required=True,
        metadata={"description": "The provider refused our credentials: the round stopped."},
    )


def _serialise(welcome: WelcomeMessage, counts: dict[int, Any]) -> dict[str, Any]:
    return {
        "id": welcome.id,
        "for_all": welcome.for_all,
        "category": None if welcome.for_all else welcome.category,
        "scope": welcome.scope_label,
        "active": welcome.active,
        "state": str(welcome_state(welcome)),
        "issue_id": welcome.issue_id,
        "issue_status": str(welcome.issue.status),
        "enabled_at": welcome.enabled_at,
        "deliveries": {str(k): v for k, v in counts.get(welcome.id, {}).items()},
    }


@bp.get("/welcome")
@require_role(Role.EDITOR)
@bp.response(200, WelcomeListSchema)
def welcome_index() -> dict[str, Any]:
    """List the welcome emails: the one for all first, then by category."""
    session = request_session()
    counts = delivery_counts(session)
    return {"items": [_serialise(welcome, counts) for welcome in list_welcomes(session)]}


@bp.post("/welcome")
@idempotent
@require_role(Role.EDITOR)
@bp.doc(parameters=[IDEMPOTENCY_PARAMETER])
@bp.arguments(WelcomeCreateSchema)
@bp.response(201, WelcomeSchema)
@bp.alt_response(409, schema=ErrorSchema, description="That scope has a welcome already.")
def welcome_create(data: dict[str, Any]) -> dict[str, Any]:
    """Create the welcome for a category (or for all) and its draft issue, to edit and approve."""
    session = request_session()
    welcome = create_welcome(
        session, read_scope(session, data["category"]), actor=current_api_user()
    )
    session.commit()
    return _serialise(welcome, {})


@bp.get("/welcome/<id:welcome_id>")
@require_role(Role.EDITOR)
@bp.response(200, WelcomeSchema)
def welcome_show(welcome_id: int) -> dict[str, Any]:
    """Return a welcome email and how many it has sent."""
    session = request_session()
    return _serialise(get_welcome(session, welcome_id), delivery_counts(session))


@bp.patch("/welcome/<id:welcome_id>")
@require_role(Role.EDITOR)
@bp.arguments(WelcomeUpdateSchema)
@bp.response(200, WelcomeSchema)
def welcome_update(data: dict[str, Any], welcome_id: int) -> dict[str, Any]:
    """Turn a welcome email on (for subscriptions confirmed from now) or off."""
    session = request_session()
    welcome = get_welcome(session, welcome_id)
    set_welcome_active(session, welcome, data["active"], actor=current_api_user())
    session.commit()
    return _serialise(welcome, delivery_counts(session))


@bp.post("/welcome/send-pending")
@require_role(Role.EDITOR)
@bp.response(200, WelcomeRunSchema)
def welcome_send_pending() -> dict[str, Any]:
    """Send the welcomes due now (the scheduler does this every minute)."""
    request_session().commit()  # the round writes in transactions of its own
    return asdict(send_pending_welcomes(get_database(), get_settings()))


def init_app(app: Flask) -> None:
    """Register the welcome email API."""
    register(app, bp)
