"""Approving and returning take a comment, kept in the audit log and shown on the issue."""

from __future__ import annotations

import pytest
from flask import Flask
from flask.testing import FlaskClient, FlaskCliRunner
from sqlalchemy.orm import Session

from campaigns.issues.models import Issue, IssueStatus
from campaigns.issues.service import create_issue
from campaigns.issues.workflow import approve, return_to_draft, review_comments
from engine.errors import ValidationFailed
from tests.campaigns.issues.conftest import FreshContextClient
from tests.campaigns.issues.issue_data import basic
from tests.factories import login, make_topic, make_user


def _signed_in(app: Flask, user) -> FlaskClient:
    app.test_client_class = FreshContextClient
    client = app.test_client()
    login(client, user)
    return client


def _in_review(session: Session, author_id: int) -> Issue:
    issue = create_issue(session, basic(), author_id=author_id)
    issue.status = IssueStatus.IN_REVIEW
    return issue


def test_comments_are_stored_and_listed_newest_first(session: Session) -> None:
    editor, approver = make_user(session, "editor"), make_user(session, "approver")
    topic = make_topic(session)
    issue = _in_review(session, editor.id)
    return_to_draft(session, issue, approver, "Fix the second paragraph.\r\nThanks!")
    issue.status = IssueStatus.IN_REVIEW
    approve(session, issue, approver, [topic.id], comment="  Good to go.  ")
    comments = review_comments(session, issue)
    assert [(c.approved, c.text) for c in comments] == [
        (True, "Good to go."),
        (False, "Fix the second paragraph.\nThanks!"),
    ]
    assert comments[0].actor == approver.email


@pytest.mark.parametrize("text", ["Tab\there", "Bell\x07", "Null\x00"])
def test_a_comment_with_a_control_character_is_refused(session: Session, text: str) -> None:
    editor, approver = make_user(session, "editor"), make_user(session, "approver")
    issue = _in_review(session, editor.id)
    with pytest.raises(ValidationFailed, match="Remove it; line breaks are fine"):
        return_to_draft(session, issue, approver, text)
    assert issue.status == IssueStatus.IN_REVIEW


def test_the_review_page_and_editor_show_the_comments(
    app: Flask, session: Session, csrf_disabled
) -> None:
    editor, approver = make_user(session, "editor"), make_user(session, "approver")
    topic = make_topic(session)
    issue = _in_review(session, editor.id)
    session.commit()
    topic_id = topic.id
    as_approver = _signed_in(app, approver)
    form = as_approver.get(f"/admin/issues/{issue.id}/review").get_data(as_text=True)
    assert 'name="comment"' in form and "Return with comments" in form
    returned = as_approver.post(
        f"/admin/issues/{issue.id}/return", data={"comment": "Add a <b>source</b>."}
    )
    assert returned.status_code == 302
    for url in (f"/admin/issues/{issue.id}/review", f"/admin/issues/{issue.id}/edit"):
        page = _signed_in(app, editor).get(url).get_data(as_text=True)
        assert "Review comments" in page and "Add a &lt;b&gt;source&lt;/b&gt;." in page
    session.expire_all()
    again = session.get(Issue, issue.id)
    again.status = IssueStatus.IN_REVIEW
    session.commit()
    approved = as_approver.post(
        f"/admin/issues/{issue.id}/approve", data={"topic_ids": [topic_id], "comment": "Lovely."}
    )
    assert approved.status_code == 302
    assert "Lovely." in as_approver.get(f"/admin/issues/{issue.id}/review").get_data(as_text=True)


def test_the_cli_approves_and_returns_with_a_comment(
    session: Session, runner: FlaskCliRunner
) -> None:
    editor, approver = make_user(session, "editor"), make_user(session, "approver")
    topic = make_topic(session)
    issue = _in_review(session, editor.id)
    issue.topics = [topic]
    session.commit()
    approved = runner.invoke(
        args=["issues", "approve", str(issue.id), "--as", approver.email, "--comment", "Nice."]
    )
    assert approved.exit_code == 0, approved.output
    returned = runner.invoke(
        args=["issues", "return", str(issue.id), "--as", approver.email, "--comment", "Wait."]
    )
    assert returned.exit_code == 0, returned.output
    session.expire_all()
    texts = [c.text for c in review_comments(session, session.get(Issue, issue.id))]
    assert texts == ["Wait.", "Nice."]
