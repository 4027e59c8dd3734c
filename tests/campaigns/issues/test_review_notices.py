"""Approvers are emailed when an issue is submitted for review; the submitter is not."""

from __future__ import annotations

from flask import Flask
from flask.testing import FlaskClient, FlaskCliRunner
from sqlalchemy.orm import Session

from campaigns.issues.models import IssueStatus
from campaigns.issues.service import create_issue
from engine.delivery.memory import MemoryBackend
from engine.users import deactivate_user
from tests.campaigns.issues.conftest import FreshContextClient
from tests.campaigns.issues.issue_data import basic
from tests.factories import login, make_user


def _signed_in(app: Flask, user) -> FlaskClient:
    app.test_client_class = FreshContextClient
    client = app.test_client()
    login(client, user)
    return client


def test_submitting_emails_the_active_approvers_but_not_the_submitter(
    app: Flask, session: Session, outbox: MemoryBackend, csrf_disabled
) -> None:
    editor = make_user(session, "editor", "editor@agency.example.org")
    admin = make_user(session, "admin", "admin@agency.example.org")
    make_user(session, "approver", "approver@agency.example.org")
    make_user(session, "editor", "other-editor@agency.example.org")
    gone = make_user(session, "approver", "gone@agency.example.org")
    deactivate_user(session, gone.email)
    issue = create_issue(session, basic(title="Foster care digest"), author_id=admin.id)
    session.commit()

    response = _signed_in(app, admin).post(f"/admin/issues/{issue.id}/submit")

    assert response.status_code == 302
    assert sorted(message.to_address for message in outbox.sent) == ["approver@agency.example.org"]
    [message] = outbox.sent
    assert message.subject == "Waiting for your review: Foster care digest"
    url = f"https://news.example.org/admin/issues/{issue.id}/review"
    assert url in message.text and f'href="{url}"' in message.html
    assert "Foster care digest" in message.text and "admin@agency.example.org" in message.text
    assert message.headers["Auto-Submitted"] == "auto-generated"
    assert editor.email not in {m.to_address for m in outbox.sent}


def test_a_refused_submission_mails_nobody(
    app: Flask, session: Session, outbox: MemoryBackend, csrf_disabled
) -> None:
    editor = make_user(session, "editor")
    make_user(session, "approver")
    issue = create_issue(session, basic(), author_id=editor.id)
    issue.status = IssueStatus.IN_REVIEW
    session.commit()
    response = _signed_in(app, editor).post(f"/admin/issues/{issue.id}/submit")
    assert response.status_code == 409
    assert outbox.sent == []


def test_the_api_and_cli_submissions_email_the_approvers(
    app: Flask, session: Session, outbox: MemoryBackend, runner: FlaskCliRunner
) -> None:
    editor = make_user(session, "editor", "writer@agency.example.org")
    make_user(session, "approver", "approver@agency.example.org")
    issue = create_issue(session, basic(), author_id=editor.id)
    session.commit()
    result = runner.invoke(args=["issues", "submit", str(issue.id), "--as", editor.email])
    assert result.exit_code == 0, result.output
    assert "Emailed 1 approver(s)." in result.output
    assert [message.to_address for message in outbox.sent] == ["approver@agency.example.org"]
