"""The scheduler: a fixed table of named jobs, run by APScheduler in its own process.

``pinwheel scheduler`` runs it (SIGTERM lets the running job finish); with ``RUN_SCHEDULER`` the
development server runs it in-process. The jobs only tick: the database holds every schedule
and every claim is a compare-and-set, so two schedulers or a double tick do no harm. Job bodies
are named by import path and resolved when they run, so this module never imports a feature.
"""

from __future__ import annotations

import importlib
import logging
import signal
from collections.abc import Callable
from dataclasses import dataclass, replace
from datetime import timedelta
from types import FrameType

import click
from apscheduler.schedulers.background import BackgroundScheduler
from apscheduler.schedulers.base import BaseScheduler
from apscheduler.schedulers.blocking import BlockingScheduler
from flask import Flask, current_app
from werkzeug.serving import is_running_from_reloader

from engine.clock import now
from engine.web import get_settings

log = logging.getLogger("pinwheel.scheduler")


@dataclass(frozen=True, slots=True)
class Job:
    """A named periodic job: ``target`` is ``"module:function"`` taking the app."""

    name: str
    target: str
    seconds: float
    run_at_start: bool = False
    #: A setting that overrides ``seconds`` (deployments and tests tune how often it ticks).
    seconds_setting: str = ""


DAY = 24 * 60 * 60
#: The whole schedule. Jobs are idempotent, so missed runs are coalesced into one.
JOBS: tuple[Job, ...] = (
    Job("dispatch-due-campaigns", "campaigns.jobs:dispatch_due_campaigns", 30, run_at_start=True),
    Job(
        "recover-stale-work",
        "campaigns.jobs:recover_stale_work",
        60,
        run_at_start=True,
        seconds_setting="RECOVERY_SECONDS",
    ),
    # Digest windows end at 08:00 local time; a minute's tick sends them at most a minute late.
    Job("run-digests", "campaigns.jobs:run_due_digests", 60, run_at_start=True),
    Job("prepare-recurring-drafts", "campaigns.jobs:prepare_recurring_campaigns", DAY, True),
    Job("purge-stale-signups", "campaigns.jobs:purge_stale_signups", DAY),
    # Subscribe pages only queue double opt-in emails: readers wait about a second. Short,
    # frequent ticks also keep each burst of sending small beside the web workers' requests.
    Job("send-confirmations", "subscribers.confirmations:send_confirmations_job", 0.5, True),
    Job(
        "process-webhook-batches",
        "campaigns.events.jobs:process_pending_webhook_batches",
        60,
        run_at_start=True,
    ),
    # Each feed is checked when FEED_CHECK_MINUTES have passed since its last check.
    Job("check-watched-feeds", "campaigns.jobs:check_watched_feeds", 60),
    # Newcomers wait at most a minute for their welcome email.
    Job("send-welcome-emails", "campaigns.jobs:send_welcome_emails", 60),
)


def resolve(target: str) -> Callable[[Flask], None]:
    """Import and return the function named ``"module:function"``."""
    module_name, _, attribute = target.partition(":")
    return getattr(importlib.import_module(module_name), attribute)


def run_job(app: Flask, job: Job) -> None:
    """Run one job inside an app context; an error is logged and the next tick tries again."""
    with app.app_context():
        try:
            resolve(job.target)(app)
        except Exception:
            log.exception("scheduled job %s failed", job.name)


def add_jobs(
    app: Flask, scheduler: BaseScheduler, *, dispatch_seconds: float | None = None
) -> BaseScheduler:
    """Add the job table to ``scheduler`` (``dispatch_seconds`` shortens the dispatch tick)."""
    for job in job_table(app, dispatch_seconds=dispatch_seconds):
        extra = {"next_run_time": now()} if job.run_at_start else {}
        scheduler.add_job(
            run_job,
            "interval",
            seconds=job.seconds,
            args=(app, job),
            id=job.name,
            name=job.name,
            max_instances=1,
            coalesce=True,
            misfire_grace_time=max(int(job.seconds), 1),
            **extra,
        )
    return scheduler


def job_table(app: Flask, *, dispatch_seconds: float | None = None) -> list[Job]:
    """Return the jobs with the intervals this deployment runs them at."""
    settings = get_settings(app)
    jobs = []
    for job in JOBS:
        if job.seconds_setting:
            job = replace(job, seconds=float(getattr(settings, job.seconds_setting)))
        if dispatch_seconds and job.name == "dispatch-due-campaigns":
            job = replace(job, seconds=dispatch_seconds)
        jobs.append(job)
    return jobs


def run_blocking(app: Flask, *, dispatch_seconds: float | None = None) -> None:
    """Run the jobs in this process until SIGTERM or SIGINT."""
    scheduler = add_jobs(app, BlockingScheduler(timezone="UTC"), dispatch_seconds=dispatch_seconds)

    def _stop(signum: int, _frame: FrameType | None) -> None:
        log.info("scheduler stopping on signal %s", signum)
        scheduler.shutdown(wait=True)

    signal.signal(signal.SIGTERM, _stop)
    signal.signal(signal.SIGINT, _stop)
    log.info("scheduler running %s job(s)", len(JOBS))
    scheduler.start()


def should_run_in_process(app: Flask) -> bool:
    """Tell whether this process is the development server that should run the jobs itself.

    Never under tests, never in the reloader's watcher process (its child serves and runs
    them), and never for CLI commands other than ``run``.
    """
    if not get_settings(app).RUN_SCHEDULER or app.testing:
        return False
    if app.debug and not is_running_from_reloader():
        return False
    context = click.get_current_context(silent=True)
    return context is None or context.info_name == "run"


def start_in_process(app: Flask) -> BackgroundScheduler | None:
    """Start the jobs in a background thread when :func:`should_run_in_process` says so."""
    if not should_run_in_process(app):
        return None
    scheduler = add_jobs(app, BackgroundScheduler(timezone="UTC", daemon=True))
    scheduler.start()
    app.extensions["pinwheel.scheduler"] = scheduler
    app.logger.info("scheduler running in this process: %s", ", ".join(job.name for job in JOBS))
    return scheduler


@click.command("scheduler")
@click.option(
    "--dispatch-interval",
    type=click.FloatRange(min=0.05),
    default=None,
    help="Seconds between due-campaign checks (default 30).",
)
def scheduler_command(dispatch_interval: float | None) -> None:
    """Run the scheduled jobs (due campaigns, recovery, recurring drafts, purge)."""
    app = current_app._get_current_object()  # type: ignore[attr-defined]
    for job in job_table(app, dispatch_seconds=dispatch_interval):
        click.echo(f"{job.name}: every {timedelta(seconds=job.seconds)}")
    run_blocking(app, dispatch_seconds=dispatch_interval)
