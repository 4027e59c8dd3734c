"""Staff pages for campaigns: list, progress, pause/resume/cancel, uncertain recipients.

The campaign page itself (``campaigns.show``) is built in ``campaigns.scheduling.views``: it
shows the schedule and today's audience, which the send pipeline knows nothing about.
"""

from __future__ import annotations

from collections.abc import Callable

from flask import Blueprint, Flask, Response, flash, jsonify, redirect, render_template, url_for
from flask_login import current_user
from werkzeug.wrappers import Response as WerkzeugResponse

from campaigns.sending.approval import approval_rule
from campaigns.sending.dispatch import dispatch_campaign
from campaigns.sending.progress import campaign_progress, list_campaigns
from campaigns.sending.recovery import resend_uncertain
from campaigns.sending.service import cancel_campaign, pause_campaign, resume_campaign
from engine import audit
from engine.auth import roles_required
from engine.db import get_database, request_session
from engine.users import Role
from engine.web import add_admin_nav, get_settings

bp = Blueprint("campaigns", __name__, url_prefix="/admin/campaigns")


@bp.get("/")
@roles_required(Role.EDITOR)
def index() -> str:
    return render_template("campaigns/index.html", campaigns=list_campaigns(request_session()))


@bp.get("/<int:campaign_id>/progress.json")
@roles_required(Role.EDITOR)
def progress_json(campaign_id: int) -> Response:
    return jsonify(campaign_progress(request_session(), campaign_id).as_json())


def _act(
    campaign_id: int, action: Callable[[], object], message: str, *, run: bool, name: str
) -> WerkzeugResponse:
    session = request_session()
    action()
    audit.record(session, current_user, f"campaign.{name}", ("campaign", campaign_id))
    session.commit()
    if run:
        dispatch_campaign(get_database(), get_settings(), campaign_id)
    flash(message, "info")
    return redirect(url_for("campaigns.show", campaign_id=campaign_id))


@bp.post("/<int:campaign_id>/pause")
@roles_required(Role.EDITOR)
def pause(campaign_id: int) -> WerkzeugResponse:
    return _act(
        campaign_id,
        lambda: pause_campaign(request_session(), campaign_id),
        "Paused: no new batch starts; the ones already with the provider finish.",
        run=False,
        name="pause",
    )


@bp.post("/<int:campaign_id>/resume")
@roles_required(Role.EDITOR)
def resume(campaign_id: int) -> WerkzeugResponse:
    return _act(
        campaign_id,
        lambda: resume_campaign(
            request_session(),
            campaign_id,
            approval_threshold=get_settings().APPROVAL_THRESHOLD,
        ),
        "Resumed.",
        run=True,
        name="resume",
    )


@bp.post("/<int:campaign_id>/cancel")
@roles_required(Role.EDITOR)
def cancel(campaign_id: int) -> WerkzeugResponse:
    return _act(
        campaign_id,
        lambda: cancel_campaign(request_session(), campaign_id),
        "Cancelled: nothing more of this campaign is sent.",
        run=False,
        name="cancel",
    )


@bp.post("/<int:campaign_id>/resend-uncertain")
@roles_required(Role.EDITOR)
def resend(campaign_id: int) -> WerkzeugResponse:
    return _act(
        campaign_id,
        lambda: resend_uncertain(
            request_session(),
            campaign_id,
            approval_threshold=get_settings().APPROVAL_THRESHOLD,
        ),
        "The uncertain recipients are queued again.",
        run=True,
        name="resend_uncertain",
    )


def init_app(app: Flask) -> None:
    """Register the campaign pages."""
    app.register_blueprint(bp)
    add_admin_nav(
        app, "campaigns.index", "Campaigns", group="Content", roles=(Role.EDITOR,), position=30
    )
    app.add_template_global(
        lambda: approval_rule(get_settings().APPROVAL_THRESHOLD), "approval_rule"
    )
