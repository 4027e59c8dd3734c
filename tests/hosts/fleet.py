"""Pinwheel on several hosts: worker and scheduler hosts, one PostgreSQL, a private Redis and
the fake SendGrid, all on one bed's bridge.

PostgreSQL stays on 127.0.0.1 and a forwarder puts it on the bridge address; Redis and the fake
SendGrid listen on the bridge address themselves. Each host runs ``pinwheel worker`` or
``pinwheel scheduler`` inside its namespace with settings pointing at those addresses, and
names itself in PostgreSQL (``application_name``) so a test can see which host holds what.
"""

from __future__ import annotations

import contextlib
import os
import sys
import time
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import sqlalchemy as sa
from sqlalchemy.orm import Session

from engine.clock import now
from engine.config import Settings
from tests.fakes.sendgrid_server import FakeState, fake_sendgrid_process, read_state
from tests.hosts.broker import PrivateRedis
from tests.hosts.forward import forwarder_process
from tests.hosts.netns import Host, NamespaceBed

PINWHEEL = Path(sys.executable).parent / "pinwheel"
#: Lines a host's log shows once it takes work.
READY_MARKS = {"worker": "ready.", "scheduler": "scheduler running"}


@dataclass(frozen=True, slots=True)
class Tuning:
    """Timings short enough for tests: a dead host's work comes back within seconds."""

    lease_seconds: int = 3
    recovery_seconds: int = 1
    requeue_after_seconds: int = 3
    visibility_seconds: int = 30
    idle_in_transaction_seconds: int = 3
    batch_size: int = 500
    concurrency: int = 2
    dispatch_interval: float = 0.3
    #: Seconds the fake SendGrid takes to answer: batches spend time in flight, as over the
    #: internet, so a fault finds some.
    provider_latency: float = 0.2
    #: The fake only counts what it accepts (benchmarks: its bookkeeping is not the sender's).
    provider_counts_only: bool = False


@dataclass(slots=True)
class Fleet:
    """The running bed: its hosts and the addresses and settings they share."""

    bed: NamespaceBed
    settings: Settings
    tuning: Tuning
    database_url: str
    redis: PrivateRedis
    provider_url: str
    provider_state: Path
    workers: list[Host] = field(default_factory=list)
    schedulers: list[Host] = field(default_factory=list)

    @property
    def broker_settings(self) -> Settings:
        """The test process's settings with this fleet's broker (to dispatch from the test)."""
        return self.settings.with_overrides(
            BROKER_URL=self.redis.url, BROKER_VISIBILITY_SECONDS=self.tuning.visibility_seconds
        )

    def environ(self, host: Host) -> dict[str, str]:
        """Return the environment of ``host``'s Pinwheel processes."""
        tuning = self.tuning
        values = {
            "ENV": "testing",
            "DATABASE_URL": self.database_url,
            "SECRET_KEY": self.settings.SECRET_KEY,
            "BASE_URL": self.settings.BASE_URL,
            "INSTANCE_PATH": str(self.bed.folder / host.name),
            "MAIL_BACKEND": "sendgrid",
            "SENDGRID_API_KEY": "SG.test-key",
            "SENDGRID_API_URL": self.provider_url,
            "BROKER_URL": self.redis.url,
            "BATCH_SIZE": str(tuning.batch_size),
            "WORKER_THREADS": str(tuning.concurrency),
            # Approval is a staff decision, tested elsewhere; these audiences are large.
            "APPROVAL_THRESHOLD": "1000000000",
            "BATCH_LEASE_SECONDS": str(tuning.lease_seconds),
            "RECOVERY_SECONDS": str(tuning.recovery_seconds),
            "REQUEUE_AFTER_SECONDS": str(tuning.requeue_after_seconds),
            "BROKER_VISIBILITY_SECONDS": str(tuning.visibility_seconds),
            "IDLE_IN_TRANSACTION_SECONDS": str(tuning.idle_in_transaction_seconds),
        }
        base = {key: os.environ[key] for key in ("PATH", "HOME", "LANG") if key in os.environ}
        # libpq's default application_name: pg_stat_activity then says which host holds what.
        return {**base, "PGAPPNAME": host.name, **{f"PINWHEEL_{k}": v for k, v in values.items()}}

    def add_host(self, name: str, *, wire: bool = False) -> Host:
        """Plug in host ``name``; ``wire`` asks for a link that can be impaired without netem."""
        (self.bed.folder / name).mkdir(exist_ok=True)
        return self.bed.add_host(name, wire=wire and not self.bed.has_netem)

    def start_worker(self, host: Host) -> None:
        argv = [str(PINWHEEL), "worker", "--concurrency", str(self.tuning.concurrency)]
        host.spawn(argv, self.environ(host))

    def start_scheduler(self, host: Host) -> None:
        interval = str(self.tuning.dispatch_interval)
        host.spawn(
            [str(PINWHEEL), "scheduler", "--dispatch-interval", interval], self.environ(host)
        )

    def wait_ready(self, timeout: float = 60.0) -> None:
        """Wait until every host's log says it takes work."""
        pending = {host: READY_MARKS["worker"] for host in self.workers}
        pending |= {host: READY_MARKS["scheduler"] for host in self.schedulers}
        deadline = time.monotonic() + timeout
        while pending and time.monotonic() < deadline:
            pending = {
                host: mark
                for host, mark in pending.items()
                if mark not in host.log.read_text(errors="replace")
            }
            time.sleep(0.1)
        if pending:
            names = ", ".join(host.name for host in pending)
            raise RuntimeError(f"hosts not ready after {timeout} s: {names}\n{self.tails()}")

    def host_of(self, claimed_by: str | None) -> Host | None:
        """Return the host a claim (``hostname:pid:thread``) belongs to."""
        hostname = (claimed_by or "").split(":", 1)[0]
        return next((h for h in self.bed.hosts.values() if h.hostname == hostname), None)

    def provider(self) -> FakeState:
        """What the fake SendGrid accepted so far."""
        return read_state(self.provider_state)

    def tails(self, characters: int = 2500) -> str:
        """The end of every host's log, for failure messages."""
        return "\n".join(host.tail(characters) for host in self.bed.hosts.values())


@contextlib.contextmanager
def run_fleet(
    settings: Settings,
    folder: Path,
    *,
    workers: int = 3,
    schedulers: int = 1,
    tuning: Tuning | None = None,
    impairable: Sequence[str] = (),
) -> Iterator[Fleet]:
    """Build a bed with ``workers`` worker hosts (w1…) and ``schedulers`` scheduler hosts
    (s1…), start them, and tear it all down afterwards, whatever happened.

    ``settings`` are the test process's (a PostgreSQL ``DATABASE_URL`` on loopback). Hosts
    named in ``impairable`` get a userspace wire where the kernel has no netem.
    """
    tuning = tuning or Tuning()
    url = sa.make_url(settings.DATABASE_URL)
    target = f"{url.host or '127.0.0.1'}:{url.port or 5432}"
    with contextlib.ExitStack() as stack:
        bed = stack.enter_context(NamespaceBed(folder))
        gateway = str(bed.gateway)
        port = stack.enter_context(forwarder_process(gateway, target))
        redis = stack.enter_context(PrivateRedis(gateway, folder))
        state = folder / "sendgrid.jsonl"
        options = ["--host", gateway, "--latency", str(tuning.provider_latency)]
        if tuning.provider_counts_only:
            options.append("--count-only")
        provider_url = stack.enter_context(fake_sendgrid_process(state, *options))
        fleet = Fleet(
            bed=bed,
            settings=settings,
            tuning=tuning,
            database_url=url.set(host=gateway, port=port).render_as_string(hide_password=False),
            redis=redis,
            provider_url=provider_url,
            provider_state=state,
        )
        # Registered last, so it runs first: hosts stop before the services under them do.
        stack.callback(bed.close)
        for name in [f"w{n}" for n in range(1, workers + 1)]:
            fleet.workers.append(fleet.add_host(name, wire=name in impairable))
            fleet.start_worker(fleet.workers[-1])
        for name in [f"s{n}" for n in range(1, schedulers + 1)]:
            fleet.schedulers.append(fleet.add_host(name))
            fleet.start_scheduler(fleet.schedulers[-1])
        yield fleet


def fill_audience(session: Session, topic_id: int, count: int) -> None:
    """Subscribe ``count`` confirmed readers (``fleet<n>@example.com``) to the topic, in SQL.

    PostgreSQL only (``generate_series``): a fleet shares one PostgreSQL.
    """
    stamp = now()
    session.execute(
        sa.text(
            "INSERT INTO subscriber (email, name, language, timezone, attributes, status, "
            "consent_source, created_at, updated_at) "
            "SELECT 'fleet' || n || '@example.com', 'Reader ' || n, 'en', '', '{}', 'active', "
            "'test', :stamp, :stamp FROM generate_series(1, :count) AS n"
        ),
        {"count": count, "stamp": stamp},
    )
    session.execute(
        sa.text(
            "INSERT INTO subscription (subscriber_id, topic_id, status, source, created_at) "
            "SELECT id, :topic, 'confirmed', 'test', :stamp FROM subscriber "
            "WHERE email LIKE 'fleet%@example.com'"
        ),
        {"topic": topic_id, "stamp": stamp},
    )
    # Fresh tables have no statistics: the freeze's plan would guess.
    session.execute(sa.text("ANALYZE subscriber, subscription"))
