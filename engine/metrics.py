"""Prometheus metrics: HTTP traffic, the send pipeline's named metrics, and ``/metrics``.

Other packages import the metric objects and update them where the event happens::

    from engine import metrics

    metrics.MESSAGES_SENT.labels(backend="sendgrid", result="accepted").inc(len(accepted))
    metrics.SEND_FAILURES.labels(backend="sendgrid", kind="transient").inc()
    with metrics.BATCH_LATENCY.labels(backend="sendgrid").time():
        backend.send_batch(messages)
    metrics.WEBHOOK_EVENTS.labels(kind="bounce").inc()

``pinwheel_deliveries_queued`` and the batch gauges (``pinwheel_batches``,
``pinwheel_batch_leases_expired``, ``pinwheel_oldest_queued_batch_seconds``) are not updated by
anyone: they are read from the database at scrape time, so they are right whichever host queued
or sent.

Several processes: ``pinwheel serve`` runs gunicorn with several worker processes, each with its
own memory, so it exports ``PROMETHEUS_MULTIPROC_DIR`` (``PINWHEEL_METRICS_DIR``, default
``instance/metrics``) before any worker starts. prometheus-client then keeps every value in a
per-process file there and ``/metrics`` sums the files of all processes, so a scrape that lands on
any worker sees the whole server. Other processes on the host (``pinwheel worker``, ``pinwheel
scheduler``) join the sum when started with the same ``PROMETHEUS_MULTIPROC_DIR``. Without it (the
development server, tests) the process's own registry is exposed.

Access: with ``PINWHEEL_METRICS_TOKEN`` set, scrapers send ``Authorization: Bearer <token>``.
Without it, only loopback clients that did not come through a proxy (no ``X-Forwarded-For``) may
scrape; everyone else gets 403.
"""

from __future__ import annotations

import hmac
import ipaddress
import logging
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

import sqlalchemy as sa
from flask import Flask, Response, abort, g, request
from prometheus_client import (
    CONTENT_TYPE_LATEST,
    REGISTRY,
    CollectorRegistry,
    Counter,
    Histogram,
    generate_latest,
    multiprocess,
    values,
)
from prometheus_client.core import GaugeMetricFamily, Metric
from prometheus_client.registry import Collector

from engine.clock import now
from engine.config import Settings
from engine.db import UTCDateTime, get_database

log = logging.getLogger(__name__)

_LATENCY_BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0)

HTTP_REQUESTS = Counter(
    "pinwheel_http_requests_total",
    "HTTP requests answered, by endpoint, method and status.",
    ["endpoint", "method", "status"],
)
HTTP_LATENCY = Histogram(
    "pinwheel_http_request_duration_seconds",
    "Time to answer an HTTP request, by endpoint and status.",
    ["endpoint", "status"],
    buckets=_LATENCY_BUCKETS,
)
MESSAGES_SENT = Counter(
    "pinwheel_messages_sent_total",
    "Messages handed to a delivery backend, by backend and result.",
    ["backend", "result"],
)
BATCH_LATENCY = Histogram(
    "pinwheel_batch_duration_seconds",
    "Time to hand one batch to the delivery backend.",
    ["backend"],
    buckets=(0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0, 60.0, 120.0),
)
SEND_FAILURES = Counter(
    "pinwheel_send_failures_total",
    "Failed message submissions, by backend and kind (transient, permanent, uncertain).",
    ["backend", "kind"],
)
WEBHOOK_EVENTS = Counter(
    "pinwheel_webhook_events_total",
    "Provider events received on webhooks, by kind.",
    ["kind"],
)

#: Counted at scrape time; the tables belong to the send pipeline, so they are named, not imported.
_QUEUED_SQL = sa.text("SELECT count(*) FROM delivery WHERE status = 'queued'")
_batch = sa.table(
    "batch",
    sa.column("campaign_id"),
    sa.column("status"),
    sa.column("lease_expires_at", UTCDateTime()),
    sa.column("enqueued_at", UTCDateTime()),
    sa.column("created_at", UTCDateTime()),
)
_campaign = sa.table("campaign", sa.column("id"), sa.column("status"))
_BATCH_STATES = ("held", "queued", "claimed", "submitting", "done")


@dataclass(frozen=True, slots=True)
class SendState:
    """What the database says about sends in progress, read at scrape time."""

    queued_deliveries: int
    #: Batches of sending campaigns, by status.
    batches: dict[str, int]
    #: Claimed or submitting batches whose lease ran out: recovery takes them on its next pass.
    expired_leases: int
    #: Seconds the oldest queued batch of a sending campaign has waited for a worker.
    oldest_queued_seconds: float


def read_send_state(connection: sa.Connection) -> SendState:
    """Read the send pipeline's state in two queries."""
    at = now()
    queued = int(connection.execute(_QUEUED_SQL).scalar_one())
    lapsed = sa.case((_batch.c.lease_expires_at < at, 1), else_=0)
    waiting_since = sa.case(
        (
            _batch.c.status == "queued",
            sa.func.coalesce(_batch.c.enqueued_at, _batch.c.created_at),
        )
    )
    rows = connection.execute(
        sa.select(
            _batch.c.status,
            sa.func.count(),
            sa.func.sum(lapsed),
            sa.func.min(waiting_since, type_=UTCDateTime()),
        )
        .join(_campaign, _campaign.c.id == _batch.c.campaign_id)
        .where(_campaign.c.status == "sending")
        .group_by(_batch.c.status)
    )
    batches = dict.fromkeys(_BATCH_STATES, 0)
    expired, oldest = 0, None
    for status, count, expired_here, queued_since in rows:
        batches[status] = int(count)
        if status in ("claimed", "submitting"):
            expired += int(expired_here or 0)
        if queued_since is not None:
            oldest = queued_since
    age = (at - oldest).total_seconds() if oldest is not None else 0.0
    return SendState(queued, batches, expired, max(age, 0.0))


class SendStateCollector(Collector):
    """Report queue depth and the signs of a stuck send, read from the database at scrape time."""

    def __init__(self, read_state: Callable[[], SendState | None]) -> None:
        self._read_state = read_state

    def collect(self) -> Iterator[Metric]:
        state = self._read_state()
        if state is None:
            return
        queued = GaugeMetricFamily(
            "pinwheel_deliveries_queued", "Deliveries waiting to be sent (read at scrape time)."
        )
        queued.add_metric([], state.queued_deliveries)
        yield queued
        batches = GaugeMetricFamily(
            "pinwheel_batches", "Batches of campaigns now sending, by status.", labels=["status"]
        )
        for status, count in state.batches.items():
            batches.add_metric([status], count)
        yield batches
        yield GaugeMetricFamily(
            "pinwheel_batch_leases_expired",
            "Claimed or submitting batches whose lease ran out (recovery has not run since).",
            value=state.expired_leases,
        )
        yield GaugeMetricFamily(
            "pinwheel_oldest_queued_batch_seconds",
            "Seconds the oldest queued batch of a sending campaign has waited for a worker.",
            value=state.oldest_queued_seconds,
        )


class _Forward(Collector):
    """Expose another registry's metrics inside a per-scrape registry."""

    def __init__(self, source: CollectorRegistry) -> None:
        self._source = source

    def collect(self) -> Iterator[Metric]:
        return iter(self._source.collect())


def metrics_dir(settings: Settings) -> Path:
    """Return the folder that holds the per-process metric files under ``pinwheel serve``."""
    return (
        Path(settings.METRICS_DIR) if settings.METRICS_DIR else settings.instance_path / "metrics"
    )


def is_multiprocess() -> bool:
    """Return whether prometheus-client keeps values in shared per-process files."""
    return bool(getattr(values.ValueClass, "_multiprocess", False))


def exposition(read_state: Callable[[], SendState | None]) -> bytes:
    """Render every metric in the Prometheus text format."""
    registry = CollectorRegistry(auto_describe=False)
    if is_multiprocess():
        multiprocess.MultiProcessCollector(registry)
    else:
        registry.register(_Forward(REGISTRY))
    registry.register(SendStateCollector(read_state))
    return generate_latest(registry)


def _send_state_reader(app: Flask) -> Callable[[], SendState | None]:
    def read_state() -> SendState | None:
        try:
            with get_database(app).engine.connect() as connection:
                return read_send_state(connection)
        except sa.exc.SQLAlchemyError as error:
            log.warning("could not read the send state: %s", error.__class__.__name__)
            return None

    return read_state


def _scrape_allowed(token: str) -> bool:
    if token:
        supplied = request.headers.get("Authorization", "")
        return hmac.compare_digest(supplied.encode(), f"Bearer {token}".encode())
    if "X-Forwarded-For" in request.headers or not request.remote_addr:
        return False
    try:
        return ipaddress.ip_address(request.remote_addr).is_loopback
    except ValueError:
        return False


def _start_timer() -> None:
    g.metrics_started = time.perf_counter()


def _record_request(response: Response) -> Response:
    started = g.get("metrics_started")
    if started is not None:
        endpoint = request.url_rule.endpoint if request.url_rule is not None else "unmatched"
        record_request(endpoint, request.method, response.status_code, started)
    return response


def record_request(endpoint: str, method: str, status: int, started: float) -> None:
    """Count one request and its latency (``started`` is its ``time.perf_counter()``)."""
    HTTP_REQUESTS.labels(endpoint=endpoint, method=method, status=str(status)).inc()
    HTTP_LATENCY.labels(endpoint=endpoint, status=str(status)).observe(
        time.perf_counter() - started
    )


def init_app(app: Flask, settings: Settings) -> None:
    """Count and time every request and serve ``/metrics``."""
    app.before_request(_start_timer)
    app.after_request(_record_request)
    read_state = _send_state_reader(app)

    def metrics_page() -> Response:
        if not _scrape_allowed(settings.METRICS_TOKEN):
            abort(403, description="Metrics are only served to authorised scrapers.")
        return Response(exposition(read_state), content_type=CONTENT_TYPE_LATEST)

    app.add_url_rule("/metrics", "metrics", metrics_page, methods=["GET"])
