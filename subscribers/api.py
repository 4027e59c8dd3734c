"""The subscriber API: topics, subscribers (search, upsert, erase), suppressions and imports."""

from __future__ import annotations

import csv
import io
from typing import Any

import sqlalchemy as sa
from flask import Flask, current_app
from flask_smorest import Blueprint
from sqlalchemy.orm import Session
from werkzeug.datastructures import FileStorage

from engine import audit
from engine.api import register
from engine.api.auth import current_api_user, require_role
from engine.api.idempotency import IDEMPOTENCY_PARAMETER, idempotent
from engine.api.pagination import cursor_page
from engine.db import get_database, request_session
from engine.errors import Conflict, NotFound, ValidationFailed
from engine.users import Role
from engine.web import get_settings
from subscribers import api_schemas as s
from subscribers.addresses import normalise_address
from subscribers.confirmations import send_due_confirmations
from subscribers.import_jobs import create_import_job, import_folder, start_import_job, upload_path
from subscribers.import_rows import RowError
from subscribers.importing import ErrorReport, ImportSummary, SubscriberImport
from subscribers.models import (
    Frequency,
    ImportJob,
    Subscriber,
    Suppression,
    SuppressionReason,
    Topic,
)
from subscribers.profile import edit_subscriber, erase_subscriber, find_subscriber, get_subscriber
from subscribers.search import SubscriberFilter, filtered_query
from subscribers.service import change_frequency, leave_topics, subscribe
from subscribers.suppression import lift_suppression, suppress, unsubscribe_everywhere
from subscribers.topics import create_topic, list_topics, topics_by_slugs, update_topic

bp = Blueprint("subscribers_api", __name__, url_prefix="/api/v1", description="Who: topics, "
               "subscribers, suppressions and imports.")  # fmt: skip
#: Every staff role may read; changes need the editor role (admins hold every role).
READERS = (Role.EDITOR, Role.APPROVER)
SOURCE = "api"


def _source() -> str:
    return f"api:staff:{current_api_user().id}"


# --- topics ------------------------------------------------------------------------------------


@bp.get("/topics")
@require_role(*READERS)
@bp.response(200, s.TopicListSchema)
def topics_index() -> dict[str, Any]:
    """List topics in display order."""
    return {"items": list_topics(request_session())}


@bp.post("/topics")
@idempotent
@require_role(Role.EDITOR)
@bp.doc(parameters=[IDEMPOTENCY_PARAMETER])
@bp.arguments(s.TopicSchema)
@bp.response(201, s.TopicSchema)
def topics_create(data: dict[str, Any]) -> Topic:
    """Create a topic."""
    session = request_session()
    topic = create_topic(session, data.pop("slug"), data.pop("name"), **data)
    session.commit()
    return topic


@bp.get("/topics/<slug>")
@require_role(*READERS)
@bp.response(200, s.TopicSchema)
def topics_show(slug: str) -> Topic:
    """Return one topic."""
    return topics_by_slugs(request_session(), [slug])[0]


@bp.patch("/topics/<slug>")
@require_role(Role.EDITOR)
@bp.arguments(s.TopicUpdateSchema)
@bp.response(200, s.TopicSchema)
def topics_update(data: dict[str, Any], slug: str) -> Topic:
    """Change a topic's name, category, description, visibility, opt-in or translations (not
    its slug)."""
    session = request_session()
    topic = update_topic(session, topics_by_slugs(session, [slug])[0], data)
    session.commit()
    return topic


# --- subscribers -------------------------------------------------------------------------------


@bp.get("/subscribers")
@require_role(*READERS)
@bp.arguments(s.SubscriberQuerySchema, location="query")
@bp.response(200, s.SubscriberPageSchema)
def subscribers_search(args: dict[str, Any]) -> dict[str, Any]:
    """Search subscribers by address or name prefix, attribute, topic and status."""
    session = request_session()
    topic = topics_by_slugs(session, [args["topic"]])[0] if args.get("topic") else None
    filters = SubscriberFilter(
        query=args["q"], topic_id=topic.id if topic else None, status=args.get("status")
    )
    return cursor_page(session, filtered_query(session, filters), Subscriber.id, args)


@bp.post("/subscribers")
@idempotent
@require_role(Role.EDITOR)
@bp.doc(parameters=[IDEMPOTENCY_PARAMETER])
@bp.arguments(s.SubscriberCreateSchema)
@bp.response(201, s.SubscriberSchema)
def subscribers_create(data: dict[str, Any]) -> Subscriber:
    """Add a subscriber whose consent the caller holds, confirmed on ``topics`` at once."""
    session = request_session()
    address = normalise_address(data["email"], smtputf8=get_settings().SMTPUTF8)
    if find_subscriber(session, address) is not None:
        raise Conflict(f"A subscriber {address} already exists; update it instead.")
    summary, problems = _upsert(session, data.pop("topics"), [{**data, "email": address}])
    if problems:
        reasons = "; ".join(f"{problem['column']}: {problem['reason']}" for problem in problems)
        raise ValidationFailed(f"The subscriber is not valid ({reasons}).", details=problems)
    if summary.skipped:
        raise Conflict(f"{address} is suppressed and cannot be added.")
    session.commit()
    subscriber = find_subscriber(session, address)
    if subscriber is None:
        raise RuntimeError(f"the subscriber {address} just added cannot be found")
    return subscriber


@bp.post("/subscribers/bulk")
@idempotent
@require_role(Role.EDITOR)
@bp.doc(parameters=[IDEMPOTENCY_PARAMETER])
@bp.arguments(s.BulkSchema)
@bp.response(200, s.ImportSummarySchema)
def subscribers_bulk(data: dict[str, Any]) -> dict[str, Any]:
    """Create or update up to 1,000 subscribers, like a CSV import (never re-adding leavers)."""
    session = request_session()
    summary, problems = _upsert(session, data["topics"], data["subscribers"])
    session.commit()
    return {**summary.as_dict(), "problems": problems}


@bp.get("/subscribers/<id:subscriber_id>")
@require_role(*READERS)
@bp.response(200, s.SubscriberSchema)
def subscribers_show(subscriber_id: int) -> Subscriber:
    """Return a subscriber with their subscriptions."""
    return get_subscriber(request_session(), subscriber_id)


@bp.patch("/subscribers/<id:subscriber_id>")
@require_role(Role.EDITOR)
@bp.arguments(s.ProfileSchema)
@bp.response(200, s.SubscriberSchema)
def subscribers_update(data: dict[str, Any], subscriber_id: int) -> Subscriber:
    """Change a subscriber's name, language, time zone or attributes."""
    session = request_session()
    subscriber = get_subscriber(session, subscriber_id)
    current = {key: getattr(subscriber, key) for key in ("name", "language", "timezone")}
    edit_subscriber(
        session, subscriber, **{**current, "attributes": subscriber.attributes, **data},
        source=_source(),
    )  # fmt: skip
    session.commit()
    return subscriber


@bp.delete("/subscribers/<id:subscriber_id>")
@require_role(Role.EDITOR)
@bp.response(204)
def subscribers_erase(subscriber_id: int) -> None:
    """Erase a subscriber for good: personal data goes, a suppression hash stays."""
    session = request_session()
    erase_subscriber(session, get_subscriber(session, subscriber_id), source=_source())
    audit.record(session, current_api_user(), "subscriber.erase", ("subscriber", subscriber_id))
    session.commit()


@bp.post("/subscribers/<id:subscriber_id>/subscribe")
@idempotent
@require_role(Role.EDITOR)
@bp.doc(parameters=[IDEMPOTENCY_PARAMETER])
@bp.arguments(s.TopicsBodySchema)
@bp.response(200, s.SubscribeResultSchema)
def subscribers_subscribe(data: dict[str, Any], subscriber_id: int) -> dict[str, Any]:
    """Ask for topics for a subscriber; double opt-in topics wait for the emailed confirmation."""
    session = request_session()
    subscriber = get_subscriber(session, subscriber_id)
    topics = topics_by_slugs(session, data["topics"])
    outcome = subscribe(
        session, subscriber.email, topics, source=SOURCE, smtputf8=get_settings().SMTPUTF8,
        frequency=Frequency(data["frequency"]),
    )  # fmt: skip
    if outcome.subscriber_id is None:
        raise Conflict(f"{subscriber.email} is suppressed; staff must lift that first.")
    session.commit()
    sent = outcome.confirmation_queued and bool(
        send_due_confirmations(get_database(), get_settings(), subscriber_ids=[subscriber.id]).sent
    )
    pending = {topic.slug for topic in outcome.pending}
    return {
        "subscriber": subscriber,
        "started": [topic.slug for topic in topics if topic.slug not in pending],
        "pending": sorted(pending),
        "confirmation_queued": outcome.confirmation_queued,
        "confirmation_sent": bool(sent),
    }


@bp.put("/subscribers/<id:subscriber_id>/subscriptions/<slug>/frequency")
@require_role(Role.EDITOR)
@bp.arguments(s.FrequencySchema)
@bp.response(200, s.SubscriberSchema)
def subscribers_frequency(data: dict[str, Any], subscriber_id: int, slug: str) -> Subscriber:
    """Set how often a topic's bulletins reach the subscriber: each one, or a digest."""
    session = request_session()
    subscriber = get_subscriber(session, subscriber_id)
    topic = topics_by_slugs(session, [slug])[0]
    if all(subscription.topic_id != topic.id for subscription in subscriber.subscriptions):
        raise NotFound(f"Subscriber {subscriber_id} has no subscription to {slug}.")
    change_frequency(session, subscriber, [topic], Frequency(data["frequency"]), source=_source())
    session.commit()
    return subscriber


@bp.post("/subscribers/<id:subscriber_id>/unsubscribe")
@require_role(Role.EDITOR)
@bp.arguments(s.UnsubscribeSchema)
@bp.response(200, s.SubscriberSchema)
def subscribers_unsubscribe(data: dict[str, Any], subscriber_id: int) -> Subscriber:
    """End some topics, or with ``everywhere`` every topic and suppress the address."""
    session = request_session()
    subscriber = get_subscriber(session, subscriber_id)
    if data["everywhere"]:
        unsubscribe_everywhere(session, subscriber, _source())
    else:
        leave_topics(session, subscriber, topics_by_slugs(session, data["topics"]), _source())
    session.commit()
    return subscriber


class _CollectedErrors(ErrorReport):
    """Keep row errors for the response instead of writing a CSV report."""

    def __init__(self) -> None:
        super().__init__(None)
        self.problems: list[dict[str, Any]] = []

    def add(self, error: RowError) -> None:
        self.problems.append({"row": error.row - 1, "column": error.column, "reason": error.reason})


def _upsert(
    session: Session, topic_slugs: list[str], rows: list[dict[str, Any]]
) -> tuple[ImportSummary, list[dict[str, Any]]]:
    """Apply JSON rows through the CSV importer, so both follow the same consent rules."""
    topics = topics_by_slugs(session, topic_slugs)
    report = _CollectedErrors()
    importer = SubscriberImport(
        session, topics, report=report, source=SOURCE, smtputf8=get_settings().SMTPUTF8
    )
    for _ in importer.run(_as_csv(rows)):
        pass
    return importer.summary, report.problems


def _as_csv(rows: list[dict[str, Any]]) -> io.BytesIO:
    # Every alias target comes first, so an attribute named like one ("tz") stays an attribute.
    fixed = ["email", "name", "language", "timezone", "frequency", "first_name", "last_name"]
    keys = sorted({key for row in rows for key in row.get("attributes", {})} - set(fixed))
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    writer.writerow(fixed + keys)
    for row in rows:
        attributes = row.get("attributes", {})
        cells = [row.get(column, "") for column in fixed[:5]] + ["", ""]
        writer.writerow(cells + [attributes.get(key, "") for key in keys])
    return io.BytesIO(buffer.getvalue().encode())


# --- suppressions ------------------------------------------------------------------------------


@bp.get("/suppressions")
@require_role(*READERS)
@bp.arguments(s.SuppressionQuerySchema, location="query")
@bp.response(200, s.SuppressionPageSchema)
def suppressions_index(args: dict[str, Any]) -> dict[str, Any]:
    """List suppressed addresses, oldest first."""
    query = sa.select(Suppression)
    if args["q"].strip():
        prefix = args["q"].strip().lower()
        query = query.where(Suppression.address.startswith(prefix, autoescape=True))
    return cursor_page(request_session(), query, Suppression.id, args)


@bp.post("/suppressions")
@idempotent
@require_role(Role.EDITOR)
@bp.doc(parameters=[IDEMPOTENCY_PARAMETER])
@bp.arguments(s.SuppressionCreateSchema)
@bp.response(201, s.SuppressionSchema)
def suppressions_add(data: dict[str, Any]) -> Suppression:
    """Suppress an address (manually, or as a bounce or complaint reported elsewhere)."""
    session = request_session()
    entry = suppress(
        session, normalise_address(data["address"], smtputf8=get_settings().SMTPUTF8),
        SuppressionReason(data["reason"]),
        source=_source(), note=data["note"],
    )  # fmt: skip
    audit.record(session, current_api_user(), "suppression.add", entry, reason=data["reason"])
    session.commit()
    return entry


@bp.delete("/suppressions/<id:entry_id>")
@require_role(Role.EDITOR)
@bp.response(204)
def suppressions_lift(entry_id: int) -> None:
    """Lift a suppression; the address is mailed again only after it subscribes."""
    session = request_session()
    entry = session.get(Suppression, entry_id)
    if entry is None:
        raise NotFound(f"No suppression {entry_id}.")
    if entry.address is None:
        raise Conflict("An erased address stays suppressed.")
    audit.record(session, current_api_user(), "suppression.lift", entry, reason=entry.reason)
    lift_suppression(session, entry.address, source=_source())
    session.commit()


# --- imports -----------------------------------------------------------------------------------


@bp.post("/imports")
@idempotent
@require_role(Role.EDITOR)
@bp.doc(parameters=[IDEMPOTENCY_PARAMETER])
@bp.arguments(s.ImportFormSchema, location="form")
@bp.arguments(s.ImportFileSchema, location="files")
@bp.response(202, s.ImportJobSchema)
def imports_start(form: dict[str, Any], files: dict[str, Any]) -> ImportJob:
    """Start importing an uploaded CSV file; follow it with ``GET /imports/{id}``."""
    upload = files["file"]
    if not isinstance(upload, FileStorage) or not upload.filename:
        raise ValidationFailed("Upload a CSV file as 'file'.", details={"files": {"file": ["?"]}})
    session = request_session()
    slugs = [slug.strip() for slug in form["topics"].split(",") if slug.strip()]
    job = create_import_job(
        session, filename=upload.filename, topics=topics_by_slugs(session, slugs), user_id=None
    )
    upload.save(upload_path(import_folder(current_app), job.id))
    session.commit()
    start_import_job(current_app._get_current_object(), job.id)  # type: ignore[attr-defined]
    return job


@bp.get("/imports/<id:job_id>")
@require_role(Role.EDITOR)
@bp.response(200, s.ImportJobSchema)
def imports_show(job_id: int) -> ImportJob:
    """Return an import's progress and counts."""
    session = request_session()
    session.expire_all()
    job = session.get(ImportJob, job_id)
    if job is None:
        raise NotFound(f"No import {job_id}.")
    return job


def init_app(app: Flask) -> None:
    """Register the subscriber API."""
    register(app, bp)
