"""One campaign sent by three worker hosts while one of them, the broker or a scheduler fails.

Each host is a network namespace on a private bridge (``tests.hosts``) running a real
``pinwheel worker`` or ``pinwheel scheduler``. Whatever the fault, every recipient is accepted
exactly once at the fake SendGrid, except the deliveries in flight on a host when it went
away: those are ``uncertain``, listed, and were that host's. The database's books match what
the fake received. Needs root, iproute2, redis-server and PostgreSQL.
"""

from __future__ import annotations

import json
import os
import shutil
import time
from collections.abc import Callable
from datetime import timedelta
from pathlib import Path
from typing import TypeVar

import pytest
import sqlalchemy as sa
from flask.testing import FlaskCliRunner
from sqlalchemy.orm import Session

from campaigns.sending.dispatch import dispatch_campaign
from campaigns.sending.models import Batch, BatchStatus, Campaign, CampaignStatus, Delivery
from campaigns.sending.models import DeliveryStatus as Ds
from campaigns.sending.service import start_campaign
from engine.clock import now
from engine.config import Settings
from engine.db import Database
from engine.web import get_settings
from tests.hosts.fleet import Fleet, Tuning, fill_audience, run_fleet
from tests.hosts.ledger import Held, Result, check_ledger, read_ledger
from tests.hosts.netns import Host, unavailable_reason

pytestmark = pytest.mark.slow
#: The issue's audience; ``PINWHEEL_FLEET_RECIPIENTS`` lowers it for a quick run.
RECIPIENTS = int(os.environ.get("PINWHEEL_FLEET_RECIPIENTS", "100000"))
#: Seconds one send may take under a fault before the test gives up.
SEND_TIMEOUT = 300.0
TUNING = Tuning()
#: Progress (share of the audience accepted) at which a fault strikes: every host is busy.
STRIKE_AT = 0.1
#: Seconds the worker links stay slow and lossy.
IMPAIRED_SECONDS = 15.0
HELD = (BatchStatus.CLAIMED, BatchStatus.SUBMITTING)
T = TypeVar("T")


@pytest.fixture
def fleet_settings(settings: Settings) -> Settings:
    """Skip unless this machine can build a bed; return the app's settings."""
    if not settings.DATABASE_URL.startswith("postgresql"):
        pytest.skip("hosts share one PostgreSQL server (SQLite is a file on one machine)")
    if reason := unavailable_reason():
        pytest.skip(reason)
    if shutil.which("redis-server") is None:
        pytest.skip("redis-server is not installed")
    return get_settings()


@pytest.fixture
def campaign_id(fleet_settings: Settings, session: Session, topic, new_campaign) -> int:
    fill_audience(session, topic.id, RECIPIENTS)
    session.commit()
    return int(new_campaign().id)


def _first(check: Callable[[], T | None], timeout: float) -> T | None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if (value := check()) is not None:
            return value
        time.sleep(0.05)
    return None


def _poll(check: Callable[[], T | None], timeout: float, failure: str, fleet: Fleet) -> T:
    if (value := _first(check, timeout)) is None:
        raise AssertionError(f"{failure} (waited {timeout:.0f} s)\n{fleet.tails()}")
    return value


def _send(database: Database, fleet: Fleet, campaign_id: int) -> float:
    """Start the campaign (freeze its audience) and hand its batches to the broker."""
    started = time.monotonic()
    with database.session() as session:
        assert start_campaign(
            session,
            campaign_id,
            expected=CampaignStatus.DRAFT,
            batch_size=TUNING.batch_size,
            settings=get_settings(),
        )
    dispatch_campaign(database, fleet.broker_settings, campaign_id)
    return started


def _accepted(database: Database, campaign_id: int) -> int:
    with database.session() as session:
        query = sa.select(sa.func.count()).where(
            Delivery.campaign_id == campaign_id, Delivery.status == Ds.ACCEPTED
        )
        return int(session.scalar(query) or 0)


def _wait_progress(database: Database, fleet: Fleet, campaign_id: int) -> None:
    target = int(RECIPIENTS * STRIKE_AT)

    def progressed() -> bool | None:
        return True if _accepted(database, campaign_id) >= target else None

    _poll(progressed, 120, f"fewer than {target} recipients accepted", fleet)


def _host_batches(database: Database, host: Host) -> dict[int, str]:
    """Return the batches ``host`` holds (claimed or submitting), with their status."""
    with database.session() as session:
        rows = session.execute(
            sa.select(Batch.id, Batch.status).where(
                Batch.claimed_by.like(f"{host.hostname}:%"), Batch.status.in_(HELD)
            )
        )
        return {batch_id: status for batch_id, status in rows}


def _strike(
    database: Database, fleet: Fleet, host: Host, fault: Callable[[], object], *, both: bool = False
) -> Held:
    """Wait until ``host`` has a batch at the provider, apply ``fault``, return what it held.

    With ``both``, wait a while longer for a moment when it also holds a batch it has claimed
    but not sent yet (claims last milliseconds), so that recovery hands one to another host.
    """

    def holding(statuses: set[str]) -> Callable[[], dict[int, str] | None]:
        def check() -> dict[int, str] | None:
            held = _host_batches(database, host)
            return held if statuses <= set(held.values()) else None

        return check

    submitting_only = holding({BatchStatus.SUBMITTING})
    before = _poll(submitting_only, 120, f"{host.name} never had a batch at the provider", fleet)
    if both:
        before = _first(holding(set(HELD)), 20) or before
    fault()
    # A commit sent just before the fault may still land: look once it has.
    time.sleep(0.3)
    after = _host_batches(database, host)
    return Held(
        batches=frozenset(before) | frozenset(after),
        submitting=frozenset(b for b, status in after.items() if status == BatchStatus.SUBMITTING),
        claimed=frozenset(b for b, status in after.items() if status == BatchStatus.CLAIMED),
    )


def _results(database: Database, batch_ids: frozenset[int]) -> dict[int, Result]:
    with database.session() as session:
        rows = session.execute(
            sa.select(Delivery.id, Delivery.status, Delivery.provider_message_id).where(
                Delivery.batch_id.in_(batch_ids)
            )
        )
        return {delivery_id: (status, message_id) for delivery_id, status, message_id in rows}


def _settle(database: Database, fleet: Fleet, host: Host, held: Held) -> dict[int, Result]:
    """Wait until recovery took back what the absent ``host`` held and others finished it;
    return those deliveries' results, which its return must not change."""

    def settled() -> bool | None:
        with database.session() as session:
            statuses = session.scalars(sa.select(Batch.status).where(Batch.id.in_(held.batches)))
            return True if set(statuses) <= {BatchStatus.DONE} else None

    timeout = 10 * TUNING.lease_seconds + 30
    _poll(settled, timeout, f"recovery never settled the batches {host.name} held", fleet)
    return _results(database, held.batches)


def _wait_sent(database: Database, fleet: Fleet, campaign_id: int) -> None:
    def sent() -> bool | None:
        with database.session() as session:
            status = session.scalar(sa.select(Campaign.status).where(Campaign.id == campaign_id))
        return True if status == CampaignStatus.SENT else None

    try:
        _poll(sent, SEND_TIMEOUT, "the campaign was not sent", fleet)
    except AssertionError as error:
        raise AssertionError(f"{_census(database, campaign_id)}\n{error}") from None


def _census(database: Database, campaign_id: int) -> str:
    with database.session() as session:
        deliveries = session.execute(
            sa.select(Delivery.status, sa.func.count())
            .where(Delivery.campaign_id == campaign_id)
            .group_by(Delivery.status)
        ).all()
        batches = session.execute(
            sa.select(Batch.status, sa.func.count())
            .where(Batch.campaign_id == campaign_id)
            .group_by(Batch.status)
        ).all()
    counts = ({str(status): n for status, n in rows} for rows in (deliveries, batches))
    return "deliveries {} batches {}".format(*counts)


def _listed_uncertain(runner: FlaskCliRunner, campaign_id: int) -> set[int]:
    result = runner.invoke(args=["campaigns", "uncertain", str(campaign_id), "--json"])
    assert result.exit_code == 0, result.output
    return {row["delivery_id"] for row in json.loads(result.output)}


def _check_books(
    database: Database,
    runner: FlaskCliRunner,
    fleet: Fleet,
    campaign_id: int,
    *,
    culprit: Host | None = None,
    held: Held | None = None,
    settled: dict[int, Result] | None = None,
) -> str:
    """Check the campaign is sent and its ledger balances; return a summary line."""
    with database.session() as session:
        status = session.scalar(sa.select(Campaign.status).where(Campaign.id == campaign_id))
    assert status == CampaignStatus.SENT
    return check_ledger(
        read_ledger(database, fleet.provider(), campaign_id),
        recipients=RECIPIENTS,
        listed=_listed_uncertain(runner, campaign_id),
        away=None if culprit is None or held is None else (str(culprit.address), held),
        settled=settled,
    )


def _report(label: str, seconds: float, summary: str) -> None:
    print(f"\n[fleet] {label}: {RECIPIENTS:,} recipients in {seconds:.1f} s; {summary}")


def _await_return(fleet: Fleet, host: Host, since: float, timeout: float) -> str:
    """Let a host that came back finish what it had at the provider; describe what it did.

    Called once the campaign is sent: a connection it still has to the provider is a request
    from before its absence (TCP retransmits on a backed-off timer after a cut).
    """
    provider = fleet.provider_url.removeprefix("http://")
    started = time.monotonic()
    while host.connections(provider) and time.monotonic() - started < timeout:
        time.sleep(0.2)
    waited = time.monotonic() - started
    # Its answers, if any, are recorded (or refused) right after they arrive.
    time.sleep(1.0)
    address = str(host.address)
    requests = sum(
        1 for r in fleet.provider().requests if r["client"] == address and r["at"] > since
    )
    return f"{host.name} made {requests} requests after its return, quiet {waited:.1f} s after"


def _handed_over(held: Held) -> str:
    return f"{len(held.submitting)} batch(es) at the provider, {len(held.claimed)} claimed"


def test_killed_worker_host(fleet_settings, database, runner, campaign_id, tmp_path: Path):
    with run_fleet(fleet_settings, tmp_path, tuning=TUNING) as fleet:
        fleet.wait_ready()
        started = _send(database, fleet, campaign_id)
        _wait_progress(database, fleet, campaign_id)
        victim = fleet.workers[0]
        held = _strike(database, fleet, victim, victim.kill)
        _wait_sent(database, fleet, campaign_id)
        seconds = time.monotonic() - started
        summary = _check_books(database, runner, fleet, campaign_id, culprit=victim, held=held)
    _report("one worker host killed", seconds, f"{_handed_over(held)}; {summary}")


def test_frozen_worker_host_comes_back(
    fleet_settings, database, runner, campaign_id, tmp_path: Path
):
    with run_fleet(fleet_settings, tmp_path, tuning=TUNING) as fleet:
        fleet.wait_ready()
        started = _send(database, fleet, campaign_id)
        _wait_progress(database, fleet, campaign_id)
        victim = fleet.workers[0]
        held = _strike(database, fleet, victim, victim.freeze, both=True)
        settled = _settle(database, fleet, victim, held)
        thawed = time.time()
        victim.thaw()
        _wait_sent(database, fleet, campaign_id)
        seconds = time.monotonic() - started
        late = _await_return(fleet, victim, thawed, timeout=10)
        summary = _check_books(
            database, runner, fleet, campaign_id, culprit=victim, held=held, settled=settled
        )
    _report(
        "one worker host frozen past its leases",
        seconds,
        f"{_handed_over(held)}; {summary}; {late}",
    )


def test_cut_link_comes_back(fleet_settings, database, runner, campaign_id, tmp_path: Path):
    with run_fleet(fleet_settings, tmp_path, tuning=TUNING) as fleet:
        fleet.wait_ready()
        started = _send(database, fleet, campaign_id)
        _wait_progress(database, fleet, campaign_id)
        victim = fleet.workers[0]
        held = _strike(database, fleet, victim, victim.link.cut, both=True)
        settled = _settle(database, fleet, victim, held)
        restored = time.time()
        victim.link.restore()
        _wait_sent(database, fleet, campaign_id)
        seconds = time.monotonic() - started
        late = _await_return(fleet, victim, restored, timeout=40)
        summary = _check_books(
            database, runner, fleet, campaign_id, culprit=victim, held=held, settled=settled
        )
    _report(
        "one worker host's link cut past its leases",
        seconds,
        f"{_handed_over(held)}; {summary}; {late}",
    )


def test_latency_and_loss(fleet_settings, database, runner, campaign_id, tmp_path: Path):
    workers = ("w1", "w2", "w3")
    with run_fleet(fleet_settings, tmp_path, tuning=TUNING, impairable=workers) as fleet:
        fleet.wait_ready()
        started = _send(database, fleet, campaign_id)
        _wait_progress(database, fleet, campaign_id)
        for host in fleet.workers:
            host.link.impair(delay_ms=30, jitter_ms=10, loss_percent=2)
        # Long enough for many batches to outlast their lease unless it is renewed; the whole
        # send under it would take minutes.
        time.sleep(IMPAIRED_SECONDS)
        for host in fleet.workers:
            host.link.clear()
        _wait_sent(database, fleet, campaign_id)
        seconds = time.monotonic() - started
        summary = _check_books(database, runner, fleet, campaign_id)
    kind = "netem" if fleet.bed.has_netem else "userspace wire (no sch_netem in this kernel)"
    label = f"30±10 ms and 2% loss on every worker link for {IMPAIRED_SECONDS:.0f} s ({kind})"
    _report(label, seconds, summary)


def test_redis_restarted_mid_send(fleet_settings, database, runner, campaign_id, tmp_path: Path):
    with run_fleet(fleet_settings, tmp_path, tuning=TUNING) as fleet:
        fleet.wait_ready()
        started = _send(database, fleet, campaign_id)
        _wait_progress(database, fleet, campaign_id)
        # Killed, so every queued task is lost: the batches themselves live in the database.
        fleet.redis.restart(down_for=2.0)
        _wait_sent(database, fleet, campaign_id)
        seconds = time.monotonic() - started
        summary = _check_books(database, runner, fleet, campaign_id)
    _report("Redis killed and restarted empty", seconds, summary)


def _starting(database: Database, fleet: Fleet) -> Host | None:
    """Return the scheduler host whose transaction is starting the campaign (writing, not
    waiting for the other's lock)."""
    with database.session() as session:
        name = session.scalar(
            sa.text(
                "SELECT application_name FROM pg_stat_activity "
                "WHERE datname = current_database() AND application_name = ANY(:names) "
                "AND backend_xid IS NOT NULL AND wait_event_type IS DISTINCT FROM 'Lock' LIMIT 1"
            ),
            {"names": [host.name for host in fleet.schedulers]},
        )
    return next((host for host in fleet.schedulers if host.name == name), None)


def test_two_schedulers_start_once_across_a_failover(
    fleet_settings, database, runner, campaign_id, tmp_path: Path
):
    with run_fleet(fleet_settings, tmp_path, tuning=TUNING, schedulers=2) as fleet:
        fleet.wait_ready()
        with database.session() as session:
            session.execute(
                sa.update(Campaign)
                .where(Campaign.id == campaign_id)
                .values(status=CampaignStatus.SCHEDULED, send_at=now() + timedelta(seconds=1))
            )
        holder = _poll(lambda: _starting(database, fleet), 60, "no scheduler started it", fleet)
        started = time.monotonic()
        holder.kill()
        _wait_sent(database, fleet, campaign_id)
        seconds = time.monotonic() - started
        summary = _check_books(database, runner, fleet, campaign_id)
        starts = {
            host.name: host.log.read_text().count(f"started campaign {campaign_id}")
            for host in fleet.schedulers
        }
        with database.session() as session:
            batches = session.scalar(
                sa.select(sa.func.count()).where(Batch.campaign_id == campaign_id)
            )
    assert sum(starts.values()) == 1, f"starts per scheduler host: {starts}"
    assert batches == -(-RECIPIENTS // TUNING.batch_size)
    _report(f"scheduler {holder.name} killed while starting", seconds, f"{summary}; {starts}")
