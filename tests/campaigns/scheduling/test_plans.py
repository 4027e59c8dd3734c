"""The campaign composition page: live count, send time, and approval enforced on creation."""

from __future__ import annotations

import pytest
from flask.testing import FlaskClient
from sqlalchemy.orm import Session

from campaigns.issues.service import create_issue
from campaigns.issues.workflow import approve, submit_for_review
from campaigns.sending.models import Campaign, CampaignStatus
from engine.audit import AuditEntry
from engine.config import Settings
from tests.campaigns.issues.issue_data import basic
from tests.factories import login, make_subscriber, make_topic, make_user

JSON = {"Accept": "application/json"}


@pytest.fixture
def settings(settings: Settings, database_url: str) -> Settings:
    """Return the test settings with an approval needed above one recipient.

    ``database_url`` is named so that pytest still runs these tests on both databases.
    """
    return settings.with_overrides(APPROVAL_THRESHOLD=1)


@pytest.fixture
def world(session: Session, client: FlaskClient, csrf_disabled) -> dict:
    editor, approver = make_user(session, "editor"), make_user(session, "approver")
    topic = make_topic(session)
    for state in ("OH", "OH", "TX"):
        make_subscriber(session, topics=[topic], attributes={"state": state})
    issue = create_issue(session, basic(), author_id=editor.id, topics=[topic])
    session.commit()
    login(client, editor)
    return {"editor": editor, "approver": approver, "topic": topic, "issue": issue}


def test_live_count_and_approval_state(client: FlaskClient, world: dict) -> None:
    url = f"/admin/issues/{world['issue'].id}/campaigns/audience.json"
    everyone = client.get(url, query_string={"topic_ids": world["topic"].id}).get_json()
    assert everyone | {"rule": "", "message": ""} == {
        "count": 3,
        "issue_recipients": 3,
        "threshold": 1,
        "needs_approval": True,
        "approved": False,
        "allowed": False,
        "rule": "",
        "message": "",
    }
    assert everyone["message"] == "Not approved yet: ask an approver on the review page."
    assert everyone["rule"].startswith("When an issue's sends reach more than 1 recipient in all")
    texans = client.get(
        url,
        query_string={
            "topic_ids": world["topic"].id,
            "segment_key": "state",
            "segment_value": "TX",
        },
    )
    assert texans.get_json()["count"] == 1 and texans.get_json()["allowed"] is True


def test_send_time_in_local_and_utc(client: FlaskClient, world: dict) -> None:
    url = f"/admin/issues/{world['issue'].id}/campaigns/send-time.json"
    answer = client.get(
        url,
        query_string={"mode": "absolute", "local": "2099-07-01T09:00", "tz": "America/Los_Angeles"},
    ).get_json()
    assert answer["utc"] == "2099-07-01 16:00 UTC"
    assert "09:00 America/Los_Angeles" in answer["local"]
    bad = client.get(
        url,
        query_string={"mode": "observance", "observance": "nope", "rule": "start 09:00"},
        headers=JSON,
    )
    assert bad.status_code in (404, 422)


def test_large_campaign_needs_an_approval(
    client: FlaskClient, world: dict, session: Session, settings: Settings
) -> None:
    url = f"/admin/issues/{world['issue'].id}/campaigns/new"
    form = {
        "topic_ids": world["topic"].id,
        "mode": "absolute",
        "local": "2099-07-01T09:00",
        "tz": "America/New_York",
    }
    refused = client.post(url, data=form, headers=JSON)
    assert refused.status_code == 403
    assert "needs an approver" in refused.get_json()["error"]["message"]
    assert session.query(Campaign).count() == 0
    issue = session.merge(world["issue"])
    submit_for_review(session, issue, world["editor"], settings=settings)
    approve(session, issue, world["approver"], [world["topic"].id])
    session.commit()
    created = client.post(url, data=form)
    assert created.status_code == 302
    campaign = session.query(Campaign).one()
    assert campaign.status == CampaignStatus.SCHEDULED
    actions = {entry.action for entry in session.query(AuditEntry)}
    assert {"campaign.create", "campaign.schedule"} <= actions
    session.rollback()
