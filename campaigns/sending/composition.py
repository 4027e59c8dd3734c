"""The campaign composition page: audience, live recipient count, schedule and approval."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

import sqlalchemy as sa
from flask import Blueprint, Flask, Response, jsonify, redirect, render_template, request, url_for
from flask_login import current_user
from sqlalchemy.orm import Session
from werkzeug.wrappers import Response as WerkzeugResponse

from campaigns.issues.models import Issue
from campaigns.issues.service import get_issue
from campaigns.issues.workflow import ensure_send_allowed, is_approved_for
from campaigns.observances.service import all_observances, find_observance
from campaigns.schedule import schedule_at, schedule_for_observance
from campaigns.scheduling import (
    SchedulingError,
    absolute_send_time,
    resolve_zone,
    send_time_for_observance,
)
from campaigns.sending.dispatch import dispatch_campaign
from campaigns.sending.models import Campaign
from campaigns.sending.service import create_campaign, send_now
from engine import audit
from engine.auth import roles_required
from engine.clock import now
from engine.config import Settings
from engine.db import get_database, request_session
from engine.errors import ValidationFailed
from engine.users import Role, StaffUser
from engine.web import get_settings
from subscribers.audience import count_audience
from subscribers.models import Topic

bp = Blueprint("compose", __name__, url_prefix="/admin/issues/<int:issue_id>/campaigns")
MODES = ("now", "absolute", "observance")


@dataclass(frozen=True, slots=True)
class Audience:
    topic_ids: list[int]
    segment: dict[str, str]

    @classmethod
    def from_args(cls, args: Any) -> Audience:
        """Read topics and the optional ``key=value`` attribute filter from form or query args."""
        ids = sorted({int(t) for t in args.getlist("topic_ids") if str(t).isdigit()})
        key, value = args.get("segment_key", "").strip(), args.get("segment_value", "").strip()
        return cls(ids, {key: value} if key else {})


@dataclass(frozen=True, slots=True)
class SendPlan:
    mode: str
    tz: str
    local: datetime | None = None
    observance: str = ""
    rule: str = ""

    @classmethod
    def from_args(cls, args: Any, default_tz: str) -> SendPlan:
        """Read the schedule picker: send now, a local time in a zone, or observance + rule."""
        mode = args.get("mode", "now")
        if mode not in MODES:
            raise ValidationFailed("Choose when to send: now, at a time, or by an observance.")
        local = None
        if mode == "absolute":
            try:
                local = datetime.fromisoformat(args.get("local", ""))
            except ValueError:
                raise ValidationFailed("Enter the local date and time to send.") from None
        return cls(
            mode,
            args.get("tz", "") or default_tz,
            local,
            args.get("observance", ""),
            args.get("rule", "").strip(),
        )


def send_time(session: Session, plan: SendPlan, at: datetime) -> datetime | None:
    """Return the UTC instant ``plan`` names, ``None`` for send now; raise ``ValidationFailed``."""
    try:
        resolve_zone(plan.tz)
        if plan.mode == "absolute" and plan.local is not None:
            return absolute_send_time(plan.local, plan.tz)
        if plan.mode == "observance":
            observance = find_observance(session, plan.observance)
            for year in (at.year, at.year + 1):
                instant = send_time_for_observance(observance, year, plan.rule, plan.tz)
                if instant > at:
                    return instant
            raise ValidationFailed(f"{observance.name} has no future send time for this rule.")
    except SchedulingError as error:
        raise ValidationFailed(f"Cannot schedule: {error}.") from None
    return None


def approval_status(
    session: Session, issue: Issue, audience: Audience, settings: Settings
) -> dict[str, Any]:
    """Return the recipient count and whether this audience needs (and has) an approval."""
    count = (
        count_audience(session, audience.topic_ids, audience.segment) if audience.topic_ids else 0
    )
    approved = is_approved_for(session, issue, issue.revision, audience.topic_ids, audience.segment)
    needs = count > settings.APPROVAL_THRESHOLD
    return {
        "count": count,
        "threshold": settings.APPROVAL_THRESHOLD,
        "needs_approval": needs,
        "approved": approved,
        "allowed": approved or not needs,
    }


def compose_campaign(
    session: Session,
    issue: Issue,
    audience: Audience,
    plan: SendPlan,
    settings: Settings,
    actor: StaffUser,
) -> Campaign:
    """Create the campaign, check the approval for its audience and schedule or start it."""
    topics = list(session.scalars(sa.select(Topic).where(Topic.id.in_(audience.topic_ids))))
    campaign = create_campaign(
        session, issue, topics, segment=audience.segment, created_by=actor, settings=settings
    )
    count = count_audience(session, audience.topic_ids, audience.segment)
    ensure_send_allowed(session, campaign, count, settings.APPROVAL_THRESHOLD)
    audit.record(
        session,
        actor,
        "campaign.create",
        campaign,
        issue_id=issue.id,
        revision=issue.revision,
        recipients=count,
        segment=audience.segment,
    )
    if plan.mode == "now":
        send_now(session, campaign.id, batch_size=settings.BATCH_SIZE)
        audit.record(session, actor, "campaign.send", campaign, recipients=count)
        return campaign
    _schedule(session, campaign, plan)
    audit.record(
        session,
        actor,
        "campaign.schedule",
        campaign,
        send_at=campaign.send_at,
        timezone=plan.tz,
        mode=plan.mode,
    )
    return campaign


def _schedule(session: Session, campaign: Campaign, plan: SendPlan) -> None:
    if plan.mode == "absolute" and plan.local is not None:
        schedule_at(session, campaign.id, plan.local, plan.tz, now=now())
    else:
        schedule_for_observance(
            session, campaign.id, observance=plan.observance, rule=plan.rule, tz=plan.tz, now=now()
        )


@bp.get("/new")
@roles_required(Role.EDITOR)
def new(issue_id: int) -> str:
    session = request_session()
    issue = get_issue(session, issue_id)
    topics = session.scalars(sa.select(Topic).order_by(Topic.position, Topic.name)).all()
    audience = Audience([t.id for t in issue.topics], {})
    status = approval_status(session, issue, audience, get_settings())
    return render_template(
        "compose/new.html",
        issue=issue,
        topics=topics,
        audience=audience,
        status=status,
        observances=all_observances(session),
        default_tz=get_settings().TIMEZONE,
    )


@bp.get("/audience.json")
@roles_required(Role.EDITOR)
def audience_count(issue_id: int) -> Response:
    session = request_session()
    issue = get_issue(session, issue_id)
    return jsonify(
        approval_status(session, issue, Audience.from_args(request.args), get_settings())
    )


@bp.get("/send-time.json")
@roles_required(Role.EDITOR)
def send_time_json(issue_id: int) -> Response:
    plan = SendPlan.from_args(request.args, get_settings().TIMEZONE)
    instant = send_time(request_session(), plan, now())
    if instant is None:
        return jsonify(mode=plan.mode, local="As soon as you confirm", utc="")
    local = instant.astimezone(resolve_zone(plan.tz))
    return jsonify(
        mode=plan.mode,
        local=local.strftime("%A %d %B %Y, %H:%M ") + plan.tz,
        utc=instant.strftime("%Y-%m-%d %H:%M UTC"),
        past=instant <= now(),
    )


@bp.post("/new")
@roles_required(Role.EDITOR)
def create(issue_id: int) -> WerkzeugResponse:
    session = request_session()
    settings = get_settings()
    plan = SendPlan.from_args(request.form, settings.TIMEZONE)
    campaign = compose_campaign(
        session,
        get_issue(session, issue_id),
        Audience.from_args(request.form),
        plan,
        settings,
        current_user,
    )
    session.commit()
    if plan.mode == "now":
        dispatch_campaign(get_database(), settings, campaign.id)
    return redirect(url_for("campaigns.show", campaign_id=campaign.id))


def init_app(app: Flask) -> None:
    """Register the composition page."""
    app.register_blueprint(bp)
