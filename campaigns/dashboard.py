"""The staff dashboard: what is being written, what is scheduled, what went out."""

from __future__ import annotations

import sqlalchemy as sa
from flask import Blueprint, Flask, render_template

from campaigns.issues.models import Issue
from campaigns.scheduling.recurring import recent_notifications
from campaigns.sending.models import Campaign
from engine.auth import roles_required
from engine.db import request_session
from engine.web import add_admin_nav
from subscribers.models import Subscriber, SubscriberStatus, Topic

bp = Blueprint("admin", __name__, url_prefix="/admin")


@bp.get("/")
@roles_required()
def dashboard() -> str:
    session = request_session()
    counts = {
        "subscribers": session.scalar(
            sa.select(sa.func.count())
            .select_from(Subscriber)
            .where(Subscriber.status == SubscriberStatus.ACTIVE)
        ),
        "topics": session.scalar(sa.select(sa.func.count()).select_from(Topic)),
        "issues": session.scalar(sa.select(sa.func.count()).select_from(Issue)),
        "campaigns": session.scalar(sa.select(sa.func.count()).select_from(Campaign)),
    }
    campaigns = session.scalars(
        sa.select(Campaign).order_by(Campaign.created_at.desc(), Campaign.id.desc()).limit(10)
    ).all()
    issues = session.scalars(
        sa.select(Issue).order_by(Issue.updated_at.desc(), Issue.id.desc()).limit(10)
    ).all()
    return render_template(
        "admin/dashboard.html",
        counts=counts,
        campaigns=campaigns,
        issues=issues,
        notifications=recent_notifications(session),
    )


def init_app(app: Flask) -> None:
    """Register the dashboard."""
    app.register_blueprint(bp)
    add_admin_nav(app, "admin.dashboard", "Dashboard")
