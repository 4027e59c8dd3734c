"""Staff pages for topics: the list, a form to add one and a form to change one."""

from __future__ import annotations

from babel import Locale
from flask import Blueprint, Flask, abort, flash, redirect, render_template, request, url_for
from werkzeug.datastructures import MultiDict
from werkzeug.wrappers import Response

from engine.auth import roles_required
from engine.db import request_session
from engine.errors import PinwheelError
from engine.users import Role
from engine.web import add_admin_nav
from subscribers.models import OptIn, Topic, TopicVisibility
from subscribers.topics import (
    TRANSLATED_LANGUAGES,
    TRANSLATED_PARTS,
    create_topic,
    list_topics,
    update_topic,
)
from subscribers.views import STAFF

bp = Blueprint("topics", __name__, url_prefix="/admin/topics")

#: The other languages' fields on the forms: (code, the language's name for staff).
_OTHER_LANGUAGES = [(code, Locale.parse(code).english_name) for code in TRANSLATED_LANGUAGES]


@bp.get("/")
@roles_required(*STAFF)
def index() -> str:
    return _list_page()


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
            translations=_translations_from(form),
        )
    except (PinwheelError, ValueError) as error:
        session.rollback()
        return _list_page(error=_message(error)), 422
    session.commit()
    flash(f"Topic {topic.name} created.", "success")
    return redirect(url_for(".index"))


@bp.get("/<int:topic_id>/edit")
@roles_required(Role.EDITOR)
def edit(topic_id: int) -> str:
    return _edit_page(_topic(topic_id))


@bp.post("/<int:topic_id>")
@roles_required(Role.EDITOR)
def update(topic_id: int) -> Response | tuple[str, int]:
    session = request_session()
    topic = _topic(topic_id)
    form = request.form
    changes = {key: form.get(key, "") for key in ("name", "category", "description")}
    try:
        update_topic(
            session,
            topic,
            {
                **changes,
                "visibility": TopicVisibility(form.get("visibility", topic.visibility)),
                "opt_in": OptIn(form.get("opt_in", topic.opt_in)),
                "translations": _translations_from(form),
            },
        )
    except (PinwheelError, ValueError) as error:
        session.rollback()
        return _edit_page(_topic(topic_id), error=_message(error)), 422
    session.commit()
    flash(f"Topic {topic.name} saved.", "success")
    return redirect(url_for(".index"))


def _translations_from(form: MultiDict[str, str]) -> dict[str, dict[str, str]]:
    return {
        code: {part: form.get(f"{part}_{code}", "") for part in TRANSLATED_PARTS}
        for code in TRANSLATED_LANGUAGES
    }


def _topic(topic_id: int) -> Topic:
    topic = request_session().get(Topic, topic_id)
    if topic is None:
        abort(404)
    return topic


def _message(error: Exception) -> str:
    return error.message if isinstance(error, PinwheelError) else "Check the choices."


def _list_page(error: str | None = None) -> str:
    return render_template(
        "subscribers/topics.html",
        topics=list_topics(request_session()),
        other_languages=_OTHER_LANGUAGES,
        error=error,
    )


def _edit_page(topic: Topic, error: str | None = None) -> str:
    return render_template(
        "subscribers/topic_edit.html", topic=topic, other_languages=_OTHER_LANGUAGES, error=error
    )


def init_app(app: Flask) -> None:
    """Register the topic pages."""
    app.register_blueprint(bp)
    add_admin_nav(app, "topics.index", "Topics", group="Audience", roles=STAFF, position=20)
