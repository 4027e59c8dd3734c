"""The delivery-event API: a campaign's provider events and report, a topic's comparison."""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa
from flask import Flask
from flask_smorest import Blueprint
from marshmallow import Schema, fields, validate

from campaigns.events.api_schemas import ComparisonQuerySchema, ComparisonSchema, ReportSchema
from campaigns.events.comparison import topic_comparison
from campaigns.events.models import DeliveryEvent
from campaigns.events.reports import campaign_report
from campaigns.sending.service import get_campaign
from engine.api import register
from engine.api.auth import require_role
from engine.api.pagination import cursor_page
from engine.api.schemas import CursorQuerySchema, page_schema
from engine.db import request_session
from engine.delivery.events import EventKind
from engine.users import Role
from engine.web import get_settings

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


@bp.get("/campaigns/<id:campaign_id>/report")
@require_role(*READERS)
@bp.response(200, ReportSchema)
def campaigns_report(campaign_id: int) -> dict[str, Any]:
    """Return counts and rates from delivery events, clicks per link and the timeline.

    The timeline counts events per hour for the first two days of the send, then per day, in
    the organisation's time zone; its periods are given in UTC.
    """
    return campaign_report(request_session(), campaign_id, get_settings().TIMEZONE).as_json()


@bp.get("/topics/<slug>/comparison")
@require_role(*READERS)
@bp.arguments(ComparisonQuerySchema, location="query")
@bp.response(200, ComparisonSchema)
def topics_comparison(args: dict[str, Any], slug: str) -> dict[str, Any]:
    """Compare the topic's last sent campaigns (10 unless ``limit`` says), newest first."""
    return topic_comparison(request_session(), slug, limit=args["limit"]).as_json()


def init_app(app: Flask) -> None:
    """Register the event API."""
    register(app, bp)
