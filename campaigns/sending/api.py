"""The campaign API: create, schedule, send and steer campaigns; progress, deliveries, report."""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa
from flask import Flask
from flask_smorest import Blueprint
from sqlalchemy.orm import Session

from campaigns.events.reports import campaign_report
from campaigns.issues.service import get_issue
from campaigns.issues.workflow import ensure_send_allowed
from campaigns.schedule import schedule_at, schedule_for_observance, unschedule
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
    send_now,
)
from engine import audit
from engine.api import register
from engine.api.actor import token_actor
from engine.api.auth import require_role
from engine.api.idempotency import IDEMPOTENCY_PARAMETER, idempotent
from engine.api.pagination import cursor_page
from engine.clock import now
from engine.db import get_database, request_session
from engine.users import Role
from engine.web import get_settings
from subscribers.audience import count_audience
from subscribers.models import Topic

bp = Blueprint("campaigns_api", __name__, url_prefix="/api/v1", description="Campaigns.")
READERS = (Role.EDITOR, Role.APPROVER)


def _ensure_allowed(session: Session, campaign: Campaign) -> None:
    """Refuse a send whose audience is past the threshold without a matching approval."""
    settings = get_settings()
    count = count_audience(session, [topic.id for topic in campaign.topics], campaign.segment)
    ensure_send_allowed(session, campaign, count, settings.APPROVAL_THRESHOLD)


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
        session, issue, topics, name=data["name"], segment=data["segment"], settings=get_settings()
    )
    audit.record(session, token_actor(), "campaign.create", campaign, issue_id=issue.id)
    session.commit()
    return campaign


@bp.get("/campaigns/<id:campaign_id>")
@require_role(Role.EDITOR)
@bp.response(200, s.CampaignSchema)
def campaigns_show(campaign_id: int) -> Campaign:
    """Return a campaign."""
    return get_campaign(request_session(), campaign_id)


@bp.post("/campaigns/<id:campaign_id>/schedule")
@require_role(Role.EDITOR)
@bp.arguments(s.ScheduleSchema)
@bp.response(200, s.CampaignSchema)
def campaigns_schedule(data: dict[str, Any], campaign_id: int) -> Campaign:
    """Schedule at a wall-clock time in a zone, or by an observance and a send rule."""
    session = request_session()
    _ensure_allowed(session, get_campaign(session, campaign_id))
    tz = data["tz"] or get_settings().TIMEZONE
    per_reader = data["local_time_zones"]
    if data["mode"] == "absolute":
        campaign = schedule_at(
            session, campaign_id, data["local"], tz, now=now(), local_time_zones=per_reader
        )
    else:
        campaign = schedule_for_observance(
            session, campaign_id, observance=data["observance"], rule=data["rule"], tz=tz,
            now=now(), year=data.get("year"), skip_weekends=data["skip_weekends"],
            skip_holidays=data["skip_holidays"], local_time_zones=per_reader,
        )  # fmt: skip
    audit.record(session, token_actor(), "campaign.schedule", campaign, send_at=campaign.send_at)
    session.commit()
    return campaign


@bp.delete("/campaigns/<id:campaign_id>/schedule")
@require_role(Role.EDITOR)
@bp.response(200, s.CampaignSchema)
def campaigns_unschedule(campaign_id: int) -> Campaign:
    """Turn a scheduled campaign back into a draft."""
    session = request_session()
    campaign = unschedule(session, campaign_id, now=now())
    session.commit()
    return campaign


@bp.post("/campaigns/<id:campaign_id>/send")
@idempotent
@require_role(Role.EDITOR)
@bp.doc(parameters=[IDEMPOTENCY_PARAMETER])
@bp.response(202, s.CampaignSchema)
def campaigns_send(campaign_id: int) -> Campaign:
    """Start a draft or scheduled campaign now; it can only be sent once."""
    session = request_session()
    _ensure_allowed(session, get_campaign(session, campaign_id))
    campaign = send_now(session, campaign_id, batch_size=get_settings().BATCH_SIZE)
    audit.record(session, token_actor(), "campaign.send", campaign)
    session.commit()
    _deliver(campaign_id)
    return campaign


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
    audit.record(session, token_actor(), "campaign.pause", ("campaign", campaign_id))
    session.commit()
    return get_campaign(session, campaign_id)


@bp.post("/campaigns/<id:campaign_id>/resume")
@require_role(Role.EDITOR)
@bp.response(200, s.CampaignSchema)
def campaigns_resume(campaign_id: int) -> Campaign:
    """Resume a paused campaign where it stopped."""
    session = request_session()
    resume_campaign(session, campaign_id)
    audit.record(session, token_actor(), "campaign.resume", ("campaign", campaign_id))
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
    audit.record(session, token_actor(), "campaign.cancel", ("campaign", campaign_id))
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
    queued = resend_uncertain(session, campaign_id)
    audit.record(session, token_actor(), "campaign.resend_uncertain", ("campaign", campaign_id))
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


@bp.get("/campaigns/<id:campaign_id>/report")
@require_role(*READERS)
@bp.response(200, s.ReportSchema)
def campaigns_report(campaign_id: int) -> dict[str, Any]:
    """Return counts and rates from delivery events, clicks per link and an hourly timeline."""
    report = campaign_report(request_session(), campaign_id)
    counts = report.counts
    rates = {
        name: getattr(counts, f"{name}_rate")
        for name in ("delivery", "bounce", "complaint", "unsubscribe", "open", "click")
    }
    return {
        "campaign_id": campaign_id,
        "status": str(report.campaign.status),
        "auto_paused": report.auto_paused,
        "counts": counts,
        "rates": rates,
        "links": report.links,
        "timeline": report.timeline,
        "pixel_opens": report.pixel_opens,
    }


def init_app(app: Flask) -> None:
    """Register the campaign API."""
    register(app, bp)
