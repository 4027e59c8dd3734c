"""Worker processes for the crash and race tests: forked, so a restart costs no imports."""

from __future__ import annotations

import multiprocessing
import os
import time
from collections.abc import Mapping

import sqlalchemy as sa

from campaigns.sending.models import Campaign, CampaignStatus
from campaigns.sending.service import start_campaign
from campaigns.sending.worker import run_worker
from engine.config import Settings, load_settings
from engine.db import Database

_fork = multiprocessing.get_context("fork")


def _database(environ: Mapping[str, str]) -> tuple[Database, Settings]:
    settings = load_settings(environ)
    return Database(settings), settings


def _work(environ: Mapping[str, str], once: bool) -> None:
    database, settings = _database(environ)
    run_worker(database, settings, once=once)


def _work_until_sent(environ: Mapping[str, str], campaign_id: int, deadline: float) -> None:
    database, settings = _database(environ)
    while time.time() < deadline:
        run_worker(database, settings, once=True)
        with database.session() as session:
            status = session.scalar(sa.select(Campaign.status).where(Campaign.id == campaign_id))
        if status == CampaignStatus.SENT:
            return
        time.sleep(0.2)


def _schedule(environ: Mapping[str, str], campaign_id: int, wins: object) -> None:
    database, settings = _database(environ)
    with database.session() as session:
        won = start_campaign(
            session,
            campaign_id,
            expected=CampaignStatus.SCHEDULED,
            batch_size=settings.BATCH_SIZE,
            settings=settings,
        )
    if won:
        with wins.get_lock():  # type: ignore[attr-defined]
            wins.value += 1  # type: ignore[attr-defined]


def spawn_worker(environ: Mapping[str, str], *, once: bool = True) -> multiprocessing.Process:
    """Fork a worker process that delivers until no work is left."""
    process = _fork.Process(target=_work, args=(dict(environ), once), daemon=True)
    process.start()
    return process


def spawn_worker_until_sent(
    environ: Mapping[str, str], campaign_id: int, timeout: float
) -> multiprocessing.Process:
    """Fork a worker that keeps delivering until the campaign is sent (or ``timeout``)."""
    args = (dict(environ), campaign_id, time.time() + timeout)
    process = _fork.Process(target=_work_until_sent, args=args, daemon=True)
    process.start()
    return process


def spawn_scheduler(
    environ: Mapping[str, str], campaign_id: int, wins: object
) -> multiprocessing.Process:
    """Fork a process that races to start the scheduled campaign, counting wins."""
    process = _fork.Process(target=_schedule, args=(dict(environ), campaign_id, wins), daemon=True)
    process.start()
    return process


def shared_counter() -> object:
    return _fork.Value("i", 0)


def kill(process: multiprocessing.Process) -> None:
    """SIGKILL the process: no clean-up, no finally blocks, like a power cut."""
    if process.pid is not None and process.is_alive():
        os.kill(process.pid, 9)
    process.join(10)
