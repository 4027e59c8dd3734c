"""Time one campaign sent by one, two and three worker hosts (network namespaces, Celery).

``python -m bench.bench_fleet [--recipients N] [--postgres URL] [--provider-latency S]``.
Each run builds a fresh bed (``tests.hosts``): worker hosts running ``pinwheel worker`` with
two pool processes each, a private Redis and the fake SendGrid on the bridge, PostgreSQL
forwarded onto it. The clock runs from "send" (start: the audience frozen into batches, then
dispatch: the batches handed to Redis) until the campaign is ``sent``; the latency figure is
from "send" until the fake SendGrid accepts its first message.

Every host shares this machine's cores: with two cores, more hosts add processes and
connections, not CPU, so the figures show the cost of spreading a send, not a speed-up.
Needs root and iproute2; PostgreSQL as for ``bench_send``.
"""

from __future__ import annotations

import argparse
import os
import tempfile
import time
from dataclasses import dataclass, replace
from pathlib import Path

import sqlalchemy as sa

from bench.bench_send import (
    DEFAULT_POSTGRES,
    _check_sent,
    _database,
    _fill_audience,
    _new_campaign,
    _postgres_database,
    _settings,
)
from campaigns.sending.dispatch import dispatch_campaign
from campaigns.sending.models import Campaign, CampaignStatus
from campaigns.sending.service import start_campaign
from engine.config import Settings
from engine.db import Database
from tests.hosts.fleet import Fleet, Tuning, run_fleet
from tests.hosts.netns import unavailable_reason

RECIPIENTS = int(os.environ.get("PINWHEEL_BENCH_FLEET_RECIPIENTS", "100000"))
HOST_COUNTS = (1, 2, 3)
#: Production-like batches, no faults: leases long enough that a busy machine never loses one.
TUNING = Tuning(lease_seconds=60, batch_size=1000, provider_latency=0.0, provider_counts_only=True)
SEND_TIMEOUT = 1800.0
MACHINE_NOTE = (
    "{cores} cores shared by every host, PostgreSQL, Redis and the fake: more hosts add "
    "processes, not CPU, so read the CPU per message as the cost of spreading the send; "
    "wall time may still fall while processes wait on the database and the provider"
)


def _first_accepted(fleet: Fleet) -> float:
    """Return when (epoch seconds) the fake SendGrid first accepted a request."""
    return min(r["at"] for r in fleet.provider().requests if r["status"] == 202)


def _wait_sent(database: Database, campaign_id: int) -> None:
    deadline = time.monotonic() + SEND_TIMEOUT
    while time.monotonic() < deadline:
        with database.session() as session:
            status = session.scalar(sa.select(Campaign.status).where(Campaign.id == campaign_id))
        if status == CampaignStatus.SENT:
            return
        time.sleep(0.1)
    raise RuntimeError(f"campaign {campaign_id} not sent after {SEND_TIMEOUT:.0f} s")


@dataclass(frozen=True, slots=True)
class Run:
    """One timed send."""

    #: From the start (freeze) until the first message is accepted.
    first_accepted: float
    #: The start: the audience frozen into batches.
    freeze: float
    #: From dispatch (batches handed to Redis) until the campaign is ``sent``.
    delivery: float
    #: CPU seconds the worker hosts' processes used, start-up included.
    cpu: float


def send_with_hosts(
    database: Database, settings: Settings, topic_id: int, hosts: int, tuning: Tuning, folder: Path
) -> Run:
    """Send the audience with ``hosts`` worker hosts."""
    campaign_id = _new_campaign(database, settings, topic_id)
    folder.mkdir()
    with run_fleet(settings, folder, workers=hosts, schedulers=0, tuning=tuning) as fleet:
        fleet.wait_ready()
        sent_at, started = time.time(), time.perf_counter()
        with database.session() as session:
            start_campaign(
                session,
                campaign_id,
                expected=CampaignStatus.DRAFT,
                batch_size=tuning.batch_size,
                settings=settings,
            )
        frozen = time.perf_counter()
        dispatch_campaign(database, fleet.broker_settings, campaign_id)
        _wait_sent(database, campaign_id)
        done = time.perf_counter()
        cpu = sum(host.cpu_seconds() for host in fleet.workers)
        first = _first_accepted(fleet) - sent_at
    _check_sent(database, campaign_id)
    return Run(first, frozen - started, done - frozen, cpu)


def _rows(hosts: int, recipients: int, tuning: Tuning, run: Run) -> list[tuple[str, str, str]]:
    label = f"fleet: {hosts} worker host(s) x {tuning.concurrency} processes"
    per_thousand = run.cpu / recipients * 1000
    return [
        (
            f"{label}, {recipients:,} via sendgrid, dispatch to sent",
            f"{run.delivery:.1f} s ({recipients / run.delivery:,.0f} msg/s), "
            f"worker CPU {run.cpu:.1f} s ({per_thousand:.2f} s per 1,000)",
            "-",
        ),
        (
            f"{label}, send to first accepted",
            f"{run.first_accepted * 1000:,.0f} ms "
            f"(of which start/freeze {run.freeze * 1000:,.0f} ms)",
            "-",
        ),
    ]


def run(
    recipients: int = RECIPIENTS,
    postgres_url: str = DEFAULT_POSTGRES,
    provider_latency: float = TUNING.provider_latency,
) -> list[tuple[str, str, str]]:
    """Run the fleet benchmark and return (name, figure, target) rows."""
    if reason := unavailable_reason():
        return [("fleet: worker hosts in network namespaces", f"skipped: {reason}", "-")]
    try:
        url, drop = _postgres_database(postgres_url)
    except sa.exc.OperationalError as error:
        return [("fleet: worker hosts in network namespaces", f"skipped: {error.orig}", "-")]
    tuning = replace(TUNING, provider_latency=provider_latency)
    rows = [("fleet: this machine", MACHINE_NOTE.format(cores=os.cpu_count() or 1), "-")]
    try:
        with tempfile.TemporaryDirectory(prefix="pinwheel-bench-") as name:
            settings = _settings(url, Path(name))
            database = _database(url)
            topic_id = _fill_audience(database, recipients)
            for hosts in HOST_COUNTS:
                folder = Path(name) / f"hosts{hosts}"
                timed = send_with_hosts(database, settings, topic_id, hosts, tuning, folder)
                rows += _rows(hosts, recipients, tuning, timed)
            database.dispose()
    finally:
        drop()
    return rows


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--recipients", type=int, default=RECIPIENTS)
    parser.add_argument("--postgres", default=DEFAULT_POSTGRES, help="admin URL for a scratch DB")
    parser.add_argument("--provider-latency", type=float, default=TUNING.provider_latency)
    options = parser.parse_args()
    for label, figure, target in run(
        options.recipients, options.postgres, options.provider_latency
    ):
        print(f"{label}: {figure} (target {target})")
