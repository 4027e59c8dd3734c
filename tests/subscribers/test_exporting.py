"""Exports: formula-safe headers and cells, read in short transactions writers can go between."""

from __future__ import annotations

import csv
import io
import threading
import time
from datetime import UTC, datetime

import pytest
import sqlalchemy as sa
from flask import Flask
from flask.testing import FlaskClient, FlaskCliRunner
from sqlalchemy.orm import Session

from engine.config import Settings
from engine.db import Database
from subscribers import exporting
from subscribers.confirmations import send_confirmations_job
from subscribers.exporting import export_rows
from subscribers.models import Subscriber, SubscriberStatus
from tests.factories import login, make_subscriber, make_topic, make_user
from tests.fakes.sendgrid_signing import SendGridSigner, sendgrid_batch

BIG_LIST = 100_000
#: A post, a webhook or a scheduler round that waits longer than this waited for a lock.
MOST_SECONDS = 1.0


def test_header_cells_are_formula_safe_too(session: Session, database: Database) -> None:
    reader = make_subscriber(session, "f@example.org", name="@SUM(A1)")
    reader.attributes = {"=cmd|' /C calc'!A0": "+1", "-2+3": "x", "plain": "=1+1"}
    session.commit()
    header, row = export_rows(database.read_sessionmaker)
    assert header[6:] == ["'-2+3", "'=cmd|' /C calc'!A0", "plain"]
    assert row[1] == "'@SUM(A1)" and row[6:] == ["x", "'+1", "'=1+1"]


def test_pages_list_everyone_once_each_read_in_its_own_transaction(
    session: Session, database: Database, monkeypatch: pytest.MonkeyPatch
) -> None:
    topic = make_topic(session)
    readers = [make_subscriber(session, topics=[topic] if n % 2 else []) for n in range(7)]
    session.commit()
    monkeypatch.setattr(exporting, "PAGE_ROWS", 3)
    opened = []

    def sessions() -> Session:
        opened.append(database.read_sessionmaker())
        return opened[-1]

    emails = [row[0] for row in list(export_rows(sessions))[1:]]
    assert emails == [reader.email for reader in readers]
    # Attribute names, then rows: three pages each, every session closed.
    assert len(opened) == 6
    assert all(not opened_session.in_transaction() for opened_session in opened)
    by_topic = list(export_rows(database.read_sessionmaker, topic.id))
    assert [row[0] for row in by_topic[1:]] == [r.email for r in readers[1::2]]
    assert {row[6] for row in by_topic[1:]} == {"confirmed"}


def test_the_cli_exports_by_topic(runner: FlaskCliRunner, session: Session, tmp_path) -> None:
    topic = make_topic(session, "foster-care")
    make_subscriber(session, "in@example.org", topics=[topic])
    make_subscriber(session, "out@example.org")
    session.commit()
    out = tmp_path / "export.csv"
    result = runner.invoke(args=["subscribers", "export", "--topic", "foster-care", "--out", out])
    assert result.exit_code == 0, result.output
    assert [row["email"] for row in csv.DictReader(out.open())] == ["in@example.org"]


# --- a 100,000-row export on SQLite while the site writes -----------------------------------


@pytest.fixture(scope="module")
def signer() -> SendGridSigner:
    return SendGridSigner()


@pytest.fixture
def settings(settings: Settings, signer: SendGridSigner, database_url: str) -> Settings:
    """Test settings with the SendGrid Event Webhook configured."""
    # Naming ``database_url`` keeps the SQLite/PostgreSQL parametrisation of the base fixture.
    return settings.with_overrides(SENDGRID_WEBHOOK_PUBLIC_KEY=signer.public_key_b64)


def _insert_big_list(session: Session) -> None:
    moment = datetime(2026, 1, 5, tzinfo=UTC)
    session.execute(
        sa.insert(Subscriber),
        [
            {
                "email": f"reader{n}@example.org",
                "name": f"Reader {n}",
                "attributes": {"state": "OH", "county": f"C{n % 88}"} if n % 3 else {},
                "status": SubscriberStatus.ACTIVE,
                "consent_source": "import",
                "created_at": moment,
                "updated_at": moment,
            }
            for n in range(BIG_LIST)
        ],
    )


class Download(threading.Thread):
    """Download the export like a client on a network: a chunk, a pause, the next chunk."""

    def __init__(self, client: FlaskClient) -> None:
        super().__init__(daemon=True)
        self.client = client
        self.started = threading.Event()
        self.status = 0
        self.body = io.BytesIO()

    def run(self) -> None:
        response = self.client.get("/admin/subscribers/export.csv", buffered=False)
        self.status = response.status_code
        try:
            for chunk in response.response:
                self.body.write(chunk if isinstance(chunk, bytes) else chunk.encode())
                self.started.set()
                time.sleep(0.01)
        finally:
            response.close()
            self.started.set()


def _timed(action) -> tuple[float, int]:
    started = time.perf_counter()
    status = action()
    return time.perf_counter() - started, status


@pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)
def test_the_site_keeps_writing_during_a_big_export(
    app: Flask, client: FlaskClient, session: Session, signer: SendGridSigner
) -> None:
    topic = make_topic(session, "digest")
    editor = make_user(session, role="editor")
    _insert_big_list(session)
    session.commit()
    login(client, editor)
    download = Download(client)
    download.start()
    assert download.started.wait(30)
    visitor = app.test_client()
    events = sendgrid_batch(3)

    def subscribe(n: int) -> int:
        data = {"email": f"new{n}@example.org", "topics": [str(topic.id)]}
        ip = f"198.51.100.{n + 1}"  # five posts a minute per address
        return visitor.post("/subscribe", data=data, environ_base={"REMOTE_ADDR": ip}).status_code

    def webhook() -> int:
        headers = signer.headers(events, datetime.now(UTC))
        return visitor.post("/webhooks/sendgrid", data=events, headers=headers).status_code

    def scheduler() -> int:
        send_confirmations_job(app)
        return 200

    timings: dict[str, tuple[float, int]] = {}
    for n in range(8):
        timings[f"subscribe {n}"] = _timed(lambda n=n: subscribe(n))
        if n % 4 == 3:
            timings[f"webhook {n}"] = _timed(webhook)
            timings[f"scheduler {n}"] = _timed(scheduler)
    still_exporting = download.is_alive()
    download.join(120)
    print({name: f"{seconds * 1000:.1f} ms" for name, (seconds, _) in timings.items()})
    assert {name: status for name, (_, status) in timings.items() if status >= 300} == {}
    assert max(seconds for seconds, _ in timings.values()) < MOST_SECONDS
    assert still_exporting, "the export ended before the writes: nothing was measured"
    assert download.status == 200
    lines = download.body.getvalue().decode().splitlines()
    assert len(lines) >= BIG_LIST + 1 and lines[0].startswith("email,name,")
    joined = sa.select(sa.func.count()).where(Subscriber.email.like("new%@example.org"))
    assert session.scalar(joined) == 8
