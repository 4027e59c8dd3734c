"""Staff pages for topics: the list and a form to add one."""

from __future__ import annotations

from flask import Blueprint, Flask, flash, redirect, render_template, request, url_for
from werkzeug.wrappers import Response

from engine.auth import roles_required
from engine.db import request_session
from engine.errors import PinwheelError
from engine.users import Role
from engine.web import add_admin_nav
from subscribers.models import OptIn, TopicVisibility
from subscribers.topics import create_topic, list_topics
from subscribers.views import STAFF

bp = Blueprint("topics", __name__, url_prefix="/admin/topics")


@bp.get("/")
@roles_required(*STAFF)
def index() -> str:
    return render_template("subscribers/topics.html", topics=list_topics(request_session()))


@bp.post("/")
@roles_required(Role.EDITOR)
def create() -> Response | tuple[str, int]:
    session = request_session()
    form = request.form
    try:
        topic = create_topic(
            session,
            form.get("slug", "").strip(),
            form.get("name", ""),
            category=form.get("category", ""),
            description=form.get("description", ""),
            visibility=TopicVisibility(form.get("visibility", "public")),
            opt_in=OptIn(form.get("opt_in", "double")),
        )
    except (PinwheelError, ValueError) as error:
        session.rollback()
        message = error.message if isinstance(error, PinwheelError) else "Check the choices."
        page = render_template(
            "subscribers/topics.html", topics=list_topics(session), error=message
        )
        return page, 422
    session.commit()
    flash(f"Topic {topic.name} created.", "success")
    return redirect(url_for(".index"))


def init_app(app: Flask) -> None:
    """Register the topic pages."""
    app.register_blueprint(bp)
    add_admin_nav(app, "topics.index", "Topics", group="Audience", roles=STAFF, position=20)
