from __future__ import annotations

import pytest
from flask import Flask
from flask.testing import FlaskClient
from prometheus_client.parser import text_string_to_metric_families

from engine import metrics
from engine.app import create_app
from engine.config import Settings
from engine.db import get_database

NAMED = (
    "pinwheel_http_requests",
    "pinwheel_http_request_duration_seconds",
    "pinwheel_messages_sent",
    "pinwheel_batch_duration_seconds",
    "pinwheel_send_failures",
    "pinwheel_webhook_events",
    "pinwheel_deliveries_queued",
)


def _samples(client: FlaskClient, **kwargs: object) -> dict[tuple[str, frozenset], float]:
    response = client.get("/metrics", **kwargs)
    assert response.status_code == 200
    assert response.content_type.startswith("text/plain")
    found = {}
    for family in text_string_to_metric_families(response.get_data(as_text=True)):
        for sample in family.samples:
            found[(sample.name, frozenset(sample.labels.items()))] = sample.value
    return found


def _requests(samples: dict, endpoint: str, status: str = "200") -> float:
    labels = frozenset({"endpoint": endpoint, "method": "GET", "status": status}.items())
    return samples.get(("pinwheel_http_requests_total", labels), 0.0)


def test_exposition_has_the_named_metrics(client: FlaskClient) -> None:
    metrics.MESSAGES_SENT.labels(backend="memory", result="accepted").inc(0)
    metrics.SEND_FAILURES.labels(backend="memory", kind="transient").inc(0)
    metrics.BATCH_LATENCY.labels(backend="memory").observe(0.01)
    metrics.WEBHOOK_EVENTS.labels(kind="bounce").inc(0)
    client.get("/healthz")
    text = client.get("/metrics").get_data(as_text=True)
    for name in NAMED:
        assert f"# TYPE {name}" in text, name


def test_requests_are_counted_by_endpoint_and_status(client: FlaskClient) -> None:
    before = _samples(client)
    client.get("/healthz")
    client.get("/healthz")
    client.get("/no-such-page")
    after = _samples(client)
    assert _requests(after, "healthz") - _requests(before, "healthz") == 2
    assert _requests(after, "unmatched", "404") - _requests(before, "unmatched", "404") == 1
    latency = frozenset({"endpoint": "healthz", "status": "200"}.items())
    assert after[("pinwheel_http_request_duration_seconds_count", latency)] >= 2


def test_queue_depth_is_read_from_the_database(client: FlaskClient, session) -> None:
    from campaigns.sending.models import Delivery

    samples = _samples(client)
    assert samples[("pinwheel_deliveries_queued", frozenset())] == 0
    assert Delivery.__tablename__ == "delivery"


def test_named_metric_increments_show_up(client: FlaskClient) -> None:
    counter = metrics.MESSAGES_SENT.labels(backend="sendgrid", result="accepted")
    key = (
        "pinwheel_messages_sent_total",
        frozenset({"backend": "sendgrid", "result": "accepted"}.items()),
    )
    before = _samples(client).get(key, 0.0)
    counter.inc(3)
    assert _samples(client)[key] == before + 3


def test_metrics_refused_through_a_proxy(client: FlaskClient) -> None:
    response = client.get("/metrics", headers={"X-Forwarded-For": "203.0.113.9"})
    assert response.status_code == 403


def test_metrics_refused_to_remote_clients(client: FlaskClient) -> None:
    response = client.get("/metrics", environ_overrides={"REMOTE_ADDR": "203.0.113.9"})
    assert response.status_code == 403


@pytest.fixture
def token_app(settings: Settings) -> Flask:
    app = create_app(settings, METRICS_TOKEN="scrape-secret")
    yield app
    get_database(app).dispose()


def test_metrics_with_a_token(token_app: Flask) -> None:
    client = token_app.test_client()
    assert client.get("/metrics").status_code == 403
    wrong = client.get("/metrics", headers={"Authorization": "Bearer nope"})
    assert wrong.status_code == 403
    right = client.get(
        "/metrics",
        headers={"Authorization": "Bearer scrape-secret", "X-Forwarded-For": "203.0.113.9"},
        environ_overrides={"REMOTE_ADDR": "203.0.113.9"},
    )
    assert right.status_code == 200


def test_not_multiprocess_in_tests(app: Flask) -> None:
    assert metrics.is_multiprocess() is False


def test_a_stuck_send_shows_in_the_batch_gauges(client: FlaskClient, session, settings) -> None:
    from datetime import timedelta

    import sqlalchemy as sa

    from campaigns.sending.models import Batch, BatchStatus, Campaign, CampaignStatus
    from campaigns.sending.service import start_campaign
    from engine.clock import now
    from tests.campaigns.sending.conftest import make_audience, make_issue
    from tests.factories import make_topic

    topic = make_topic(session, slug="gauges")
    make_audience(session, topic, 3)
    issue = make_issue(session)
    campaign = Campaign(issue_id=issue.id, issue_revision=1, name="g", topics=[topic])
    session.add(campaign)
    session.flush()
    start_campaign(
        session,
        campaign.id,
        expected=CampaignStatus.DRAFT,
        batch_size=1,
        settings=settings.with_overrides(APPROVAL_THRESHOLD=10**9),
    )
    first, *_others = session.scalars(
        sa.select(Batch.id).where(Batch.campaign_id == campaign.id).order_by(Batch.id)
    ).all()
    session.execute(
        sa.update(Batch)
        .where(Batch.id == first)
        .values(
            status=BatchStatus.SUBMITTING,
            claimed_by="gone",
            lease_expires_at=now() - timedelta(minutes=2),
        )
    )
    session.execute(
        sa.update(Batch)
        .where(Batch.campaign_id == campaign.id, Batch.id != first)
        .values(enqueued_at=now() - timedelta(minutes=10))
    )
    session.commit()
    samples = _samples(client)
    assert samples[("pinwheel_batches", frozenset({"status": "queued"}.items()))] == 2
    assert samples[("pinwheel_batches", frozenset({"status": "submitting"}.items()))] == 1
    assert samples[("pinwheel_batch_leases_expired", frozenset())] == 1
    assert 590 < samples[("pinwheel_oldest_queued_batch_seconds", frozenset())] < 700
