"""Staff pages for subscribers: search, the subscriber page with history, edit, erase, export."""

from __future__ import annotations

from collections.abc import Iterator

from flask import (
    Blueprint,
    Flask,
    Response,
    flash,
    redirect,
    render_template,
    request,
    stream_with_context,
    url_for,
)
from flask_login import current_user
from werkzeug.wrappers import Response as BaseResponse

from engine import audit
from engine.api.fields import MAX_ID
from engine.auth import roles_required
from engine.db import close_request_session, get_database, request_session
from engine.errors import ValidationFailed
from engine.users import Role
from engine.web import add_admin_nav
from subscribers.exporting import export_csv
from subscribers.history import subscriber_history
from subscribers.models import Frequency, SubscriberStatus, Topic
from subscribers.profile import LANGUAGES, edit_subscriber, erase_subscriber, get_subscriber
from subscribers.search import SubscriberFilter, search_subscribers
from subscribers.service import change_frequency
from subscribers.suppression import find_suppression
from subscribers.topics import list_topics

bp = Blueprint("subscribers", __name__, url_prefix="/admin/subscribers")
#: Every staff role may look; editing needs ``Role.EDITOR`` (admins hold every role).
STAFF = (Role.EDITOR, Role.APPROVER)


def _staff_source() -> str:
    return f"staff:{current_user.id}"


def _filters() -> SubscriberFilter:
    status = request.args.get("status", "")
    return SubscriberFilter(
        query=request.args.get("q", "").strip()[:200],
        topic_id=request.args.get("topic", type=int),
        status=SubscriberStatus(status) if status in set(SubscriberStatus) else None,
    )


@bp.get("/")
@roles_required(*STAFF)
def index() -> str:
    session = request_session()
    filters = _filters()
    page = search_subscribers(
        session,
        filters,
        after=request.args.get("after", type=int),
        before=request.args.get("before", type=int),
    )
    return render_template(
        "subscribers/index.html",
        page=page,
        filters=filters,
        topics=list_topics(session),
        statuses=list(SubscriberStatus),
    )


@bp.get("/<int:subscriber_id>")
@roles_required(*STAFF)
def show(subscriber_id: int) -> str:
    return _subscriber_page(subscriber_id)


def _subscriber_page(subscriber_id: int) -> str:
    session = request_session()
    subscriber = get_subscriber(session, subscriber_id)
    return render_template(
        "subscribers/show.html",
        subscriber=subscriber,
        history=subscriber_history(session, subscriber.id),
        suppression=find_suppression(session, subscriber.email),
        languages=LANGUAGES,
        frequencies=list(Frequency),
        attributes_text="\n".join(f"{k}={v}" for k, v in subscriber.attributes.items()),
    )


def _parse_attributes(text: str) -> dict[str, str]:
    pairs = [line.partition("=") for line in text.splitlines() if line.strip()]
    if any(not equals for _, equals, _ in pairs):
        raise ValidationFailed("Write one attribute per line as name=value.")
    return {key.strip(): value.strip() for key, _, value in pairs}


@bp.post("/<int:subscriber_id>/edit")
@roles_required(Role.EDITOR)
def edit(subscriber_id: int) -> BaseResponse | tuple[str, int]:
    session = request_session()
    subscriber = get_subscriber(session, subscriber_id)
    form = request.form
    try:
        changed = edit_subscriber(
            session,
            subscriber,
            name=form.get("name", ""),
            language=form.get("language", "en"),
            timezone=form.get("timezone", ""),
            attributes=_parse_attributes(form.get("attributes", "")),
            source=_staff_source(),
        )
    except ValidationFailed as error:
        session.rollback()
        flash(error.message, "error")
        return _subscriber_page(subscriber_id), 422
    if changed:
        audit.record(session, current_user, "subscriber.edit", subscriber, fields=changed)
    session.commit()
    flash(f"Saved: {', '.join(changed)}." if changed else "Nothing changed.", "success")
    return redirect(url_for(".show", subscriber_id=subscriber_id))


@bp.post("/<int:subscriber_id>/frequency")
@roles_required(Role.EDITOR)
def frequency(subscriber_id: int) -> BaseResponse:
    """Set how often one of the subscriber's topics reaches them (each bulletin or a digest)."""
    session = request_session()
    subscriber = get_subscriber(session, subscriber_id)
    wanted = request.form.get("frequency", "")
    topic_id = request.form.get("topic", type=int) or 0
    # An id past the column's range would overflow the query: no topic has it.
    topic = session.get(Topic, topic_id) if 0 < topic_id <= MAX_ID else None
    if topic is None or wanted not in set(Frequency):
        raise ValidationFailed("Choose a topic of this subscriber and a frequency.")
    changed = change_frequency(
        session, subscriber, [topic], Frequency(wanted), source=_staff_source()
    )
    if changed:
        audit.record(
            session, current_user, "subscriber.frequency", subscriber,
            topic=topic.slug, frequency=wanted,
        )  # fmt: skip
    session.commit()
    flash(f"{topic.name}: {wanted}." if changed else "Nothing changed.", "success")
    return redirect(url_for(".show", subscriber_id=subscriber_id))


@bp.post("/<int:subscriber_id>/erase")
@roles_required(Role.EDITOR)
def erase(subscriber_id: int) -> BaseResponse:
    session = request_session()
    subscriber = get_subscriber(session, subscriber_id)
    if request.form.get("confirm") != "yes":
        flash("Tick the box to confirm the erasure.", "error")
        return redirect(url_for(".show", subscriber_id=subscriber_id))
    erase_subscriber(session, subscriber, source=_staff_source())
    audit.record(session, current_user, "subscriber.erase", ("subscriber", subscriber_id))
    session.commit()
    flash(f"Subscriber {subscriber_id} erased; only a suppression hash remains.", "success")
    return redirect(url_for(".index"))


@bp.get("/export.csv")
@roles_required(Role.EDITOR)
def export() -> Response:
    session = request_session()
    topic = session.get(Topic, request.args.get("topic", type=int) or 0)
    name = f"subscribers-{topic.slug}.csv" if topic else "subscribers.csv"
    return Response(
        stream_with_context(_download(topic.id if topic else None)),
        mimetype="text/csv",
        headers={"Content-Disposition": f'attachment; filename="{name}"'},
    )


def _download(topic_id: int | None) -> Iterator[str]:
    # The request's own transaction (signing in, the topic) would stay open until the last row
    # is sent, on SQLite holding the write lock; the export reads in short ones of its own.
    close_request_session()
    yield from export_csv(get_database().read_sessionmaker, topic_id)


def init_app(app: Flask) -> None:
    """Register the staff subscriber pages."""
    app.register_blueprint(bp)
    add_admin_nav(
        app, "subscribers.index", "Subscribers", group="Audience", roles=STAFF, position=10
    )
