"""API fixtures: a token per role, a client that sends one, and a small seeded data set."""

from __future__ import annotations

import copy
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy.orm import Session
from werkzeug.test import TestResponse

from campaigns.issues.service import create_issue
from campaigns.sending.models import Campaign, CampaignStatus
from campaigns.sending.service import create_campaign
from engine.users import Role, create_api_token
from engine.web import get_settings
from tests.factories import make_subscriber, make_topic, make_user

CONTENT: dict[str, Any] = {
    "title": "Prevention Month",
    "subject": "Prevention Month resources for caseworkers",
    "preheader": "Resources for child welfare professionals during Prevention Month.",
    "layout": "spotlight",
    "blocks": [
        {"id": "intro", "type": "paragraph", "text": "April is Prevention Month."},
        {"id": "more", "type": "paragraph", "text": "Strong families start with support."},
    ],
}


def content(**changes: Any) -> dict[str, Any]:
    """Return valid issue content with top-level ``changes``."""
    return {**copy.deepcopy(CONTENT), **changes}


@dataclass
class ApiClient:
    """A test client that sends a bearer token and prefixes ``/api/v1``."""

    client: FlaskClient
    secret: str

    def request(self, method: str, path: str, **kwargs: Any) -> TestResponse:
        headers = {"Authorization": f"Bearer {self.secret}", **kwargs.pop("headers", {})}
        return self.client.open(f"/api/v1{path}", method=method, headers=headers, **kwargs)

    def get(self, path: str, **kwargs: Any) -> TestResponse:
        return self.request("GET", path, **kwargs)

    def post(self, path: str, **kwargs: Any) -> TestResponse:
        return self.request("POST", path, **kwargs)

    def put(self, path: str, **kwargs: Any) -> TestResponse:
        return self.request("PUT", path, **kwargs)

    def patch(self, path: str, **kwargs: Any) -> TestResponse:
        return self.request("PATCH", path, **kwargs)

    def delete(self, path: str, **kwargs: Any) -> TestResponse:
        return self.request("DELETE", path, **kwargs)


@pytest.fixture
def secrets(session: Session) -> dict[str, str]:
    """Return one live token secret per role."""
    found = {}
    for role in Role:
        user = make_user(session, role=str(role), email=f"{role}-robot@agency.example.org")
        _, secret = create_api_token(session, user=user, name=f"{role} robot")
        found[str(role)] = secret
    session.commit()
    return found


@pytest.fixture
def api_as(client: FlaskClient, secrets: dict[str, str]) -> Callable[[str], ApiClient]:
    """Return a factory of clients authenticated with the given role's token."""
    return lambda role: ApiClient(client, secrets[role])


@pytest.fixture
def api(api_as: Callable[[str], ApiClient]) -> ApiClient:
    """A client with an admin token."""
    return api_as("admin")


@dataclass
class Seed:
    topic_id: int
    topic_slug: str
    subscriber_id: int
    issue_id: int
    campaign_id: int


@pytest.fixture
def seed(app: Flask, session: Session) -> Seed:
    """Seed a topic with three readers, an issue and a draft campaign to it."""
    topic = make_topic(session, slug="foster-care", name="Foster care")
    readers = [make_subscriber(session, topics=[topic]) for _ in range(3)]
    issue = create_issue(session, content(), topics=[topic])
    campaign = create_campaign(session, issue, [topic], settings=get_settings())
    session.commit()
    return Seed(topic.id, topic.slug, readers[0].id, issue.id, campaign.id)


def wait_for_status(session: Session, campaign_id: int, wanted: CampaignStatus) -> str:
    """Poll the campaign (sent by a background thread) until it reaches ``wanted``."""
    deadline = time.monotonic() + 20
    status = ""
    while time.monotonic() < deadline:
        status = str(session.get(Campaign, campaign_id, populate_existing=True).status)
        # End the read at once: on SQLite every transaction holds the write lock the sender needs.
        session.rollback()
        if status == wanted:
            break
        time.sleep(0.05)
    return status


def join_background_threads() -> None:
    """Wait for imports and campaign deliveries started by requests to finish."""
    for thread in threading.enumerate():
        if thread.name.startswith(("import-", "pinwheel-campaign-")):
            thread.join(timeout=20)
