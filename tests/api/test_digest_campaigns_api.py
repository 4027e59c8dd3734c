"""A digest run's campaign (no issue) through the API, the CLI and the campaigns page."""

from __future__ import annotations

from flask.testing import FlaskCliRunner
from sqlalchemy.orm import Session

from campaigns.sending.models import Campaign, CampaignStatus
from engine.clock import now
from engine.delivery.memory import MemoryBackend
from tests.api.conftest import ApiClient

NAME = "Daily digest, 7 December 2026"


def _digest_campaign(session: Session) -> int:
    campaign = Campaign(
        issue_id=None, issue_revision=0, name=NAME, status=CampaignStatus.SENT,
        subject="Daily digest", from_address="news@agency.example.org", started_at=now(),
    )  # fmt: skip
    session.add(campaign)
    session.commit()
    return campaign.id


def test_a_digest_run_is_listed_and_refuses_a_test_send(
    api: ApiClient, session: Session, outbox: MemoryBackend, runner: FlaskCliRunner
) -> None:
    campaign_id = _digest_campaign(session)
    refused = api.post(
        f"/campaigns/{campaign_id}/test-send",
        json={"addresses": ["editor-robot@agency.example.org"]},
    )
    assert refused.status_code == 404
    assert "digest run" in refused.get_json()["error"]["message"]
    cli = runner.invoke(
        args=["campaigns", "test-send", str(campaign_id), "--to", "editor-robot@agency.example.org"]
    )
    assert cli.exit_code == 2 and "digest run" in cli.output
    assert outbox.sent == []
    listed = api.get("/campaigns").get_json()["items"]
    assert [c["issue_id"] for c in listed if c["id"] == campaign_id] == [None]
    table = runner.invoke(args=["campaigns", "list"])
    assert table.exit_code == 0 and NAME in table.output


def test_the_openapi_document_says_a_campaign_may_have_no_issue(api: ApiClient) -> None:
    schema = api.get("/openapi.json").get_json()["components"]["schemas"]["Campaign"]
    issue_id = schema["properties"]["issue_id"]
    assert issue_id.get("nullable") is True or "null" in issue_id.get("type", [])
