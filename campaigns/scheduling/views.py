"""Staff pages for "when": compose a campaign, the campaign page, send now and unschedule."""

from __future__ import annotations

import sqlalchemy as sa
from flask import (
    Blueprint,
    Flask,
    Response,
    flash,
    jsonify,
    redirect,
    render_template,
    request,
    url_for,
)
from flask_login import current_user
from werkzeug.wrappers import Response as WerkzeugResponse

from campaigns.digests.reports import run_of_campaign
from campaigns.issues.service import get_issue
from campaigns.observances.service import all_observances
from campaigns.scheduling.overview import campaign_overview
from campaigns.scheduling.plans import (
    Audience,
    SendPlan,
    approval_status,
    compose_campaign,
    send_time,
)
from campaigns.scheduling.rules import resolve_zone
from campaigns.scheduling.service import unschedule
from campaigns.scheduling.starting import send_now
from campaigns.sending.audiences import correction_reach
from campaigns.sending.dispatch import dispatch_campaign
from campaigns.sending.languages import edition_plan, language_variants
from campaigns.sending.progress import campaign_progress, uncertain_recipients
from campaigns.sending.proofs import MAX_TEST_ADDRESSES, allowed_test_addresses
from campaigns.sending.service import get_campaign
from engine import audit
from engine.auth import roles_required
from engine.clock import now
from engine.db import get_database, request_session
from engine.users import Role
from engine.web import get_settings
from subscribers.models import Topic

bp = Blueprint("compose", __name__, url_prefix="/admin/issues/<int:issue_id>/campaigns")
#: The campaign page's "Send now" and "Unschedule" (``/admin/campaigns/<id>/…``), beside
#: sending's own pages.
starting = Blueprint("campaign_start", __name__, url_prefix="/admin/campaigns")


@bp.get("/new")
@roles_required(Role.EDITOR)
def new(issue_id: int) -> str | WerkzeugResponse:
    session = request_session()
    issue = get_issue(session, issue_id)
    if issue.edition_of_id is not None:
        flash("An edition is sent with its original, each reader getting their language.", "info")
        return redirect(url_for("compose.new", issue_id=issue.edition_of_id))
    topics = session.scalars(sa.select(Topic).order_by(Topic.position, Topic.name)).all()
    audience = Audience([t.id for t in issue.topics], {})
    correction = None
    if issue.correction_of_id is not None:
        # One pass over the original's deliveries serves the page's counts.
        correction = correction_reach(session, issue.correction_of_id, issue.id)
    count = correction.count(audience.include_uncertain) if correction else None
    status = approval_status(session, issue, audience, get_settings(), count=count)
    return render_template(
        "compose/new.html",
        issue=issue,
        topics=topics,
        audience=audience,
        status=status,
        observances=all_observances(session),
        default_tz=get_settings().TIMEZONE,
        editions=edition_plan(session, issue),
        correction=correction,
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
        tracking=request.form.get("tracking") == "on",
    )
    session.commit()
    if plan.mode == "now":
        dispatch_campaign(get_database(), settings, campaign.id)
    return redirect(url_for("campaigns.show", campaign_id=campaign.id))


@starting.post("/<int:campaign_id>/send")
@roles_required(Role.EDITOR)
def send(campaign_id: int) -> WerkzeugResponse:
    """Start a draft or scheduled campaign now (the campaign page's "Send now")."""
    session = request_session()
    settings = get_settings()
    send_now(session, campaign_id, settings)
    audit.record(session, current_user, "campaign.send", ("campaign", campaign_id))
    session.commit()
    dispatch_campaign(get_database(), settings, campaign_id)
    flash("Sending started.", "info")
    return redirect(url_for("campaigns.show", campaign_id=campaign_id))


@roles_required(Role.EDITOR)
def show(campaign_id: int) -> str | WerkzeugResponse:
    """Show the campaign: state, issue, audience, schedule, approval, progress, next steps."""
    session = request_session()
    settings = get_settings()
    campaign = get_campaign(session, campaign_id)
    run = run_of_campaign(session, campaign_id) if campaign.issue_id is None else None
    if run is not None:
        # A digest run's send has its own page: its window, its variants, the same actions.
        return redirect(url_for("digests.show", run_id=run.id))
    return render_template(
        "campaigns/show.html",
        campaign=campaign,
        overview=campaign_overview(session, campaign, settings),
        progress=campaign_progress(session, campaign_id),
        uncertain=uncertain_recipients(session, campaign_id),
        test_addresses=allowed_test_addresses(session, settings),
        test_limit=MAX_TEST_ADDRESSES,
        languages=language_variants(session, campaign_id),
    )


@starting.post("/<int:campaign_id>/unschedule")
@roles_required(Role.EDITOR)
def unschedule_campaign(campaign_id: int) -> WerkzeugResponse:
    """Turn a scheduled (or needs-review) campaign back into a draft."""
    session = request_session()
    unschedule(session, campaign_id, now=now())
    audit.record(session, current_user, "campaign.unschedule", ("campaign", campaign_id))
    session.commit()
    flash("Unscheduled: it is a draft again, and nothing goes out until someone sends it.", "info")
    return redirect(url_for("campaigns.show", campaign_id=campaign_id))


def init_app(app: Flask) -> None:
    """Register the composition page and the campaign page with its send actions."""
    app.register_blueprint(bp)
    app.register_blueprint(starting)
    # The page keeps the endpoint name of sending's campaign pages, where every link to a
    # campaign points; it is built here because it shows the schedule and today's audience.
    app.add_url_rule("/admin/campaigns/<int:campaign_id>", "campaigns.show", show)
