"""What every endpoint shares: tokens (401), idempotency keys, error shape, rate limits."""

from __future__ import annotations

from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy.orm import Session

from campaigns.sending.models import Campaign, CampaignStatus
from engine.users import ApiToken, revoke_api_token
from subscribers.models import Topic
from tests.api.conftest import ApiClient, Seed, join_background_threads, wait_for_status


def test_requests_without_a_token_get_401(client: FlaskClient) -> None:
    response = client.get("/api/v1/topics")
    assert response.status_code == 401
    assert response.get_json()["error"]["code"] == "unauthorized"
    assert client.get("/api/v1/topics", headers={"Authorization": "Basic abc"}).status_code == 401
    wrong = client.get("/api/v1/topics", headers={"Authorization": "Bearer pw_nope"})
    assert wrong.status_code == 401


def test_a_revoked_token_gets_401(api: ApiClient, session: Session) -> None:
    assert api.get("/topics").status_code == 200
    revoke_api_token(session, 1)
    session.commit()
    response = api.get("/topics")
    assert response.status_code == 401 and "revoked" in response.get_json()["error"]["message"]


def test_a_token_records_its_last_use(api: ApiClient, session: Session) -> None:
    api.get("/topics")
    assert session.get(ApiToken, 1).last_used_at is not None


def test_a_retried_create_creates_once_and_replays(api: ApiClient, session: Session) -> None:
    headers = {"Idempotency-Key": "topic-1"}
    body = {"slug": "kinship", "name": "Kinship care"}
    first = api.post("/topics", json=body, headers=headers)
    again = api.post("/topics", json=body, headers=headers)
    assert first.status_code == again.status_code == 201
    assert again.get_json() == first.get_json() and again.headers["Idempotent-Replayed"] == "true"
    assert session.query(Topic).count() == 1
    session.rollback()
    other = api.post("/topics", json={**body, "name": "Other"}, headers=headers)
    assert other.status_code == 422
    assert api.post("/topics", json=body).status_code == 409


def test_a_retried_send_sends_once(api: ApiClient, seed: Seed, session: Session) -> None:
    headers = {"Idempotency-Key": "send-april"}
    path = f"/campaigns/{seed.campaign_id}/send"
    first = api.post(path, headers=headers)
    again = api.post(path, headers=headers)
    assert first.status_code == again.status_code == 202
    assert again.get_json() == first.get_json()
    assert wait_for_status(session, seed.campaign_id, CampaignStatus.SENT) == "sent"
    join_background_threads()
    assert session.get(Campaign, seed.campaign_id).recipients == 3


def test_a_failed_request_frees_its_key(api: ApiClient) -> None:
    headers = {"Idempotency-Key": "bad-then-good"}
    assert api.post("/topics", json={"slug": "x"}, headers=headers).status_code == 422
    good = api.post("/topics", json={"slug": "x", "name": "X"}, headers=headers)
    assert good.status_code == 201


def test_errors_have_one_shape(api: ApiClient) -> None:
    for response in (
        api.get("/subscribers/77"),
        api.post("/topics", json={"slug": 5}),
        api.post("/topics", data="{not json", content_type="application/json"),
        api.get("/no-such-resource"),
        api.get("/subscribers/99999999999999999999"),
    ):
        error = response.get_json()["error"]
        assert set(error) == {"code", "message", "details"} and response.status_code < 500


def test_nul_characters_are_refused(api: ApiClient) -> None:
    response = api.post("/topics", json={"slug": "a", "name": "x\u0000y"})
    assert response.status_code == 422
    assert api.get("/subscribers", query_string={"q": "a\x00"}).status_code == 422


def test_rate_limit_per_token(app: Flask, api: ApiClient, client: FlaskClient) -> None:
    app.config["PINWHEEL_API_RATE_LIMIT"] = "3 per minute"
    statuses = [api.get("/topics").status_code for _ in range(4)]
    assert statuses == [200, 200, 200, 429]
    limited = api.get("/topics")
    assert limited.get_json()["error"]["code"] == "rate_limited"
    assert "Retry-After" in limited.headers
    other = client.get("/api/v1/topics")
    assert other.status_code == 401


def test_openapi_document_describes_bodies_and_auth(client: FlaskClient) -> None:
    document = client.get("/api/v1/openapi.json").get_json()
    create = document["paths"]["/api/v1/subscribers"]["post"]
    assert "requestBody" in create and "201" in create["responses"]
    assert any(p.get("name") == "Idempotency-Key" for p in create["parameters"])
    assert document["components"]["securitySchemes"]["bearerAuth"]["scheme"] == "bearer"
