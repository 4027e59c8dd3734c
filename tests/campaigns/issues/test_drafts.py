"""Drafts save through the API and the CLI as in the editor; problems block review and sending."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from flask.testing import FlaskClient, FlaskCliRunner
from sqlalchemy.orm import Session

from campaigns.issues.models import Issue
from campaigns.issues.service import create_issue
from campaigns.sending.service import create_campaign
from engine.config import Settings
from engine.errors import ValidationFailed
from engine.users import create_api_token
from tests.campaigns.issues.issue_data import basic
from tests.factories import make_topic, make_user

UNFINISHED = {"id": "facts", "type": "bullets", "items": [{"text": "", "refs": []}]}
PROBLEM = {"block_id": "facts", "field": "items[0].text", "message": "Item 1 has no text yet."}


def unfinished(**changes: Any) -> dict[str, Any]:
    content = basic(**changes)
    content["blocks"].append(dict(UNFINISHED))
    return content


@pytest.fixture
def api(client: FlaskClient, session: Session) -> dict[str, str]:
    user = make_user(session, "editor", email="writer@agency.example.org")
    _, secret = create_api_token(session, user=user, name="drafts")
    session.commit()
    return {"Authorization": f"Bearer {secret}"}


def test_the_api_saves_a_draft_with_an_unfinished_block(
    client: FlaskClient, api: dict[str, str], session: Session
) -> None:
    created = client.post("/api/v1/issues", json={"content": basic()}, headers=api)
    issue_id = created.get_json()["id"]
    assert created.get_json()["problems"] == []
    saved = client.put(
        f"/api/v1/issues/{issue_id}",
        json={"base_revision": 1, "content": unfinished()},
        headers=api,
    )
    assert saved.status_code == 200, saved.get_json()
    assert saved.get_json()["problems"] == [PROBLEM]
    assert saved.get_json()["content"]["blocks"][-1] == {**UNFINISHED, "ordered": False}
    assert client.get(f"/api/v1/issues/{issue_id}", headers=api).get_json()["problems"] == [PROBLEM]
    checks = client.get(f"/api/v1/issues/{issue_id}/checks", headers=api).get_json()
    assert checks["ok"] is False
    assert {"code": "invalid", "severity": "error", "message": "Item 1 has no text yet.",
            "block_id": "facts"} in checks["checks"]  # fmt: skip
    refused = client.post(f"/api/v1/issues/{issue_id}/submit", headers=api)
    assert refused.status_code == 422
    assert "Item 1 has no text yet." in refused.get_json()["error"]["details"]
    session.expire_all()
    assert session.get(Issue, issue_id).status == "draft"


def test_the_api_refuses_what_is_not_issue_content(
    client: FlaskClient, api: dict[str, str]
) -> None:
    created = client.post("/api/v1/issues", json={"content": basic()}, headers=api)
    issue_id = created.get_json()["id"]
    content = basic(blocks=[{"id": "x", "type": "poll"}])
    refused = client.put(
        f"/api/v1/issues/{issue_id}", json={"base_revision": 1, "content": content}, headers=api
    )
    assert refused.status_code == 422
    assert refused.get_json()["error"]["details"][0]["path"] == "blocks[0].type"
    assert client.get(f"/api/v1/issues/{issue_id}", headers=api).get_json()["revision"] == 1


def test_api_saves_naming_one_session_gather_into_one_revision(
    client: FlaskClient, api: dict[str, str]
) -> None:
    issue_id = client.post("/api/v1/issues", json={"content": basic()}, headers=api).get_json()[
        "id"
    ]
    revision = 1
    for title in ("One", "Two", "Three"):
        saved = client.put(
            f"/api/v1/issues/{issue_id}",
            json={"base_revision": revision, "content": basic(title=title), "editing_session": "s"},
            headers=api,
        )
        revision = saved.get_json()["revision"]
    listed = client.get(f"/api/v1/issues/{issue_id}/revisions", headers=api).get_json()["items"]
    assert [item["number"] for item in listed] == [4, 1]
    diff = client.get(f"/api/v1/issues/{issue_id}/diff", headers=api).get_json()
    assert (diff["old"], diff["new"]) == (1, 4)


def test_a_campaign_is_refused_while_the_draft_has_problems(
    session: Session, settings: Settings
) -> None:
    issue = create_issue(session, unfinished())
    with pytest.raises(ValidationFailed) as refused:
        create_campaign(session, issue, [make_topic(session)], settings=settings)
    assert "Item 1 has no text yet." in refused.value.message


def test_the_cli_creates_a_draft_and_lists_what_to_finish(
    runner: FlaskCliRunner, session: Session, tmp_path: Path
) -> None:
    make_user(session, "editor", email="ed@agency.example.org")
    session.commit()
    source = tmp_path / "issue.json"
    source.write_text(json.dumps(unfinished()), encoding="utf-8")
    created = runner.invoke(args=["issues", "create", str(source)])
    assert created.exit_code == 0, created.output
    assert "Fix 1 problem(s) before asking for review:" in created.output
    assert "- Item 1 has no text yet. [facts]" in created.output
    issue_id = session.query(Issue).one().id
    session.rollback()
    refused = runner.invoke(
        args=["issues", "submit", str(issue_id), "--as", "ed@agency.example.org"]
    )
    assert refused.exit_code == 2
    assert "Fix the pre-send check errors" in refused.output
    source.write_text(json.dumps({"title": "T", "blocks": "none"}), encoding="utf-8")
    junk = runner.invoke(args=["issues", "create", str(source)])
    assert junk.output == "Error: This is not issue content: blocks must be a list.\n"
    assert junk.exit_code == 2
