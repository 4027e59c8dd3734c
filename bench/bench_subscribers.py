"""Time the subscriber side: a 100,000-row CSV import on SQLite and the staff list and search
with 1,000,000 subscribers on PostgreSQL.

``python -m bench.bench_subscribers [--scale 0.1] [--postgres URL]``; ``--scale`` shrinks both
data sets (the figures then say so). Without a reachable PostgreSQL the list figures are skipped.
"""

from __future__ import annotations

import argparse
import io
import statistics
import tempfile
import time
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

import sqlalchemy as sa
from sqlalchemy.orm import Session

from engine.config import load_settings
from engine.db import Base, Database
from engine.migrate import load_models
from subscribers.importing import SubscriberImport
from subscribers.models import SubscriberStatus
from subscribers.search import SubscriberFilter, search_subscribers
from subscribers.topics import create_topic

IMPORT_ROWS = 100_000
LIST_ROWS = 1_000_000
IMPORT_TARGET_SECONDS = 10.0
LIST_TARGET_MS = 100.0
ROUNDS = 5
DEFAULT_POSTGRES = "postgresql+psycopg://postgres@127.0.0.1:5432/postgres"


def csv_bytes(rows: int) -> bytes:
    """Return an import file with ``rows`` distinct subscribers and two attribute columns."""
    lines = ["email,first name,last name,language,state,role"]
    states = ("OH", "TX", "CA", "NY", "FL")
    lines.extend(
        f"reader{n}@example{n % 40}.org,Pat,Reader{n},en,{states[n % 5]},caseworker"
        for n in range(rows)
    )
    return ("\n".join(lines) + "\n").encode()


def _database(url: str, folder: Path) -> Database:
    settings = load_settings(
        environ={}, ENV="testing", DATABASE_URL=url, SECRET_KEY="bench", INSTANCE_PATH=str(folder)
    )
    database = Database(settings)
    load_models()
    Base.metadata.create_all(database.engine)
    return database


def bench_import(rows: int) -> tuple[str, str, str]:
    """Import ``rows`` rows into a fresh SQLite file, committing per chunk as the CLI does."""
    data = csv_bytes(rows)
    with tempfile.TemporaryDirectory() as folder:
        database = _database(f"sqlite:///{folder}/bench.db", Path(folder))
        with database.session() as session:
            topic = create_topic(session, "foster-care", "Foster care")
            session.commit()
            started, cpu_started = time.perf_counter(), time.process_time()
            importer = SubscriberImport(session, [topic])
            for _ in importer.run(io.BytesIO(data)):
                session.commit()
            elapsed = time.perf_counter() - started
            # CPU time shows the import's own cost when other work shares the machine.
            cpu = time.process_time() - cpu_started
        database.dispose()
    if importer.summary.created != rows:
        raise AssertionError(f"imported {importer.summary.created} of {rows} rows")
    target = IMPORT_TARGET_SECONDS * rows / IMPORT_ROWS
    return (
        f"import {rows:,} CSV rows on SQLite ({rows / elapsed:,.0f} rows/s)",
        f"{elapsed:.2f} s ({cpu:.2f} s CPU)",
        f"< {target:.1f} s",
    )


@contextmanager
def postgres_database(url: str) -> Iterator[str]:
    """Create a private database on the server at ``url`` and drop it afterwards."""
    name = f"pinwheel_bench_{uuid.uuid4().hex[:10]}"
    admin = sa.create_engine(url, isolation_level="AUTOCOMMIT")
    with admin.connect() as connection:
        connection.exec_driver_sql(f'CREATE DATABASE "{name}"')
    try:
        yield sa.make_url(url).set(database=name).render_as_string(hide_password=False)
    finally:
        with admin.connect() as connection:
            connection.exec_driver_sql(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        admin.dispose()


_FILL = """
INSERT INTO subscriber (email, name, language, timezone, attributes, status, consent_source,
                        consent_at, created_at, updated_at)
SELECT 'reader' || n || '@example' || (n % 40) || '.org',
       (ARRAY['Ann','Bob','Cy','Dee','Eli','Fay','Gus','Hal'])[1 + n % 8] || ' Reader' || n,
       'en', '',
       jsonb_build_object('state', (ARRAY['OH','TX','CA','NY','FL'])[1 + n % 5],
                          'role', (ARRAY['caseworker','judge','parent','nurse'])[1 + n % 4],
                          'county', 'c' || (n % 3000)),
       CASE WHEN n % 20 = 0 THEN 'unsubscribed' WHEN n % 50 = 1 THEN 'paused' ELSE 'active' END,
       'bench', now(), now(), now()
FROM generate_series(1, :rows) AS n
"""
_SUBSCRIBE = """
INSERT INTO subscription (subscriber_id, topic_id, status, source, created_at)
SELECT s.id, t.id, 'confirmed', 'bench', now()
FROM subscriber s JOIN topic t ON (s.id % 3) <= t.position - 1
"""


def fill_postgres(database: Database, rows: int) -> None:
    """Insert ``rows`` subscribers and about two subscriptions each, in a few statements."""
    with database.session() as session:
        for position, slug in enumerate(("trafficking", "prevention", "foster-care"), start=1):
            topic = create_topic(session, slug, slug.title())
            topic.position = position
        session.flush()
        session.execute(sa.text(_FILL), {"rows": rows})
        session.execute(sa.text(_SUBSCRIBE))
    with database.engine.connect().execution_options(isolation_level="AUTOCOMMIT") as connection:
        connection.exec_driver_sql("VACUUM ANALYZE")


def _timed(session: Session, action: Callable[[], object]) -> float:
    action()
    rounds = []
    for _ in range(ROUNDS):
        started = time.perf_counter()
        action()
        rounds.append((time.perf_counter() - started) * 1000)
        session.rollback()
    return statistics.median(rounds)


def list_cases(rows: int, topic_id: int) -> dict[str, Callable[[Session], object]]:
    """Return the staff list queries to time, by label."""

    def page(filters: SubscriberFilter, **where: int) -> Callable[[Session], object]:
        return lambda session: search_subscribers(session, filters, **where)

    middle = rows // 2
    return {
        "first page": page(SubscriberFilter()),
        "page in the middle (keyset)": page(SubscriberFilter(), after=middle),
        "address prefix": page(SubscriberFilter(query=f"reader{middle // 10}")),
        "name prefix": page(SubscriberFilter(query="dee")),
        "attribute state=OH": page(SubscriberFilter(query="state=OH")),
        "rare attribute county=c17": page(SubscriberFilter(query="county=c17")),
        "topic filter": page(SubscriberFilter(topic_id=topic_id)),
        "status unsubscribed": page(SubscriberFilter(status=SubscriberStatus.UNSUBSCRIBED)),
        "paused in a topic": page(
            SubscriberFilter(topic_id=topic_id, status=SubscriberStatus.PAUSED)
        ),
        "rare attribute in a topic": page(SubscriberFilter(query="county=c17", topic_id=topic_id)),
        "topic + status + attribute, page 2": page(
            SubscriberFilter(query="role=judge", topic_id=topic_id, status=SubscriberStatus.ACTIVE),
            after=middle,
        ),
    }


def bench_list(url: str, rows: int) -> list[tuple[str, str, str]]:
    """Time each staff list query on ``rows`` PostgreSQL subscribers (median of a few rounds)."""
    with postgres_database(url) as database_url, tempfile.TemporaryDirectory() as folder:
        database = _database(database_url, Path(folder))
        fill_postgres(database, rows)
        results = []
        with database.sessionmaker() as session:
            topic_id = session.scalar(sa.text("SELECT id FROM topic WHERE slug = 'prevention'"))
            for label, case in list_cases(rows, topic_id).items():
                ms = _timed(session, lambda case=case: case(session))
                results.append(
                    (f"staff list, {rows:,} subscribers (PostgreSQL): {label}",
                     f"{ms:.1f} ms", f"< {LIST_TARGET_MS:.0f} ms")
                )  # fmt: skip
        database.dispose()
    return results


def run(scale: float = 1.0, postgres_url: str = DEFAULT_POSTGRES) -> list[tuple[str, str, str]]:
    """Run both benchmarks; ``scale`` shrinks the data sets (e.g. 0.1 for a quick look)."""
    results = [bench_import(max(1, int(IMPORT_ROWS * scale)))]
    try:
        sa.create_engine(postgres_url).connect().close()
    except sa.exc.OperationalError:
        return [*results, ("staff list on PostgreSQL", "skipped", "server not reachable")]
    return results + bench_list(postgres_url, max(1000, int(LIST_ROWS * scale)))


def main() -> None:
    parser = argparse.ArgumentParser(prog="python -m bench.bench_subscribers", description=__doc__)
    parser.add_argument("--scale", type=float, default=1.0, help="fraction of the data sets")
    parser.add_argument(
        "--postgres", default=DEFAULT_POSTGRES, help="server to create a database on"
    )
    args = parser.parse_args()
    for name, figure, target in run(args.scale, args.postgres):
        print(f"{name}: {figure} (target {target})")


if __name__ == "__main__":
    main()
