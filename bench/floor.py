"""Measure the floor of a SendGrid send: the work no design of Pinwheel can leave out.

Three costs, each measured alone on the machine that runs the send, in the same bench run:

- the fake SendGrid's own CPU to take the requests (1,000 of 1,000 personalizations for a
  million recipients). A real provider runs elsewhere; the fake shares the workers' cores, so
  its CPU belongs in the floor rather than hidden in Pinwheel's figure;
- PostgreSQL's time to insert one row per recipient into a table shaped like ``delivery``,
  with its indexes and foreign keys and without them (one statement, one core);
- the CPU to personalize every message in SendGrid's template form and serialize the
  requests, in one process.

The floor is the sum of the three spread over the machine's cores: no send of that many
recipients on this machine can take less wall time. The insert counts as CPU, which it
mostly is (the data fits in memory).
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import threading
import time
import urllib.request
from collections.abc import Iterator
from concurrent.futures import ProcessPoolExecutor
from contextlib import contextmanager
from dataclasses import dataclass
from multiprocessing import get_context

import sqlalchemy as sa

from campaigns.issues.compiled import render_stored_issue
from campaigns.issues.models import Issue
from campaigns.sending.personalize import CampaignMessages, FrozenCampaign, Recipient
from campaigns.sending.templated import template_batch
from engine.config import Settings
from engine.delivery.sendgrid_request import request_body
from engine.executor import relax_garbage_collection
from tests.campaigns.seed_issues import SPOTLIGHT_000

#: SendGrid's cap of personalizations per request, and so the size of a batch.
PER_REQUEST = 1000
_TICKS = os.sysconf("SC_CLK_TCK")


def process_cpu(pid: int) -> float:
    """Return the user and system CPU seconds process ``pid`` has used so far."""
    fields = open(f"/proc/{pid}/stat").read().rsplit(")", 1)[1].split()  # noqa: SIM115
    return (int(fields[11]) + int(fields[12])) / _TICKS


@dataclass(frozen=True, slots=True)
class FakeSendGrid:
    """The fake's address and process, so its CPU can be read while it runs."""

    url: str
    pid: int

    def cpu(self) -> float:
        return process_cpu(self.pid)


@contextmanager
def fake_sendgrid() -> Iterator[FakeSendGrid]:
    """Run the fake SendGrid in its own process, validating every request but only counting."""
    command = [sys.executable, "-m", "tests.fakes.sendgrid_server", "--port", "0", "--count-only"]
    child = subprocess.Popen(command, stdout=subprocess.PIPE, text=True)
    try:
        assert child.stdout is not None
        yield FakeSendGrid(json.loads(child.stdout.readline())["url"], child.pid)
    finally:
        child.terminate()
        child.wait(timeout=10)


def _builder(settings: Settings) -> CampaignMessages:
    issue = Issue(slug="floor", title="Floor", layout="spotlight", content=SPOTLIGHT_000)
    rendered = render_stored_issue(settings, issue)
    frozen = FrozenCampaign(
        id=1,
        issue_slug="floor",
        subject="Spotlight On…",
        from_address=settings.SENDER_ADDRESS,
        html=rendered.html,
        text=rendered.text,
        publication="spotlight",
        topic_slug="floor",
        topic_name="Floor",
    )
    return CampaignMessages(settings, frozen)


def _requests(builder: CampaignMessages, first: int, count: int) -> bytes:
    numbers = range(first, first + count)
    recipients = [Recipient(n, n, f"reader{n}@example.org", f"Reader {n}") for n in numbers]
    batch, _failed = template_batch(builder, recipients)
    return request_body(batch, batch.recipients)


def one_request(settings: Settings) -> bytes:
    """Return a request body of ``PER_REQUEST`` personalizations, as a worker would POST it."""
    return _requests(_builder(settings), 1, PER_REQUEST)


def _personalize(settings: Settings, recipients: int) -> float:
    # In a fresh process tuned as a worker is: the bench process's heap is not a worker's.
    relax_garbage_collection()
    builder = _builder(settings)
    started = time.process_time()
    for first in range(1, recipients + 1, PER_REQUEST):
        _requests(builder, first, min(PER_REQUEST, recipients + 1 - first))
    return time.process_time() - started


def personalize_cpu(settings: Settings, recipients: int) -> float:
    """Return the CPU seconds one process takes to build every request of ``recipients``."""
    with ProcessPoolExecutor(1, mp_context=get_context("spawn")) as pool:
        return pool.submit(_personalize, settings, recipients).result()


def fake_cpu(body: bytes, requests: int, clients: int = 2) -> float:
    """Return the fake SendGrid's CPU seconds for ``requests`` POSTs of ``body``.

    Sent from ``clients`` threads, one connection per request as the SendGrid client does.
    """
    with fake_sendgrid() as fake:
        url = fake.url.rstrip("/") + "/v3/mail/send"
        headers = {"Authorization": "Bearer SG.test-key", "Content-Type": "application/json"}
        shares = [requests // clients + (n < requests % clients) for n in range(clients)]

        errors: list[BaseException] = []

        def post(count: int) -> None:
            try:
                for _ in range(count):
                    request = urllib.request.Request(url, body, headers, method="POST")  # noqa: S310
                    with urllib.request.urlopen(request, timeout=60) as answer:  # noqa: S310
                        answer.read()
            except BaseException as error:  # raised again below, in the calling thread
                errors.append(error)

        before = fake.cpu()
        threads = [threading.Thread(target=post, args=(share,)) for share in shares]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        if errors:
            raise errors[0]
        return fake.cpu() - before


def insert_seconds(url: str, campaign_id: int, recipients: int, *, indexed: bool) -> float:
    """Return the time to insert ``recipients`` delivery-shaped rows in one statement.

    ``indexed``: with ``delivery``'s primary key, unique keys, indexes and three foreign keys
    (campaign, subscriber, batch); otherwise a bare table of the same columns. The rows come
    from the audience already in ``subscriber``, as the freeze's do, with no other logic.
    """
    engine = sa.create_engine(url)
    try:
        with engine.begin() as connection:
            connection.exec_driver_sql(_table_sql(indexed))
            first = connection.execute(
                sa.text(
                    "INSERT INTO batch (campaign_id, number, status, size, attempts, created_at) "
                    "SELECT :c, -n, 'held', 0, 0, now() FROM generate_series(1, :k) AS n "
                    "RETURNING id"
                ),
                {"c": campaign_id, "k": -(-recipients // PER_REQUEST)},
            ).all()[0][0]
        started = time.perf_counter()
        with engine.begin() as connection:
            connection.execute(
                sa.text(
                    "INSERT INTO floor_delivery (campaign_id, subscriber_id, address, status, "
                    "attempts, last_error, updated_at, batch_id) "
                    "SELECT :c, id, email, 'queued', 0, '', now(), "
                    ":first + (id - lo) / :per FROM subscriber, "
                    "(SELECT min(id) AS lo FROM subscriber) AS low WHERE id < lo + :n"
                ),
                {"c": campaign_id, "first": first, "per": PER_REQUEST, "n": recipients},
            )
        seconds = time.perf_counter() - started
        with engine.begin() as connection:
            connection.exec_driver_sql("DROP TABLE floor_delivery")
            connection.execute(
                sa.text("DELETE FROM batch WHERE campaign_id = :c AND number < 0"),
                {"c": campaign_id},
            )
        with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as connection:
            # The send that follows should not pay for this insert's dirty pages.
            connection.exec_driver_sql("CHECKPOINT")
        return seconds
    finally:
        engine.dispose()


def _table_sql(indexed: bool) -> str:
    if not indexed:
        return "CREATE TABLE floor_delivery (LIKE delivery INCLUDING DEFAULTS)"
    return (
        "CREATE TABLE floor_delivery (LIKE delivery INCLUDING DEFAULTS INCLUDING INDEXES);"
        "ALTER TABLE floor_delivery "
        "ADD FOREIGN KEY (campaign_id) REFERENCES campaign (id) ON DELETE CASCADE, "
        "ADD FOREIGN KEY (subscriber_id) REFERENCES subscriber (id) ON DELETE SET NULL, "
        "ADD FOREIGN KEY (batch_id) REFERENCES batch (id) ON DELETE SET NULL"
    )


@dataclass(frozen=True, slots=True)
class Floor:
    """The three unavoidable costs of a send, in seconds."""

    recipients: int
    fake_cpu: float
    insert_indexed: float
    insert_bare: float
    personalize_cpu: float
    cores: int

    @property
    def seconds(self) -> float:
        """Return the least wall time: every unavoidable second spread over every core."""
        return (self.fake_cpu + self.insert_indexed + self.personalize_cpu) / self.cores

    @property
    def serial_seconds(self) -> float:
        """Return the least wall time when the insert must end before the first send.

        A start freezes its audience in one transaction, so no worker sees a delivery before
        the whole insert commits; only the other two costs share the cores.
        """
        return self.insert_indexed + (self.fake_cpu + self.personalize_cpu) / self.cores

    def describe(self) -> str:
        return (
            f"{self.seconds:.1f} s = (fake SendGrid {self.fake_cpu:.1f} s CPU + insert "
            f"{self.insert_indexed:.1f} s with indexes and foreign keys ({self.insert_bare:.1f} s "
            f"bare) + personalize {self.personalize_cpu:.1f} s CPU) / {self.cores} cores; "
            f"{self.serial_seconds:.1f} s with the insert before the sends"
        )


def measure_floor(settings: Settings, url: str, campaign_id: int, recipients: int) -> Floor:
    """Measure the floor of sending ``recipients`` (the audience already in ``url``)."""
    requests = -(-recipients // PER_REQUEST)
    return Floor(
        recipients=recipients,
        fake_cpu=fake_cpu(one_request(settings), requests),
        insert_indexed=insert_seconds(url, campaign_id, recipients, indexed=True),
        insert_bare=insert_seconds(url, campaign_id, recipients, indexed=False),
        personalize_cpu=personalize_cpu(settings, recipients),
        cores=os.cpu_count() or 1,
    )
