"""The delivery-event API: a campaign's stored provider events, page by page."""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa
from flask import Flask
from flask_smorest import Blueprint
from marshmallow import Schema, fields, validate

from campaigns.events.models import DeliveryEvent
from campaigns.sending.service import get_campaign
from engine.api import register
from engine.api.auth import require_role
from engine.api.pagination import cursor_page
from engine.api.schemas import CursorQuerySchema, page_schema
from engine.db import request_session
from engine.delivery.events import EventKind
from engine.users import Role

bp = Blueprint("events_api", __name__, url_prefix="/api/v1", description="Delivery events.")
READERS = (Role.EDITOR, Role.APPROVER)


class EventQuerySchema(CursorQuerySchema):
    kind = fields.String(validate=validate.OneOf([str(kind) for kind in EventKind]))


class EventSchema(Schema):
    """A stored provider event; the payload never holds an address, IP or user agent."""

    id = fields.Integer(required=True)
    delivery_id = fields.Integer(allow_none=True)
    kind = fields.String(required=True)
    occurred_at = fields.DateTime(required=True)
    received_at = fields.DateTime(required=True)
    bounce_type = fields.String(allow_none=True)
    machine_open = fields.Boolean(required=True)
    url = fields.String(allow_none=True)
    reason = fields.String(allow_none=True)


EventPageSchema = page_schema(EventSchema, "EventPage")


@bp.get("/campaigns/<id:campaign_id>/events")
@require_role(*READERS)
@bp.arguments(EventQuerySchema, location="query")
@bp.response(200, EventPageSchema)
def events_index(args: dict[str, Any], campaign_id: int) -> dict[str, Any]:
    """List a campaign's delivery events in the order they were stored, optionally by kind."""
    session = request_session()
    get_campaign(session, campaign_id)
    query = sa.select(DeliveryEvent).where(DeliveryEvent.campaign_id == campaign_id)
    if args.get("kind"):
        query = query.where(DeliveryEvent.kind == args["kind"])
    return cursor_page(session, query, DeliveryEvent.id, args)


def init_app(app: Flask) -> None:
    """Register the event API."""
    register(app, bp)
