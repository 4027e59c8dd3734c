"""Time the SendGrid Event Webhook end to end: verify, store, ingest 5,000 events, act, guard."""

from __future__ import annotations

import os
import tempfile
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import orjson
import sqlalchemy as sa
from flask import Flask
from flask.testing import FlaskClient

from engine.clock import now
from engine.db import Base, get_database
from engine.migrate import load_models
from tests.fakes.sendgrid_signing import SendGridSigner, sendgrid_batch, sendgrid_event

EVENTS = 5000
TARGET_SECONDS = 2.0
ROUNDS = 3
#: ``sendgrid_batch`` names campaign 42 and deliveries 1000 onwards.
CAMPAIGN_ID = 42
FIRST_DELIVERY = 1000


@contextmanager
def _private_postgres(server_url: str) -> Iterator[str]:
    """Create a throwaway database on ``server_url``'s server and drop it afterwards."""
    url = sa.make_url(server_url)
    name = f"pinwheel_bench_{uuid.uuid4().hex[:12]}"
    admin = sa.create_engine(url, isolation_level="AUTOCOMMIT")
    with admin.connect() as connection:
        connection.exec_driver_sql(f'CREATE DATABASE "{name}"')
    try:
        yield url.set(database=name).render_as_string(hide_password=False)
    finally:
        with admin.connect() as connection:
            connection.exec_driver_sql(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        admin.dispose()


def _seed(app: Flask) -> None:
    """Create campaign 42 (sending) and its deliveries, so every event resolves."""
    from campaigns.issues.models import Issue
    from campaigns.sending.models import Campaign, Delivery

    database = get_database(app)
    Base.metadata.drop_all(database.engine)
    Base.metadata.create_all(database.engine)
    with database.session() as session:
        session.add(Issue(id=1, slug="bench", title="Bench", layout="spotlight", content={}))
        session.flush()
        session.add(
            Campaign(
                id=CAMPAIGN_ID,
                issue_id=1,
                issue_revision=1,
                name="Bench",
                status="sending",
                started_at=now(),
            )
        )
        session.flush()
        rows = [
            {
                "id": FIRST_DELIVERY + i,
                "campaign_id": CAMPAIGN_ID,
                "address": f"reader{i}@example.org",
                "status": "accepted",
                "attempts": 1,
                "last_error": "",
                "updated_at": now(),
            }
            for i in range(EVENTS)
        ]
        session.execute(sa.insert(Delivery), rows)


def typical_batch(count: int) -> bytes:
    """Serialise ``count`` events in a typical mix: 1% hard bounces, 1% unsubscribes."""
    mix = ["processed"] * 30 + ["delivered"] * 30 + ["open"] * 25 + ["click"] * 8
    mix += ["deferred"] * 5 + ["bounce", "unsubscribe"]
    return orjson.dumps([sendgrid_event(mix[i % len(mix)], i) for i in range(count)])


MIXES = (
    ("SendGrid fake mix, 1 in 7 a new hard bounce", sendgrid_batch),
    ("typical mix, 1% hard bounces", typical_batch),
)


def _post(client: FlaskClient, signer: SendGridSigner, body: bytes) -> tuple[float, float]:
    """Return the seconds until the answer and until processing finished."""
    headers = signer.headers(body, now())
    started = time.perf_counter()
    response = client.post(
        "/webhooks/sendgrid", data=body, headers=headers, content_type="application/json"
    )
    answered = time.perf_counter() - started
    # Closing runs the processing, as a WSGI server does once the answer is sent.
    response.close()
    if response.status_code != 200:
        raise AssertionError(f"webhook answered {response.status_code}")
    return answered, time.perf_counter() - started


def _time_database(label: str, url: str) -> list[tuple[str, str, str]]:
    from engine.app import create_app

    signer = SendGridSigner()
    rows = []
    with tempfile.TemporaryDirectory() as instance:
        app = create_app(
            ENV="testing",
            DATABASE_URL=url,
            SECRET_KEY="bench",
            INSTANCE_PATH=instance,
            MAIL_BACKEND="memory",
            SENDGRID_WEBHOOK_PUBLIC_KEY=signer.public_key_b64,
        )
        load_models()
        client = app.test_client()
        for mix, build in MIXES:
            body = build(EVENTS)
            answer = total = 0.0
            for _ in range(ROUNDS):
                _seed(app)
                answered, finished = _post(client, signer, body)
                answer, total = max(answer, answered), max(total, finished)
                _check(app)
            size = f"{len(body) / 2**20:.2f} MiB"
            name = f"sendgrid webhook {EVENTS:,} events ({size}, {mix}), {label}"
            rows.append((f"{name}: answer", f"{answer * 1000:.0f} ms", "< 0.5 s"))
            rows.append(
                (f"{name}: end to end", f"{total * 1000:.0f} ms", f"< {TARGET_SECONDS:.0f} s")
            )
        get_database(app).dispose()
    return rows


def _check(app: Flask) -> None:
    from campaigns.events.models import DeliveryEvent, WebhookBatch

    with get_database(app).session() as session:
        stored = session.scalar(sa.select(sa.func.count()).select_from(DeliveryEvent))
        pending = session.scalar(sa.select(sa.func.count()).select_from(WebhookBatch))
    if stored != EVENTS or pending:
        raise AssertionError(f"{stored} events stored, {pending} batches pending")


def run() -> list[tuple[str, str, str]]:
    """Post signed 5,000-event batches through the app; report the slowest round of each.

    PostgreSQL is measured too when ``PINWHEEL_BENCH_POSTGRES_URL`` names a server.
    """
    rows = []
    with tempfile.TemporaryDirectory() as folder:
        rows += _time_database("SQLite", f"sqlite:///{Path(folder) / 'bench.db'}")
    if server := os.environ.get("PINWHEEL_BENCH_POSTGRES_URL", ""):
        with _private_postgres(server) as url:
            rows += _time_database("PostgreSQL", url)
    return rows


if __name__ == "__main__":
    for name, figure, target in run():
        print(f"{name}: {figure} (target {target})")
