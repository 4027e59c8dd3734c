"""Worker processes for the crash and race tests: forked, so a restart costs no imports."""

from __future__ import annotations

import multiprocessing
import os
import random
import time
from collections import Counter
from collections.abc import Mapping

import sqlalchemy as sa
from sqlalchemy.orm import Session

from campaigns.sending.models import Campaign, CampaignStatus, Delivery
from campaigns.sending.models import DeliveryStatus as Ds
from campaigns.sending.service import start_campaign
from campaigns.sending.worker import run_worker
from engine.config import Settings, load_settings
from engine.db import Database
from tests.conftest import SECRET

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


def kill_workers_then_finish(environ: Mapping[str, str], kills: int, seed: int) -> None:
    """SIGKILL ``kills`` workers at random moments of the send, then let one finish the rest.

    Run it while the work is paced (``SEND_RATE``) so that the kills land mid-send.
    """
    rng = random.Random(seed)
    for _ in range(kills):
        worker = spawn_worker(environ)
        time.sleep(rng.uniform(0.3, 0.8))
        kill(worker)
    finisher = spawn_worker(environ)
    finisher.join(90)
    assert finisher.exitcode == 0


def worker_environ(settings: Settings, url: str, **extra: str) -> dict[str, str]:
    """Return a worker process's environment: it sends through the fake SendGrid at ``url``."""
    values = {
        "ENV": "testing",
        "DATABASE_URL": settings.DATABASE_URL,
        "SECRET_KEY": SECRET,
        "INSTANCE_PATH": settings.INSTANCE_PATH,
        "BASE_URL": settings.BASE_URL,
        "MAIL_BACKEND": "sendgrid",
        "SENDGRID_API_KEY": "SG.test-key",
        "SENDGRID_API_URL": url,
        "BATCH_SIZE": "100",
        # These audiences are larger than an unapproved send may be; approval is tested apart.
        "APPROVAL_THRESHOLD": "1000000000",
        # A short lease, so a restarted worker takes back a killed one's claim quickly.
        "BATCH_LEASE_SECONDS": "1",
        "WORKER_THREADS": "2",
        **extra,
    }
    return {f"PINWHEEL_{key}": value for key, value in values.items()}


def delivery_outcomes(session: Session, campaign_id: int) -> dict[str, str]:
    """Return each delivery's status by id (as the fake provider's counter keys them)."""
    rows = session.execute(
        sa.select(Delivery.id, Delivery.status).where(Delivery.campaign_id == campaign_id)
    )
    return {str(delivery_id): status for delivery_id, status in rows}


def check_one_copy(outcomes: dict[str, str], sink: Counter[str | None]) -> int:
    """Assert the one-copy guarantee; return how many deliveries ended uncertain."""
    assert max(sink.values()) == 1, "a recipient got two copies"
    assert set(sink) <= set(outcomes)
    for delivery_id, status in outcomes.items():
        assert status in (Ds.ACCEPTED, Ds.UNCERTAIN), (delivery_id, status)
        if status == Ds.ACCEPTED:
            assert sink[delivery_id] == 1, f"accepted but never reached the provider: {delivery_id}"
    accepted = sum(status == Ds.ACCEPTED for status in outcomes.values())
    uncertain_sent = sum(
        1
        for delivery_id, status in outcomes.items()
        if status == Ds.UNCERTAIN and sink[delivery_id]
    )
    assert sum(sink.values()) == accepted + uncertain_sent
    return len(outcomes) - accepted
