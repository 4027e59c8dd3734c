"""The campaign API's "when": schedule, unschedule and send now (``/api/v1/campaigns/<id>/…``)."""

from __future__ import annotations

from typing import Any

from flask import Flask
from flask_smorest import Blueprint

from campaigns.scheduling.service import schedule_at, schedule_for_observance, unschedule
from campaigns.scheduling.starting import send_now
from campaigns.sending import api_schemas as s
from campaigns.sending.dispatch import dispatch_campaign
from campaigns.sending.models import Campaign
from engine import audit
from engine.api import register
from engine.api.auth import current_api_user, require_role
from engine.api.idempotency import IDEMPOTENCY_PARAMETER, idempotent
from engine.clock import now
from engine.db import get_database, request_session
from engine.users import Role
from engine.web import get_settings

bp = Blueprint(
    "campaign_schedule_api", __name__, url_prefix="/api/v1", description="Campaign schedules."
)


@bp.post("/campaigns/<id:campaign_id>/schedule")
@require_role(Role.EDITOR)
@bp.arguments(s.ScheduleSchema)
@bp.response(200, s.CampaignSchema)
def campaigns_schedule(data: dict[str, Any], campaign_id: int) -> Campaign:
    """Schedule at a wall-clock time in a zone, or by an observance and a send rule."""
    session = request_session()
    settings = get_settings()
    tz = data["tz"] or settings.TIMEZONE
    per_reader = data["local_time_zones"]
    threshold = settings.APPROVAL_THRESHOLD
    if data["mode"] == "absolute":
        campaign = schedule_at(
            session, campaign_id, data["local"], tz, now=now(), approval_threshold=threshold,
            local_time_zones=per_reader,
        )  # fmt: skip
    else:
        campaign = schedule_for_observance(
            session, campaign_id, observance=data["observance"], rule=data["rule"], tz=tz,
            now=now(), approval_threshold=threshold, year=data.get("year"),
            skip_weekends=data["skip_weekends"], skip_holidays=data["skip_holidays"],
            local_time_zones=per_reader,
        )  # fmt: skip
    audit.record(
        session, current_api_user(), "campaign.schedule", campaign, send_at=campaign.send_at
    )
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
    settings = get_settings()
    campaign = send_now(session, campaign_id, settings)
    audit.record(session, current_api_user(), "campaign.send", campaign)
    session.commit()
    dispatch_campaign(get_database(), settings, campaign_id)
    return campaign


def init_app(app: Flask) -> None:
    """Register the schedule API."""
    register(app, bp)
