"""Time whole sends: freeze, batch, personalize, hand over and record, against local fakes.

``python -m bench.bench_send [--quick] [--postgres URL]``; ``--quick`` divides the audiences
by ten (the figures then say so). The SendGrid and SMTP fakes run in their own processes, as
a real provider would, so they do not share the worker's GIL.

The SendGrid sends run as production does: the campaign is started (audience frozen into
batches) and then ``pinwheel worker`` processes, one per core, deliver it; the clock runs from
the start until the last worker has exited, its start-up included. The peak RSS reported is
the larger of those workers'.
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from email.message import EmailMessage
from multiprocessing import Event, Process, Queue
from multiprocessing.synchronize import Event as EventType
from pathlib import Path
from typing import Any

import sqlalchemy as sa

from bench.floor import Floor, fake_sendgrid, measure_floor
from bench.shares import PostgresCpu
from campaigns.issues.compiled import render_stored_issue
from campaigns.issues.models import Issue
from campaigns.sending.dispatch import run_campaign
from campaigns.sending.models import Campaign, CampaignStatus
from campaigns.sending.recovery import delivery_counts
from campaigns.sending.service import create_campaign, start_campaign
from engine.clock import now
from engine.config import PROJECT_ROOT, Settings, load_settings
from engine.db import Base, Database
from engine.dkim_keys import generate_key
from engine.executor import Executor
from engine.migrate import load_models
from subscribers.models import Topic
from tests.campaigns.seed_issues import SPOTLIGHT_000
from tests.fakes.smtp_sink import SmtpSink

SQLITE_RECIPIENTS = 100_000
MEMORY_RECIPIENTS = 10_000
POSTGRES_RECIPIENTS = 1_000_000
SMTP_RECIPIENTS = 5_000
NAIVE_SAMPLE = 40
DEFAULT_POSTGRES = "postgresql+psycopg://postgres@127.0.0.1:5432/postgres"
#: Runs ``pinwheel worker --once`` and prints its peak RSS in KiB and its CPU seconds as the
#: last line. VmHWM, not ``ru_maxrss``: the latter keeps the high-water mark of the forked parent
#: across ``exec``.
_WORKER = (
    "import os; from pathlib import Path; from campaigns.sending.worker import main; "
    "main(['--once']); t = os.times(); "
    "print(next(l.split()[1] for l in Path('/proc/self/status').read_text().splitlines() "
    "if l.startswith('VmHWM:')), t.user + t.system)"
)
#: Runs of the PostgreSQL send; the median is the figure.
POSTGRES_RUNS = 3
WORKER_PROCESSES = max(2, os.cpu_count() or 1)


def _settings(url: str, folder: Path, **extra: Any) -> Settings:
    return load_settings(
        environ={},
        ENV="testing",
        DATABASE_URL=url,
        SECRET_KEY="bench-secret",
        INSTANCE_PATH=str(folder),
        BASE_URL="https://news.example.org",
        # Approval is a staff decision, not a cost of sending: the bench measures the send.
        APPROVAL_THRESHOLD=10**9,
        **extra,
    )


def _fill_audience(database: Database, recipients: int) -> int:
    """Create a topic with ``recipients`` confirmed subscribers in SQL; return the topic id."""
    stamp = now()
    postgres = database.engine.dialect.name == "postgresql"
    series = (
        "SELECT n FROM generate_series(1, :count) AS n"
        if postgres
        else "WITH RECURSIVE seq(n) AS (SELECT 1 UNION ALL SELECT n + 1 FROM seq WHERE n < :count) "
        "SELECT n FROM seq"
    )
    with database.session() as session:
        topic = Topic(slug=f"bench-{uuid.uuid4().hex[:8]}", name="Bench")
        session.add(topic)
        session.flush()
        session.execute(
            sa.text(
                "INSERT INTO subscriber (email, name, language, timezone, attributes, status, "
                "consent_source, created_at, updated_at) "
                f"SELECT 'reader' || n || '@example.org', 'Reader ' || n, 'en', '', '{{}}', "
                f"'active', 'bench', :stamp, :stamp FROM ({series}) AS s"
            ),
            {"count": recipients, "stamp": stamp},
        )
        session.execute(
            sa.text(
                "INSERT INTO subscription (subscriber_id, topic_id, status, source, created_at) "
                "SELECT id, :topic, 'confirmed', 'bench', :stamp FROM subscriber"
            ),
            {"topic": topic.id, "stamp": stamp},
        )
        topic_id = topic.id
    if postgres:
        # A list that has been in use for a while has been vacuumed and analysed; one loaded a
        # second ago has neither visibility maps nor statistics.
        with database.engine.connect().execution_options(isolation_level="AUTOCOMMIT") as raw:
            raw.exec_driver_sql("VACUUM ANALYZE subscriber, subscription, suppression")
    return topic_id


def _new_campaign(database: Database, settings: Settings, topic_id: int) -> int:
    with database.session() as session:
        issue = Issue(
            slug=f"bench-{uuid.uuid4().hex[:8]}",
            title="Bench",
            layout="spotlight",
            content=SPOTLIGHT_000,
        )
        session.add(issue)
        session.flush()
        topic = session.get(Topic, topic_id)
        return create_campaign(session, issue, [topic], settings=settings).id


def _send(
    database: Database, settings: Settings, campaign_id: int, threads: int
) -> tuple[float, float]:
    """Start (freeze + batch) and deliver the campaign in-process; return wall and CPU seconds.

    CPU time is reported beside wall time because a shared machine stretches the latter.
    """
    started = time.perf_counter()
    cpu = time.process_time()
    _start(database, settings, campaign_id)
    run_campaign(database, settings, campaign_id, Executor(threads))
    elapsed = time.perf_counter() - started, time.process_time() - cpu
    _check_sent(database, campaign_id)
    return elapsed


def _start(database: Database, settings: Settings, campaign_id: int) -> None:
    """Start the draft campaign: freeze its audience into batches."""
    with database.session() as session:
        start_campaign(
            session,
            campaign_id,
            expected=CampaignStatus.DRAFT,
            batch_size=settings.BATCH_SIZE,
            settings=settings,
        )


def _check_sent(database: Database, campaign_id: int) -> None:
    with database.session() as session:
        campaign = session.get(Campaign, campaign_id)
        counts = delivery_counts(session, campaign_id)
        if campaign is None or campaign.status != CampaignStatus.SENT:
            raise AssertionError(f"campaign not sent: {counts}")
        if counts["accepted"] != campaign.recipients:
            raise AssertionError(f"not every recipient was accepted: {counts}")


def _database(url: str) -> Database:
    load_models()
    database = Database(_settings(url, Path(tempfile.gettempdir())))
    Base.metadata.create_all(database.engine)
    return database


def _postgres_database(admin_url: str) -> tuple[str, Any]:
    name = f"pinwheel_bench_{uuid.uuid4().hex[:10]}"
    admin = sa.create_engine(admin_url, isolation_level="AUTOCOMMIT")
    with admin.connect() as connection:
        connection.exec_driver_sql(f'CREATE DATABASE "{name}"')

    def drop() -> None:
        with admin.connect() as connection:
            connection.exec_driver_sql(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        admin.dispose()

    return sa.make_url(admin_url).set(database=name).render_as_string(hide_password=False), drop


@dataclass(frozen=True, slots=True)
class SendRun:
    """One SendGrid send: its wall time, where the CPU went, and the machine's load."""

    seconds: float
    freeze: float
    peak_kib: int
    workers_cpu: float
    fake_cpu: float
    postgres_cpu: float
    writers_cpu: float
    load: float

    def describe(self) -> str:
        return (
            f"{self.seconds:.1f} s (start and freeze {self.freeze:.1f} s; CPU: workers "
            f"{self.workers_cpu:.1f} s, fake {self.fake_cpu:.1f} s, PostgreSQL backends "
            f"{self.postgres_cpu:.1f} s, its writers {self.writers_cpu:.1f} s; "
            f"load {self.load:.2f})"
        )


def send_sendgrid(url: str, topic_id: int, folder: Path, admin_url: str | None = None) -> SendRun:
    """Start a campaign to the topic and deliver it with worker processes against the fake.

    With ``admin_url`` (PostgreSQL), the CPU of the database's backends is sampled too.
    """
    database = Database(_settings(url, folder))
    with fake_sendgrid() as fake:
        settings = _settings(
            url,
            folder,
            MAIL_BACKEND="sendgrid",
            SENDGRID_API_KEY="SG.test-key",
            SENDGRID_API_URL=fake.url,
        )
        campaign_id = _new_campaign(database, settings, topic_id)
        load = os.getloadavg()[0]
        name = sa.make_url(url).database or ""
        postgres = PostgresCpu(admin_url, name).start() if admin_url else None
        fake_before = fake.cpu()
        started = time.perf_counter()
        _start(database, settings, campaign_id)
        frozen = time.perf_counter() - started
        peak_kib, workers_cpu = _run_workers(url, fake.url, folder, WORKER_PROCESSES)
        seconds = time.perf_counter() - started
        fake_cpu = fake.cpu() - fake_before
        backends, writers = postgres.stop() if postgres else (0.0, 0.0)
        _check_sent(database, campaign_id)
    database.dispose()
    run = SendRun(seconds, frozen, peak_kib, workers_cpu, fake_cpu, backends, writers, load)
    print(f"bench_send: {run.describe()}", file=sys.stderr)
    return run


def bench_sendgrid(
    url: str, recipients: int, folder: Path, label: str, target: str
) -> list[tuple[str, str, str]]:
    """Send ``recipients`` through the SendGrid backend end to end with worker processes."""
    database = _database(url)
    topic_id = _fill_audience(database, recipients)
    database.dispose()
    run = send_sendgrid(url, topic_id, folder)
    return [
        (
            f"{label}: {recipients:,} via sendgrid, end to end",
            f"{run.seconds:.1f} s wall ({recipients / run.seconds:,.0f} msg/s, "
            f"{WORKER_PROCESSES} worker processes, load {run.load:.2f})",
            target,
        ),
        (f"{label}: peak worker RSS (sendgrid)", f"{run.peak_kib / 1024:.0f} MB", "< 150 MB"),
    ]


def bench_postgres(
    admin_url: str, recipients: int, folder: Path, runs: int = POSTGRES_RUNS, *, floor: bool = True
) -> list[tuple[str, str, str]]:
    """Measure the floor, then send ``recipients`` ``runs`` times, each on a fresh copy.

    The audience is loaded once into a template database; each run (and the floor) gets a
    copy of it, so every run starts from the same vacuumed, analysed tables.
    """
    template, drop = _postgres_database(admin_url)
    database = _database(template)
    topic_id = _fill_audience(database, recipients)
    database.dispose()
    try:
        measured = None
        if floor:
            with _copy(admin_url, template) as url:
                measured = _floor(url, topic_id, folder, recipients)
        sends = []
        for _ in range(runs):
            with _copy(admin_url, template) as url:
                sends.append(send_sendgrid(url, topic_id, folder, admin_url))
    finally:
        drop()
    median = sorted(sends, key=lambda run: run.seconds)[len(sends) // 2]
    each = ", ".join(f"{run.seconds:.1f} s (load {run.load:.2f})" for run in sends)
    multiple = (
        f", {median.seconds / measured.seconds:.2f}x the floor, "
        f"{median.seconds / measured.serial_seconds:.2f}x with the insert first"
        if measured
        else ""
    )
    return [
        (
            f"PostgreSQL: {recipients:,} via sendgrid, end to end, median of {runs}",
            f"{median.seconds:.1f} s wall ({recipients / median.seconds:,.0f} msg/s"
            f"{multiple}); runs {each}",
            "< 60 s for 1,000,000, < 1.5x the floor",
        ),
        (
            f"PostgreSQL: floor for {recipients:,}",
            measured.describe() if measured else "not measured",
            "-",
        ),
        (f"PostgreSQL: the median run, {recipients:,}", median.describe(), "-"),
        (
            "PostgreSQL: peak worker RSS (sendgrid)",
            f"{max(run.peak_kib for run in sends) / 1024:.0f} MB",
            "< 150 MB",
        ),
    ]


def _floor(url: str, topic_id: int, folder: Path, recipients: int) -> Floor:
    database = Database(_settings(url, folder))
    settings = _settings(url, folder)
    campaign_id = _new_campaign(database, settings, topic_id)
    database.dispose()
    floor = measure_floor(settings, url, campaign_id, recipients)
    print(f"bench_send: floor {floor.describe()}", file=sys.stderr)
    return floor


@contextmanager
def _copy(admin_url: str, template: str) -> Iterator[str]:
    """Yield the URL of a fresh copy of the ``template`` database, dropped afterwards."""
    source = sa.make_url(template).database
    name = f"{source}_{uuid.uuid4().hex[:6]}"
    admin = sa.create_engine(admin_url, isolation_level="AUTOCOMMIT")
    try:
        with admin.connect() as connection:
            connection.exec_driver_sql(f'CREATE DATABASE "{name}" TEMPLATE "{source}"')
        yield sa.make_url(template).set(database=name).render_as_string(hide_password=False)
    finally:
        with admin.connect() as connection:
            connection.exec_driver_sql(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        admin.dispose()


def _run_workers(url: str, api_url: str, folder: Path, processes: int) -> tuple[int, float]:
    """Run ``processes`` workers until the work is done; return the largest peak RSS (KiB)
    and their CPU seconds together."""
    environ = {
        "PINWHEEL_ENV": "testing",
        "PINWHEEL_DATABASE_URL": url,
        "PINWHEEL_SECRET_KEY": "bench-secret",
        "PINWHEEL_INSTANCE_PATH": str(folder),
        "PINWHEEL_BASE_URL": "https://news.example.org",
        "PINWHEEL_MAIL_BACKEND": "sendgrid",
        "PINWHEEL_SENDGRID_API_KEY": "SG.test-key",
        "PINWHEEL_SENDGRID_API_URL": api_url,
        "PATH": "/usr/bin:/bin",
    }
    workers = [
        subprocess.Popen(
            [sys.executable, "-c", _WORKER],
            env=environ,
            cwd=PROJECT_ROOT,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        for _ in range(processes)
    ]
    peaks, cpu = [], 0.0
    for worker in workers:
        out, err = worker.communicate(timeout=3600)
        if worker.returncode != 0:
            raise RuntimeError(f"worker failed:\n{err[-2000:]}")
        # The worker's own last line (a profiler wrapped around it may print after it).
        peak, seconds = next(
            fields
            for fields in (line.split() for line in reversed(out.splitlines()))
            if len(fields) == 2 and fields[0].isdigit()
        )
        peaks.append(int(peak))
        cpu += float(seconds)
    return max(peaks), cpu


def bench_memory(url: str, recipients: int, folder: Path) -> tuple[str, str, str]:
    """Send ``recipients`` to the in-memory backend: the pipeline's own cost, no provider."""
    database = _database(url)
    topic_id = _fill_audience(database, recipients)
    settings = _settings(url, folder, MAIL_BACKEND="memory", WORKER_THREADS=2)
    seconds, cpu = _send(database, settings, _new_campaign(database, settings, topic_id), 2)
    database.dispose()
    return (
        f"SQLite: {recipients:,} to the memory backend, end to end",
        f"{seconds:.1f} s wall, {cpu:.1f} s CPU ({recipients / seconds:,.0f} msg/s)",
        "-",
    )


def _serve_sink(ports: Queue[int], stop: EventType) -> None:
    with SmtpSink() as sink:
        ports.put(sink.port)
        stop.wait()


def bench_smtp(folder: Path, recipients: int, **dkim: str) -> tuple[float, tuple[str, str, str]]:
    """Send through the SMTP backend to a sink process with one worker thread.

    ``dkim`` (``DKIM_SELECTOR``, ``DKIM_PRIVATE_KEY_PATH``) has every message signed.
    """
    url = f"sqlite:///{folder / ('smtp-dkim.db' if dkim else 'smtp.db')}"
    database = _database(url)
    topic_id = _fill_audience(database, recipients)
    ports: Queue[int] = Queue()
    stop = Event()
    child = Process(target=_serve_sink, args=(ports, stop), daemon=True)
    child.start()
    try:
        settings = _settings(
            url,
            folder,
            MAIL_BACKEND="smtp",
            SMTP_URL=f"smtp://127.0.0.1:{ports.get(timeout=10)}",
            **dkim,
        )
        seconds, cpu = _send(database, settings, _new_campaign(database, settings, topic_id), 1)
    finally:
        stop.set()
        child.join(timeout=10)
    database.dispose()
    row = (
        "smtp to local sink, one worker, end to end" + (", DKIM rsa-sha256" if dkim else ""),
        f"{recipients / seconds:,.0f} msg/s wall ({recipients / cpu:,.0f} per CPU second)",
        ">= 800 msg/s",
    )
    return seconds / recipients, row


def bench_naive(folder: Path, ours_per_recipient: float) -> tuple[str, str, str]:
    """Re-render MJML and build an ``EmailMessage`` per recipient: the design we avoid."""
    settings = _settings(f"sqlite:///{folder / 'naive.db'}", folder)
    issue = Issue(slug="naive", title="Naive", layout="spotlight", content=SPOTLIGHT_000)
    started = time.perf_counter()
    for n in range(NAIVE_SAMPLE):
        rendered = render_stored_issue(settings, issue)
        mail = EmailMessage()
        mail["From"], mail["To"], mail["Subject"] = (
            settings.SENDER_ADDRESS,
            f"r{n}@example.org",
            "S",
        )
        mail.set_content(rendered.text.replace("%%unsubscribe_url%%", f"https://x/u/{n}"))
        mail.add_alternative(
            rendered.html.replace("%%unsubscribe_url%%", f"https://x/u/{n}"), subtype="html"
        )
        mail.as_bytes()
    naive = (time.perf_counter() - started) / NAIVE_SAMPLE
    figure = (
        f"{naive * 1000:.1f} ms vs {ours_per_recipient * 1000:.2f} ms per recipient "
        f"({naive / ours_per_recipient:.0f}x)"
    )
    return ("naive re-render + EmailMessage vs pipeline (smtp)", figure, "pipeline >= 20x faster")


def run(
    quick: bool = False,
    postgres_url: str = DEFAULT_POSTGRES,
    postgres_recipients: int | None = None,
    *,
    postgres_only: bool = False,
    runs: int = POSTGRES_RUNS,
    floor: bool = True,
) -> list[tuple[str, str, str]]:
    """Run the send benchmarks and return (name, figure, target) rows."""
    scale = 10 if quick else 1
    postgres_recipients = postgres_recipients or POSTGRES_RECIPIENTS // scale
    rows: list[tuple[str, str, str]] = []
    with tempfile.TemporaryDirectory(prefix="pinwheel-bench-") as name:
        folder = Path(name)
        if postgres_only:
            return bench_postgres(postgres_url, postgres_recipients, folder, runs, floor=floor)
        rows.append(bench_memory(f"sqlite:///{folder / 'memory.db'}", MEMORY_RECIPIENTS, folder))
        rows += bench_sendgrid(
            f"sqlite:///{folder / 'send.db'}",
            SQLITE_RECIPIENTS // scale,
            folder,
            "SQLite",
            "< 5 s for 100,000",
        )
        per_recipient, smtp_row = bench_smtp(folder, SMTP_RECIPIENTS)
        key = folder / "dkim.pem"
        key.write_bytes(generate_key("rsa").private_pem())
        _, signed_row = bench_smtp(
            folder, SMTP_RECIPIENTS, DKIM_SELECTOR="s1", DKIM_PRIVATE_KEY_PATH=str(key)
        )
        rows += [smtp_row, signed_row, bench_naive(folder, per_recipient)]
        try:
            rows += bench_postgres(postgres_url, postgres_recipients, folder, runs, floor=floor)
        except sa.exc.OperationalError as error:
            rows.append(("PostgreSQL via sendgrid", f"skipped: {error.orig}", "< 60 s"))
    return rows


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--quick", action="store_true", help="audiences divided by ten")
    parser.add_argument("--postgres", default=DEFAULT_POSTGRES, help="admin URL for a scratch DB")
    parser.add_argument("--postgres-recipients", type=int, default=None, help="PostgreSQL audience")
    parser.add_argument("--postgres-only", action="store_true", help="only the PostgreSQL send")
    parser.add_argument("--runs", type=int, default=POSTGRES_RUNS, help="PostgreSQL sends")
    parser.add_argument("--no-floor", action="store_true", help="skip measuring the floor")
    options = parser.parse_args()
    rows = run(
        options.quick,
        options.postgres,
        options.postgres_recipients,
        postgres_only=options.postgres_only,
        runs=options.runs,
        floor=not options.no_floor,
    )
    for label, figure, target in rows:
        print(f"{label}: {figure} (target {target})")
