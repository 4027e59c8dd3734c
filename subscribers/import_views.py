"""Staff pages for CSV imports: upload, a progress page that works without JavaScript, report."""

from __future__ import annotations

import sqlalchemy as sa
from flask import (
    Blueprint,
    Flask,
    abort,
    current_app,
    flash,
    redirect,
    render_template,
    request,
    send_file,
    url_for,
)
from flask_login import current_user
from werkzeug.wrappers import Response

from engine import audit
from engine.auth import roles_required
from engine.db import request_session
from engine.users import Role
from engine.web import add_admin_nav
from subscribers.import_jobs import (
    create_import_job,
    import_folder,
    report_path,
    start_import_job,
    upload_path,
)
from subscribers.models import ImportJob, Topic
from subscribers.topics import list_topics

bp = Blueprint("imports", __name__, url_prefix="/admin/subscribers/import")


@bp.get("/")
@roles_required(Role.EDITOR)
def new() -> str:
    session = request_session()
    jobs = session.scalars(sa.select(ImportJob).order_by(ImportJob.id.desc()).limit(20))
    return render_template("subscribers/import.html", topics=list_topics(session), jobs=list(jobs))


@bp.post("/")
@roles_required(Role.EDITOR)
def upload() -> Response:
    session = request_session()
    upload_file = request.files.get("file")
    if upload_file is None or not upload_file.filename:
        flash("Choose a CSV file to import.", "error")
        return redirect(url_for(".new"))
    ids = [int(value) for value in request.form.getlist("topics") if value.isdigit()]
    topics = list(session.scalars(sa.select(Topic).where(Topic.id.in_(ids))))
    job = create_import_job(
        session, filename=upload_file.filename, topics=topics, user_id=current_user.id
    )
    upload_file.save(upload_path(import_folder(current_app), job.id))
    audit.record(
        session,
        current_user,
        "subscribers.import",
        job,
        filename=upload_file.filename,
        topics=[t.slug for t in topics],
    )
    session.commit()
    start_import_job(current_app._get_current_object(), job.id)  # type: ignore[attr-defined]
    return redirect(url_for(".show", job_id=job.id))


def _job(job_id: int) -> ImportJob:
    job = request_session().get(ImportJob, job_id)
    if job is None:
        abort(404, description=f"No import {job_id}.")
    return job


@bp.get("/<int:job_id>")
@roles_required(Role.EDITOR)
def show(job_id: int) -> str:
    return render_template("subscribers/import_status.html", job=_job(job_id))


@bp.get("/<int:job_id>/errors.csv")
@roles_required(Role.EDITOR)
def errors(job_id: int) -> Response:
    job = _job(job_id)
    path = report_path(import_folder(current_app), job.id)
    if not path.exists():
        abort(404, description="This import has no error report.")
    return send_file(
        path, mimetype="text/csv", as_attachment=True, download_name=f"import-{job.id}-errors.csv"
    )


def init_app(app: Flask) -> None:
    """Register the import pages."""
    app.register_blueprint(bp)
    add_admin_nav(
        app, "imports.new", "Imports", group="Audience", roles=(Role.EDITOR,), position=30
    )
