"""Staff pages for digests: the runs, and one run's window, readers, variants and progress."""

from __future__ import annotations

from flask import Blueprint, Flask, render_template

from campaigns.digests.reports import get_run, list_runs, run_variants
from campaigns.sending.models import Campaign
from campaigns.sending.progress import campaign_progress
from engine.auth import roles_required
from engine.db import request_session
from engine.users import Role
from engine.web import add_admin_nav, get_settings

bp = Blueprint("digests", __name__, url_prefix="/admin/digests")
#: Every staff role may read them, like reports; pausing a run's send needs an editor.
STAFF = (Role.EDITOR, Role.APPROVER)


@bp.get("/")
@roles_required(*STAFF)
def index() -> str:
    return render_template(
        "digests/index.html", runs=list_runs(request_session()), settings=get_settings()
    )


@bp.get("/<int:run_id>")
@roles_required(*STAFF)
def show(run_id: int) -> str:
    session = request_session()
    run = get_run(session, run_id)
    campaign = session.get(Campaign, run.campaign_id) if run.campaign_id else None
    return render_template(
        "digests/show.html",
        run=run,
        campaign=campaign,
        progress=campaign_progress(session, campaign.id) if campaign else None,
        variants=run_variants(session, run),
    )


def init_app(app: Flask) -> None:
    """Register the digest pages."""
    app.register_blueprint(bp)
    add_admin_nav(app, "digests.index", "Digests", group="Insights", roles=STAFF, position=20)
