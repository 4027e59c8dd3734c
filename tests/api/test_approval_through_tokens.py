"""A token acts as its person: it cannot approve that person's own work, whatever its role."""

from __future__ import annotations

from collections.abc import Callable

from flask import Flask
from sqlalchemy.orm import Session

from engine.audit import AuditEntry
from tests.api.conftest import ApiClient, Seed, content


def _every_send_needs_approval(app: Flask) -> None:
    settings = app.extensions["pinwheel.settings"]
    app.extensions["pinwheel.settings"] = settings.with_overrides(APPROVAL_THRESHOLD=0)


def test_an_admin_token_cannot_approve_its_own_issue_and_send_it(
    app: Flask, api_as: Callable[[str], ApiClient], seed: Seed, session: Session
) -> None:
    _every_send_needs_approval(app)
    admin = api_as("admin")
    issue = admin.post(
        "/issues", json={"content": content(title="Solo"), "topic_ids": [seed.topic_id]}
    ).get_json()
    path = f"/issues/{issue['id']}"
    assert admin.post(f"{path}/submit").status_code == 200
    own = admin.post(f"{path}/approve", json={"topic_ids": [seed.topic_id]})
    assert own.status_code == 403
    assert "someone else has to approve it" in own.get_json()["error"]["message"]
    campaign = admin.post(
        "/campaigns", json={"issue_id": issue["id"], "topic_ids": [seed.topic_id]}
    ).get_json()
    refused = admin.post(f"/campaigns/{campaign['id']}/send")
    assert refused.status_code == 403
    assert "Every send to subscribers needs" in refused.get_json()["error"]["message"]

    # A second person's token may approve, and the audit log names both people.
    approver = api_as("approver")
    assert approver.post(f"{path}/approve", json={"topic_ids": [seed.topic_id]}).status_code == 200
    assert admin.post(f"/campaigns/{campaign['id']}/send").status_code == 202
    actors = dict(
        session.query(AuditEntry.action, AuditEntry.actor).filter(
            AuditEntry.action.in_(["issue.create", "issue.submit", "issue.approve"])
        )
    )
    token_ids = {
        entry.details.get("api_token")
        for entry in session.query(AuditEntry).filter(AuditEntry.action == "issue.approve")
    }
    assert token_ids != {None}  # which token acted, so staff know which one to revoke
    assert actors == {
        "issue.create": "admin-robot@agency.example.org",
        "issue.submit": "admin-robot@agency.example.org",
        "issue.approve": "approver-robot@agency.example.org",
    }


def test_an_edit_through_a_token_makes_its_user_a_contributor(
    api_as: Callable[[str], ApiClient], seed: Seed
) -> None:
    path = f"/issues/{seed.issue_id}"
    admin = api_as("admin")
    edited = admin.put(path, json={"base_revision": 1, "content": content(title="Edited")})
    assert edited.status_code == 200
    assert admin.post(f"{path}/submit").status_code == 200
    refused = admin.post(f"{path}/approve", json={"topic_ids": [seed.topic_id]})
    assert refused.status_code == 403


def test_an_editor_cannot_approve_their_revision_after_it_is_returned(
    api_as: Callable[[str], ApiClient], seed: Seed
) -> None:
    path = f"/issues/{seed.issue_id}"
    admin, approver = api_as("admin"), api_as("approver")
    assert (
        admin.put(path, json={"base_revision": 1, "content": content(title="r2")}).status_code
        == 200
    )
    assert admin.post(f"{path}/submit").status_code == 200
    audience = {"topic_ids": [seed.topic_id]}
    assert approver.post(f"{path}/approve", json=audience).status_code == 200
    assert admin.post(f"{path}/return", json={"reason": "Wider audience"}).status_code == 200
    assert admin.post(f"{path}/submit").status_code == 200
    again = admin.post(f"{path}/approve", json=audience)
    assert again.status_code == 403
    assert "someone else has to approve it" in again.get_json()["error"]["message"]
