"""The campaign API: create, test-send and steer campaigns; progress and deliveries.

Scheduling and sending now live in ``campaigns.scheduling.api``, the report in
``campaigns.events.api``: the same ``/api/v1/campaigns/…`` paths.
"""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa
from flask import Flask
from flask_smorest import Blueprint

from campaigns.issues.service import get_issue
from campaigns.sending import api_schemas as s
from campaigns.sending.dispatch import dispatch_campaign
from campaigns.sending.models import Campaign, Delivery
from campaigns.sending.progress import campaign_progress
from campaigns.sending.proofs import test_send
from campaigns.sending.recovery import resend_uncertain
from campaigns.sending.service import (
    cancel_campaign,
    create_campaign,
    get_campaign,
    pause_campaign,
    resume_campaign,
)
from engine import audit
from engine.api import register
from engine.api.auth import current_api_user, require_role
from engine.api.idempotency import IDEMPOTENCY_PARAMETER, idempotent
from engine.api.pagination import cursor_page
from engine.db import get_database, request_session
from engine.users import Role
from engine.web import get_settings
from subscribers.models import Topic

bp = Blueprint("campaigns_api", __name__, url_prefix="/api/v1", description="Campaigns.")


def _deliver(campaign_id: int) -> None:
    dispatch_campaign(get_database(), get_settings(), campaign_id)


@bp.get("/campaigns")
@require_role(Role.EDITOR)
@bp.arguments(s.CampaignQuerySchema, location="query")
@bp.response(200, s.CampaignPageSchema)
def campaigns_index(args: dict[str, Any]) -> dict[str, Any]:
    """List campaigns, oldest first, optionally by status."""
    query = sa.select(Campaign)
    if args.get("status"):
        query = query.where(Campaign.status == args["status"])
    return cursor_page(request_session(), query, Campaign.id, args)


@bp.post("/campaigns")
@idempotent
@require_role(Role.EDITOR)
@bp.doc(parameters=[IDEMPOTENCY_PARAMETER])
@bp.arguments(s.CampaignCreateSchema)
@bp.response(201, s.CampaignSchema)
def campaigns_create(data: dict[str, Any]) -> Campaign:
    """Create a draft campaign that freezes the issue's latest revision."""
    session = request_session()
    issue = get_issue(session, data["issue_id"])
    topics = list(session.scalars(sa.select(Topic).where(Topic.id.in_(data["topic_ids"]))))
    campaign = create_campaign(
        session,
        issue,
        topics,
        name=data["name"],
        segment=data["segment"],
        settings=get_settings(),
        tracking=data["tracking"],
        include_uncertain=data["include_uncertain"],
    )
    audit.record(
        session,
        current_api_user(),
        "campaign.create",
        campaign,
        issue_id=issue.id,
        tracking=campaign.tracking,
    )
    session.commit()
    return campaign


@bp.get("/campaigns/<id:campaign_id>")
@require_role(Role.EDITOR)
@bp.response(200, s.CampaignShowSchema)
def campaigns_show(campaign_id: int) -> Campaign:
    """Return a campaign, with warnings about editions its readers will not get."""
    return get_campaign(request_session(), campaign_id)


@bp.post("/campaigns/<id:campaign_id>/test-send")
@idempotent
@require_role(Role.EDITOR)
@bp.doc(parameters=[IDEMPOTENCY_PARAMETER])
@bp.arguments(s.TestSendSchema)
@bp.response(200, s.TestSendResultSchema)
def campaigns_test_send(data: dict[str, Any], campaign_id: int) -> dict[str, Any]:
    """Send a [Test] copy to up to ten addresses; the campaign itself does not change."""
    session = request_session()
    campaign = get_campaign(session, campaign_id)
    results = test_send(session, campaign, data["addresses"], settings=get_settings())
    accepted = sum(1 for result in results if result.status == "accepted")
    rows = [{"status": str(result.status), "error": result.error} for result in results]
    return {"accepted": accepted, "results": rows}


@bp.post("/campaigns/<id:campaign_id>/pause")
@require_role(Role.EDITOR)
@bp.response(200, s.CampaignSchema)
def campaigns_pause(campaign_id: int) -> Campaign:
    """Pause a sending campaign; batches already with the provider finish."""
    session = request_session()
    pause_campaign(session, campaign_id)
    audit.record(session, current_api_user(), "campaign.pause", ("campaign", campaign_id))
    session.commit()
    return get_campaign(session, campaign_id)


@bp.post("/campaigns/<id:campaign_id>/resume")
@require_role(Role.EDITOR)
@bp.response(200, s.CampaignSchema)
def campaigns_resume(campaign_id: int) -> Campaign:
    """Resume a paused campaign where it stopped."""
    session = request_session()
    resume_campaign(session, campaign_id, approval_threshold=get_settings().APPROVAL_THRESHOLD)
    audit.record(session, current_api_user(), "campaign.resume", ("campaign", campaign_id))
    session.commit()
    _deliver(campaign_id)
    return get_campaign(session, campaign_id)


@bp.post("/campaigns/<id:campaign_id>/cancel")
@require_role(Role.EDITOR)
@bp.response(200, s.CampaignSchema)
def campaigns_cancel(campaign_id: int) -> Campaign:
    """Cancel a campaign for good; deliveries not yet handed over are never sent."""
    session = request_session()
    cancel_campaign(session, campaign_id)
    audit.record(session, current_api_user(), "campaign.cancel", ("campaign", campaign_id))
    session.commit()
    return get_campaign(session, campaign_id)


@bp.post("/campaigns/<id:campaign_id>/resend-uncertain")
@idempotent
@require_role(Role.EDITOR)
@bp.doc(parameters=[IDEMPOTENCY_PARAMETER])
@bp.response(200, s.ResendSchema)
def campaigns_resend_uncertain(campaign_id: int) -> dict[str, Any]:
    """Queue the uncertain recipients again (some may receive two copies)."""
    session = request_session()
    queued = resend_uncertain(
        session, campaign_id, approval_threshold=get_settings().APPROVAL_THRESHOLD
    )
    audit.record(
        session, current_api_user(), "campaign.resend_uncertain", ("campaign", campaign_id)
    )
    session.commit()
    if queued:
        _deliver(campaign_id)
    return {"queued": queued, "campaign": get_campaign(session, campaign_id)}


@bp.get("/campaigns/<id:campaign_id>/progress")
@require_role(Role.EDITOR)
@bp.response(200, s.ProgressSchema)
def campaigns_progress(campaign_id: int) -> dict[str, Any]:
    """Return deliveries per state, rate and ETA."""
    return campaign_progress(request_session(), campaign_id).as_json()


@bp.get("/campaigns/<id:campaign_id>/deliveries")
@require_role(Role.EDITOR)
@bp.arguments(s.DeliveryQuerySchema, location="query")
@bp.response(200, s.DeliveryPageSchema)
def campaigns_deliveries(args: dict[str, Any], campaign_id: int) -> dict[str, Any]:
    """List the campaign's deliveries, optionally by status."""
    session = request_session()
    get_campaign(session, campaign_id)
    query = sa.select(Delivery).where(Delivery.campaign_id == campaign_id)
    if args.get("status"):
        query = query.where(Delivery.status == args["status"])
    return cursor_page(session, query, Delivery.id, args)


def init_app(app: Flask) -> None:
    """Register the campaign API."""
    register(app, bp)
