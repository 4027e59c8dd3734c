"""Imports started from the staff pages: the upload is kept on disk and imported in a thread.

The job row is the progress bar's source of truth; the thread commits it after every chunk.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Sequence
from pathlib import Path

from flask import Flask
from sqlalchemy.orm import Session

from engine.clock import now
from engine.db import Database, get_database
from engine.web import get_settings
from subscribers.importing import ErrorReport, SubscriberImport
from subscribers.models import ImportJob, ImportStatus, Topic

log = logging.getLogger(__name__)


def import_folder(app: Flask) -> Path:
    """Return the folder that holds uploads and error reports."""
    folder = get_settings(app).instance_path / "imports"
    folder.mkdir(parents=True, exist_ok=True)
    return folder


def upload_path(folder: Path, job_id: int) -> Path:
    return folder / f"{job_id}.csv"


def report_path(folder: Path, job_id: int) -> Path:
    return folder / f"{job_id}-errors.csv"


def create_import_job(
    session: Session, *, filename: str, topics: Sequence[Topic], user_id: int | None
) -> ImportJob:
    """Record a queued import of ``filename`` into ``topics``."""
    job = ImportJob(
        filename=filename[:255], topic_ids=[topic.id for topic in topics], created_by_id=user_id
    )
    session.add(job)
    session.flush()
    return job


def start_import_job(app: Flask, job_id: int) -> threading.Thread:
    """Run the import of ``job_id`` in a background thread and return the thread."""
    database, folder = get_database(app), import_folder(app)
    thread = threading.Thread(
        target=run_import_job,
        args=(database, job_id, folder, get_settings(app).SMTPUTF8),
        name=f"import-{job_id}",
        daemon=True,
    )
    app.extensions.setdefault("subscribers.import_threads", {})[job_id] = thread
    thread.start()
    return thread


def run_import_job(database: Database, job_id: int, folder: Path, smtputf8: bool = False) -> None:
    """Import the job's upload, committing the job's progress after every chunk.

    ``smtputf8`` is ``Settings.SMTPUTF8`` (see ``normalise_address``).
    """
    upload = upload_path(folder, job_id)
    try:
        with database.session() as session:
            _import(session, job_id, upload, report_path(folder, job_id), smtputf8)
    except Exception as error:
        log.exception("import %s failed", job_id)
        with database.session() as session:
            job = session.get(ImportJob, job_id)
            if job is not None:
                job.status, job.finished_at = ImportStatus.FAILED, now()
                job.message = getattr(
                    error, "message", "The import stopped on an unexpected error."
                )
    finally:
        # The upload holds personal data: keep it no longer than the import needs it.
        upload.unlink(missing_ok=True)


def _import(session: Session, job_id: int, upload: Path, report: Path, smtputf8: bool) -> None:
    job = session.get(ImportJob, job_id)
    if job is None:
        return
    topics = [topic for topic in (session.get(Topic, tid) for tid in job.topic_ids) if topic]
    job.status, job.size_bytes = ImportStatus.RUNNING, upload.stat().st_size
    session.commit()
    with upload.open("rb") as stream, report.open("w", newline="", encoding="utf-8") as out:
        importer = SubscriberImport(
            session, topics, report=ErrorReport(out), source="import", smtputf8=smtputf8
        )
        for position in importer.run(stream):
            job.processed_bytes = position
            _copy_counts(job, importer)
            session.commit()
    job.status, job.finished_at = ImportStatus.FINISHED, now()


def _copy_counts(job: ImportJob, importer: SubscriberImport) -> None:
    summary = importer.summary
    job.created, job.updated = summary.created, summary.updated
    job.skipped, job.errors = summary.skipped, summary.errors
