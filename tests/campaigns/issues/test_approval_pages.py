"""Review and approval through the staff pages."""

from __future__ import annotations

from flask.testing import FlaskClient
from sqlalchemy.orm import Session

from campaigns.issues.models import Issue, IssueStatus
from campaigns.issues.service import create_issue
from tests.campaigns.issues.issue_data import basic
from tests.factories import login, make_topic, make_user


def test_submit_then_approve_by_someone_else(app, session: Session, csrf_disabled) -> None:
    editor, approver = make_user(session, "editor"), make_user(session, "approver")
    topic = make_topic(session)
    issue = create_issue(session, basic(), author_id=editor.id)
    session.commit()
    as_editor, as_approver = app.test_client(), app.test_client()
    login(as_editor, editor)
    login(as_approver, approver)
    assert as_editor.post(f"/admin/issues/{issue.id}/submit").status_code == 302
    refused = as_editor.post(f"/admin/issues/{issue.id}/approve", data={"topic_ids": [topic.id]})
    assert refused.status_code == 403
    review = as_approver.get(f"/admin/issues/{issue.id}/review").get_data(as_text=True)
    assert "Approve this revision" in review
    ok = as_approver.post(f"/admin/issues/{issue.id}/approve", data={"topic_ids": [topic.id]})
    assert ok.status_code == 302
    session.expire_all()
    assert session.get(Issue, issue.id).status == IssueStatus.APPROVED


def test_an_author_who_is_an_approver_is_refused_on_the_page(app, session: Session, csrf_disabled) -> None:
    approver = make_user(session, "approver")
    issue = create_issue(session, basic(), author_id=approver.id)
    issue.status = IssueStatus.IN_REVIEW
    topic = make_topic(session)
    session.commit()
    client = app.test_client()
    login(client, approver)
    response = client.post(
        f"/admin/issues/{issue.id}/approve",
        data={"topic_ids": [topic.id]},
        headers={"Accept": "application/json"},
    )
    assert response.status_code == 403
    assert "someone else" in response.get_json()["error"]["message"]
