"""Worker processes share the provider's budget: a 429 holds back all of them until its reset,
and ``SEND_RATE`` holds for the fleet rather than for each process.

The fake SendGrid runs in its own process and answers 15 % of requests 429 with a reset two
seconds ahead; what it recorded is the evidence.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa

from campaigns.sending.dispatch import dispatch_campaign
from campaigns.sending.models import Batch, Campaign, CampaignStatus
from tests.campaigns.sending.conftest import started_campaign
from tests.campaigns.sending.test_celery_leg import _redis_reachable, _wait_until_sent
from tests.campaigns.sending.workers import spawn_worker, worker_environ
from tests.fakes.sendgrid_server import fake_sendgrid_process, read_state

pytestmark = pytest.mark.slow
RECIPIENTS = 3000
#: ``BATCH_SIZE`` in ``worker_environ``: the most one request carries.
BATCH = 100
RATE = 500
PROCESSES = 3
#: Seconds the fake takes to answer, as a distant provider does: the send lasts long enough
#: for workers that ignored another's 429 to be caught sending into its pause.
LATENCY = 0.5
#: Seed 5 puts 429s among the first requests, the middle and the end of the send.
FAULTS = (
    *("--fault-mix", "429=0.15", "--reset-seconds", "2", "--seed", "5"),
    *("--latency", str(LATENCY)),
)
#: Seconds after a 429 was answered in which a request may still arrive that was in flight: it
#: passed its check before the pause was booked. On a loaded machine the booking can wait that
#: long for SQLite's write lock, or the request for its process to run again; the pause itself
#: lasts two to three seconds, so a fleet that ignored it would still send well after this.
IN_FLIGHT = 1.0
BROKER_URL = "redis://127.0.0.1:6379/11"


def _started_campaign(session, topic, new_campaign) -> int:
    return int(started_campaign(session, new_campaign, topic, RECIPIENTS, BATCH).id)


def _worker_environ(settings, url: str, rate: int | None, **extra: str) -> dict[str, str]:
    # A lease longer than any pause: recovery must not take back a batch waiting its turn.
    values = {"BATCH_LEASE_SECONDS": "60", **extra}
    if rate:
        values["SEND_RATE"] = str(rate)
    return worker_environ(settings, url, **values)


def _started_in_a_pause(requests: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Return the requests that arrived in a pause announced longer than ``IN_FLIGHT`` before.

    A pause is measured from the first 429 that announced it, so 429s answered inside it (to
    requests that should not have been sent) excuse nothing.
    """
    pauses = [r for r in requests if r["status"] == 429]
    late = []
    for request in requests:
        announced = [p["at"] for p in pauses if p["at"] <= request["arrived"] < p["reset"]]
        if announced and request["arrived"] - min(announced) > IN_FLIGHT:
            late.append(request)
    return late


def _busiest_second(requests: list[dict[str, Any]]) -> int:
    """Return the most messages the fake accepted within any one second."""
    accepted = [(r["at"], r["personalizations"]) for r in requests if r["status"] == 202]
    return max(sum(n for at, n in accepted if start <= at < start + 1) for start, _ in accepted)


def _check_shared(session, campaign_id: int, state: Path, rate: int | None) -> None:
    session.expire_all()
    assert session.get(Campaign, campaign_id).status == CampaignStatus.SENT
    fake = read_state(state)
    assert len(fake.counts()) == RECIPIENTS and set(fake.counts().values()) == {1}
    requests = fake.requests
    assert sum(r["status"] == 429 for r in requests) >= 3, "the fake should have answered 429s"
    assert _started_in_a_pause(requests) == []
    if rate:
        # One second's worth saved up, plus one request answered late within the window.
        assert _busiest_second(requests) <= 2 * rate + BATCH
    senders = session.scalars(sa.select(Batch.claimed_by).where(Batch.campaign_id == campaign_id))
    assert len({name.split(":")[1] for name in senders if name}) > 1, "one process sent it all"


@pytest.mark.parametrize("rate", [None, RATE], ids=["unlimited", "rate"])
def test_worker_processes_share_the_pause_and_the_rate(
    session, settings, topic, new_campaign, tmp_path: Path, rate: int | None
):
    campaign_id = _started_campaign(session, topic, new_campaign)
    state = tmp_path / "sendgrid.jsonl"
    with fake_sendgrid_process(state, *FAULTS) as url:
        environ = _worker_environ(settings, url, rate)
        workers = [spawn_worker(environ) for _ in range(PROCESSES)]
        for worker in workers:
            worker.join(180)
    assert [worker.exitcode for worker in workers] == [0] * PROCESSES
    _check_shared(session, campaign_id, state, rate)


def test_celery_workers_share_the_pause_and_the_rate(
    session, settings, database, topic, new_campaign, tmp_path: Path
):
    if not _redis_reachable():
        pytest.skip("Redis is not reachable on 127.0.0.1:6379")
    import redis

    from engine.celery_app import QUEUE

    redis.Redis.from_url(BROKER_URL).delete(QUEUE)
    campaign_id = _started_campaign(session, topic, new_campaign)
    state = tmp_path / "sendgrid.jsonl"
    pinwheel = str(Path(sys.executable).parent / "pinwheel")
    with fake_sendgrid_process(state, *FAULTS) as url:
        environ = _worker_environ(settings, url, RATE, BROKER_URL=BROKER_URL)
        logs = [tmp_path / f"worker{n}.log" for n in range(2)]
        workers = [
            subprocess.Popen(
                [pinwheel, "worker", "--concurrency", "2"],
                env={**os.environ, **environ},
                stdout=subprocess.DEVNULL,
                stderr=log.open("w"),
            )
            for log in logs
        ]
        try:
            dispatch_campaign(database, settings.with_overrides(BROKER_URL=BROKER_URL), campaign_id)
            status = _wait_until_sent(database, campaign_id, timeout=180)
        finally:
            for worker in workers:
                worker.send_signal(signal.SIGTERM)
            for worker in workers:
                worker.wait(30)
    assert status == CampaignStatus.SENT, logs[0].read_text()[-4000:]
    _check_shared(session, campaign_id, state, RATE)
