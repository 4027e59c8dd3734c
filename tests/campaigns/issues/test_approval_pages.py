"""Review and approval through the staff pages."""

from __future__ import annotations

from typing import Any

from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy.orm import Session

from campaigns.issues.models import Issue, IssueStatus
from campaigns.issues.service import create_issue
from tests.campaigns.issues.conftest import FreshContextClient
from tests.campaigns.issues.issue_data import basic
from tests.factories import login, make_topic, make_user


def _as(app: Flask, client: FlaskClient, method: str, url: str, **kwargs: Any) -> Any:
    return getattr(client, method)(url, **kwargs)


def _signed_in(app: Flask, user) -> FlaskClient:
    app.test_client_class = FreshContextClient
    client = app.test_client()
    login(client, user)
    return client


def test_submit_then_approve_by_someone_else(app: Flask, session: Session, csrf_disabled) -> None:
    editor, approver = make_user(session, "editor"), make_user(session, "approver")
    topic = make_topic(session)
    issue = create_issue(session, basic(), author_id=editor.id)
    session.commit()
    as_editor, as_approver = _signed_in(app, editor), _signed_in(app, approver)
    submitted = _as(app, as_editor, "post", f"/admin/issues/{issue.id}/submit")
    assert submitted.status_code == 302
    refused = _as(
        app, as_editor, "post", f"/admin/issues/{issue.id}/approve", data={"topic_ids": [topic.id]}
    )
    assert refused.status_code == 403
    review = _as(app, as_approver, "get", f"/admin/issues/{issue.id}/review")
    assert "Approve this revision" in review.get_data(as_text=True)
    ok = _as(
        app,
        as_approver,
        "post",
        f"/admin/issues/{issue.id}/approve",
        data={"topic_ids": [topic.id]},
    )
    assert ok.status_code == 302
    session.expire_all()
    assert session.get(Issue, issue.id).status == IssueStatus.APPROVED


def test_an_author_who_is_an_approver_is_refused(
    app: Flask, session: Session, csrf_disabled
) -> None:
    approver = make_user(session, "approver")
    issue = create_issue(session, basic(), author_id=approver.id)
    issue.status = IssueStatus.IN_REVIEW
    topic = make_topic(session)
    session.commit()
    client = _signed_in(app, approver)
    response = _as(
        app,
        client,
        "post",
        f"/admin/issues/{issue.id}/approve",
        data={"topic_ids": [topic.id]},
        headers={"Accept": "application/json"},
    )
    assert response.status_code == 403
    assert "someone else" in response.get_json()["error"]["message"]
