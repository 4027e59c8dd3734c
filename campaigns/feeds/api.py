"""Watched feeds over the API: list, add, pause or resume, remove, and check now."""

from __future__ import annotations

from typing import Any

from flask import Flask
from flask_smorest import Blueprint
from marshmallow import Schema, fields, validate

from campaigns.feeds.checking import CheckOutcome, check_feed
from campaigns.feeds.egress import AddressPolicy
from campaigns.feeds.models import WatchedFeed
from campaigns.feeds.service import add_feed, get_feed, list_feeds, remove_feed, set_feed_active
from engine.api import register
from engine.api.auth import current_api_user, require_role
from engine.api.idempotency import IDEMPOTENCY_PARAMETER, idempotent
from engine.api.schemas import ErrorSchema
from engine.db import get_database, request_session
from engine.users import Role
from engine.web import get_settings

bp = Blueprint("feeds_api", __name__, url_prefix="/api/v1", description="Watched feeds.")


class FeedSchema(Schema):
    id = fields.Integer(required=True)
    url = fields.String(required=True)
    title = fields.String(required=True, metadata={"description": "The feed's own title."})
    topic = fields.Function(lambda feed: feed.topic.slug, required=True)
    active = fields.Boolean(required=True)
    primed = fields.Function(
        lambda feed: feed.primed_at is not None,
        required=True,
        metadata={"description": "The first check recorded the items already there."},
    )
    last_checked_at = fields.DateTime(allow_none=True, required=True)
    last_error = fields.String(required=True)
    drafts_made = fields.Integer(required=True)
    last_issue_id = fields.Integer(allow_none=True, required=True)
    created_at = fields.DateTime(required=True)


class FeedCreateSchema(Schema):
    url = fields.String(required=True, validate=validate.Length(min=1, max=2000))
    topic = fields.String(
        required=True,
        validate=validate.Length(min=1, max=80),
        metadata={"description": "Slug of the topic the drafts are for."},
    )


class FeedUpdateSchema(Schema):
    active = fields.Boolean(
        required=True, metadata={"description": "false pauses the scheduler's checks."}
    )


class FeedListSchema(Schema):
    items = fields.List(fields.Nested(FeedSchema), required=True)


class FeedCheckSchema(Schema):
    feed_id = fields.Integer(required=True)
    outcome = fields.String(
        required=True, validate=validate.OneOf([str(outcome) for outcome in CheckOutcome])
    )
    message = fields.String(required=True)
    issue_id = fields.Integer(
        allow_none=True, required=True, metadata={"description": "The draft made, if any."}
    )
    new_items = fields.Integer(required=True)


@bp.get("/feeds")
@require_role(Role.EDITOR)
@bp.response(200, FeedListSchema)
def feeds_index() -> dict[str, Any]:
    """List watched feeds, the oldest first."""
    return {"items": list_feeds(request_session())}


@bp.post("/feeds")
@idempotent
@require_role(Role.EDITOR)
@bp.doc(parameters=[IDEMPOTENCY_PARAMETER])
@bp.arguments(FeedCreateSchema)
@bp.response(201, FeedSchema)
@bp.alt_response(409, schema=ErrorSchema, description="Already watched for this topic.")
def feeds_create(data: dict[str, Any]) -> WatchedFeed:
    """Watch a feed for a topic; check it (``POST /feeds/{id}/check``) to record its items."""
    session = request_session()
    policy = AddressPolicy.from_setting(get_settings().FEED_ALLOWED_HOSTS)
    feed = add_feed(session, data["url"], data["topic"], policy=policy, actor=current_api_user())
    session.commit()
    return feed


@bp.get("/feeds/<id:feed_id>")
@require_role(Role.EDITOR)
@bp.response(200, FeedSchema)
def feeds_show(feed_id: int) -> WatchedFeed:
    """Return a watched feed."""
    return get_feed(request_session(), feed_id)


@bp.patch("/feeds/<id:feed_id>")
@require_role(Role.EDITOR)
@bp.arguments(FeedUpdateSchema)
@bp.response(200, FeedSchema)
def feeds_update(data: dict[str, Any], feed_id: int) -> WatchedFeed:
    """Pause (``active: false``) or resume a feed."""
    session = request_session()
    feed = get_feed(session, feed_id)
    set_feed_active(session, feed, data["active"], actor=current_api_user())
    session.commit()
    return feed


@bp.delete("/feeds/<id:feed_id>")
@require_role(Role.EDITOR)
@bp.response(204)
def feeds_delete(feed_id: int) -> None:
    """Stop watching a feed; the drafts it made stay."""
    session = request_session()
    remove_feed(session, get_feed(session, feed_id), actor=current_api_user())
    session.commit()


@bp.post("/feeds/<id:feed_id>/check")
@require_role(Role.EDITOR)
@bp.response(200, FeedCheckSchema)
def feeds_check(feed_id: int) -> dict[str, Any]:
    """Check a feed now: new items make one draft issue (``outcome`` says what happened)."""
    session = request_session()
    get_feed(session, feed_id)
    session.commit()  # the check writes in transactions of its own; this one would hold them
    result = check_feed(get_database(), get_settings(), feed_id, actor=current_api_user())
    return result.as_json()


def init_app(app: Flask) -> None:
    """Register the feeds API."""
    register(app, bp)
