"""Time a daily digest run on PostgreSQL: claim the window, render its variants, freeze, send.

``python -m bench.bench_digest [--subscribers N] [--postgres URL]``. N subscribers follow one
or two of 6 topics; a third take a daily digest, a third a weekly one, the rest each bulletin.
Ten bulletins went out in the window. The run is timed in two parts, as production runs it:
the scheduler's transaction (``run_digest``: window compare-and-set, the bulletins,
one rendered variant per set of topics, the frozen audience cut into batches), then
``pinwheel worker`` processes, one per core, delivering it to the fake SendGrid.
"""

from __future__ import annotations

import argparse
import tempfile
import time
import uuid
from datetime import timedelta
from pathlib import Path

import sqlalchemy as sa

from bench.bench_send import (
    DEFAULT_POSTGRES,
    WORKER_PROCESSES,
    _check_sent,
    _database,
    _postgres_database,
    _run_workers,
    _settings,
)
from bench.floor import fake_sendgrid
from campaigns.digests.runs import run_digest
from campaigns.digests.windows import latest_window
from campaigns.issues.models import Issue, IssueRevision, IssueStatus
from campaigns.issues.workflow import approval_hash
from campaigns.sending.models import Campaign, CampaignStatus
from engine.clock import now
from engine.db import Database
from subscribers.models import Frequency, Topic
from tests.campaigns.seed_issues import SPOTLIGHT_000

SUBSCRIBERS = 60_000
TOPICS = 6
BULLETINS = 10
ZONE = "America/New_York"


def _fill(database: Database, subscribers: int) -> list[int]:
    """Create the topics and subscribers in SQL; return the topic ids."""
    stamp = now()
    with database.session() as session:
        topics = [Topic(slug=f"digest-{n}", name=f"Topic {n}", position=n) for n in range(TOPICS)]
        session.add_all(topics)
        session.flush()
        session.execute(
            sa.text(
                "INSERT INTO subscriber (email, name, language, timezone, attributes, status, "
                "consent_source, created_at, updated_at) "
                "SELECT 'reader' || n || '@example.org', 'Reader ' || n, 'en', '', '{}', "
                "'active', 'bench', :stamp, :stamp FROM generate_series(1, :count) AS n"
            ),
            {"count": subscribers, "stamp": stamp},
        )
        frequency = "CASE id % 3 WHEN 0 THEN 'daily' WHEN 1 THEN 'weekly' ELSE 'immediately' END"
        for number, topic in enumerate(topics):
            # Each reader follows topic id % 6 and topic (id / 6) % 6: one or two topics.
            session.execute(
                sa.text(
                    "INSERT INTO subscription (subscriber_id, topic_id, status, source, "
                    f"created_at, frequency) SELECT id, :topic, 'confirmed', 'bench', :stamp, "
                    f"{frequency} FROM subscriber WHERE id % 6 = :n OR (id / 6) % 6 = :n"
                ),
                {"topic": topic.id, "stamp": stamp, "n": number},
            )
        topic_ids = [topic.id for topic in topics]
    with database.engine.connect().execution_options(isolation_level="AUTOCOMMIT") as raw:
        raw.exec_driver_sql("VACUUM ANALYZE subscriber, subscription, suppression")
    return topic_ids


def _bulletins(database: Database, topic_ids: list[int], start: object) -> None:
    """Record ten bulletins sent in the window, to one or two topics each."""
    with database.session() as session:
        for n in range(BULLETINS):
            issue = Issue(
                slug=f"bulletin-{n}-{uuid.uuid4().hex[:6]}",
                title=f"Bulletin {n + 1}",
                layout="spotlight",
                content={**SPOTLIGHT_000, "title": f"Bulletin {n + 1}"},
            )
            session.add(issue)
            session.flush()
            chosen = {topic_ids[n % TOPICS], topic_ids[(n * 5 + 1) % TOPICS]}
            # Digests relay only bulletins approved for their whole topics.
            revision = IssueRevision(
                issue_id=issue.id, number=issue.revision, content=issue.content
            )
            session.add(revision)
            session.flush()
            issue.approval_hash = approval_hash(revision, chosen, None)
            issue.status = IssueStatus.APPROVED
            session.add(
                Campaign(
                    issue_id=issue.id, issue_revision=issue.revision, name=issue.title,
                    status=CampaignStatus.SENT, subject=issue.title, from_address="a@b.example",
                    started_at=start + timedelta(minutes=30 + 60 * n),  # type: ignore[operator]
                    topics=[session.get(Topic, topic_id) for topic_id in chosen],
                )
            )  # fmt: skip


def bench_digest(url: str, subscribers: int, folder: Path) -> list[tuple[str, str, str]]:
    """Run one daily digest window for ``subscribers`` and deliver it; return figures."""
    database = _database(url)
    topic_ids = _fill(database, subscribers)
    window = latest_window(Frequency.DAILY, now(), ZONE, 5)
    _bulletins(database, topic_ids, window.start)
    with fake_sendgrid() as fake:
        api_url = fake.url
        settings = _settings(
            url, folder, MAIL_BACKEND="sendgrid", SENDGRID_API_KEY="SG.test-key",
            SENDGRID_API_URL=api_url, TIMEZONE=ZONE,
        )  # fmt: skip
        started = time.perf_counter()
        with database.session() as session:
            run = run_digest(session, window, settings, started_by="bench")
            assert run is not None and run.campaign_id is not None
            campaign_id, readers = run.campaign_id, run.recipients
            variants = session.scalar(
                sa.text("SELECT count(*) FROM campaign_variant WHERE campaign_id = :c"),
                {"c": campaign_id},
            )
        frozen = time.perf_counter() - started
        peak_kib, _cpu = _run_workers(url, api_url, folder, WORKER_PROCESSES)
        total = time.perf_counter() - started
        _check_sent(database, campaign_id)
        with database.session() as session:
            again = run_digest(session, window, settings, started_by="bench")
        assert again is None, "a second run of the window must send nothing"
    database.dispose()
    label = f"digest: daily run for {subscribers:,} subscribers ({readers:,} daily readers)"
    return [
        (f"{label}, window claimed, {variants} variants rendered, audience frozen",
         f"{frozen:.1f} s", "< 30 s for 1,000,000 subscribers"),
        (f"{label}, end to end via sendgrid",
         f"{total:.1f} s wall ({readers / total:,.0f} msg/s, {WORKER_PROCESSES} worker "
         "processes)", "< 60 s for 1,000,000 subscribers"),
        ("digest: peak worker RSS (sendgrid)", f"{peak_kib / 1024:.0f} MB", "< 150 MB"),
    ]  # fmt: skip


def run(
    subscribers: int = SUBSCRIBERS, postgres_url: str = DEFAULT_POSTGRES
) -> list[tuple[str, str, str]]:
    """Run the digest benchmark on a scratch PostgreSQL database."""
    with tempfile.TemporaryDirectory(prefix="pinwheel-bench-") as name:
        try:
            url, drop = _postgres_database(postgres_url)
        except sa.exc.OperationalError as error:
            return [("digest: daily run on PostgreSQL", f"skipped: {error.orig}", "-")]
        try:
            return bench_digest(url, subscribers, Path(name))
        finally:
            drop()


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--subscribers", type=int, default=SUBSCRIBERS, help="e.g. 1000000")
    parser.add_argument("--postgres", default=DEFAULT_POSTGRES, help="admin URL for a scratch DB")
    options = parser.parse_args()
    for label, figure, target in run(options.subscribers, options.postgres):
        print(f"{label}: {figure} (target {target})")
