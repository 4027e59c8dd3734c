"""The dashboard as a work queue, and the review count in the navigation."""

from __future__ import annotations

from datetime import UTC, date, datetime
from pathlib import Path

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy.orm import Session

from campaigns import dashboard
from campaigns.dashboard import observances_without_issue
from campaigns.issues.models import Issue, IssueStatus
from campaigns.issues.service import create_issue, save_revision
from campaigns.issues.workflow import approve, issues_awaiting_review
from campaigns.sending.models import Campaign, CampaignStatus
from engine.users import StaffUser
from tests.campaigns.issues.conftest import FreshContextClient
from tests.campaigns.issues.issue_data import basic
from tests.factories import login, make_sent_issue, make_topic, make_user
from tests.html_validator import html_errors

TODAY = datetime(2026, 12, 15, 15, 0, tzinfo=UTC)


@pytest.fixture(autouse=True)
def frozen_today(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(dashboard, "now", lambda: TODAY)


def _signed_in(app: Flask, user: StaffUser) -> FlaskClient:
    app.test_client_class = FreshContextClient
    client = app.test_client()
    login(client, user)
    return client


def _in_review(session: Session, title: str, author: StaffUser) -> Issue:
    issue = create_issue(session, basic(title=title), author_id=author.id)
    issue.status = IssueStatus.IN_REVIEW
    return issue


def _edit(session: Session, issue: Issue, user: StaffUser) -> None:
    content = basic(title=issue.title, preheader=f"Edited by {user.email}.")
    save_revision(session, issue, content, base_revision=issue.revision, saved_by_id=user.id)


def test_an_approver_sees_the_issues_they_may_approve(
    app: Flask, session: Session, tmp_path: Path
) -> None:
    editor, approver = make_user(session, "editor"), make_user(session, "approver")
    waiting = _in_review(session, "Foster care digest", editor)
    _in_review(session, "My own issue", approver)
    touched = _in_review(session, "Edited by me", editor)
    _edit(session, touched, approver)
    touched.status = IssueStatus.IN_REVIEW
    session.commit()

    page = _signed_in(app, approver).get("/admin/").get_data(as_text=True)

    assert "Waiting for my review" in page
    assert f'href="/admin/issues/{waiting.id}/review">Foster care digest</a>' in page
    assert "My own issue" not in page and "Edited by me" not in page
    assert "My drafts" not in page  # an approver does not write
    assert (
        '<span class="nav-badge">1<span class="visually-hidden"> issues waiting for your review'
        in page
    )
    assert "Nothing has been sent yet." in page and "No campaign is scheduled." in page
    assert html_errors({"dashboard": page}, tmp_path) == []


def test_an_editor_sees_drafts_schedule_sends_and_observances(
    app: Flask, session: Session, settings, tmp_path: Path
) -> None:
    editor, other = make_user(session, "editor"), make_user(session, "editor")
    mine = create_issue(session, basic(title="Written by me"), author_id=editor.id)
    saved = create_issue(session, basic(title="Saved last by me"), author_id=other.id)
    _edit(session, saved, editor)
    create_issue(session, basic(title="Somebody else's"), author_id=other.id)
    _in_review(session, "Not a draft", editor)
    topic = make_topic(session)
    sent = make_sent_issue(session, settings, "November digest", TODAY, [topic])
    session.add(
        Campaign(
            issue_id=sent.id,
            issue_revision=1,
            name="January spotlight",
            status=CampaignStatus.SCHEDULED,
            subject="January",
            from_address=settings.SENDER_ADDRESS,
            html="",
            text="",
            send_at=datetime(2027, 1, 11, 15, 0, tzinfo=UTC),
        )
    )
    session.commit()

    page = _signed_in(app, editor).get("/admin/").get_data(as_text=True)

    assert "Waiting for my review" not in page and "nav-badge" not in page
    assert f'href="/admin/issues/{mine.id}/edit">Written by me</a>' in page
    assert f'href="/admin/issues/{saved.id}/edit">Saved last by me</a>' in page
    assert "Somebody else" not in page and "Not a draft" not in page
    assert "January spotlight</a>" in page and "Jan 11, 2027, 10:00 EST" in page
    assert "November digest</a>" in page and "/report" in page
    assert "Human Trafficking Awareness Day" in page and "Start a draft" in page
    assert html_errors({"dashboard": page}, tmp_path) == []


def test_a_new_editor_is_told_what_to_do_in_each_empty_section(
    app: Flask, session: Session
) -> None:
    editor = make_user(session, "editor")
    session.commit()
    page = _signed_in(app, editor).get("/admin/").get_data(as_text=True)
    assert "You have no drafts." in page and 'href="/admin/issues/new"' in page
    assert "No campaign is scheduled." in page and "Nothing has been sent yet." in page


def test_observances_with_an_issue_this_year_are_left_out(session: Session) -> None:
    issue = create_issue(
        session, basic(), observance_slug="human-trafficking-awareness-day", author_id=None
    )
    issue.created_at = datetime(2026, 11, 30, tzinfo=UTC)
    old = create_issue(session, basic(title="Last year"), observance_slug="mentoring-month")
    old.created_at = datetime(2025, 12, 1, tzinfo=UTC)
    session.flush()
    slugs = [o.observance.slug for o in observances_without_issue(session, date(2026, 12, 15))]
    assert "human-trafficking-awareness-day" not in slugs
    assert "mentoring-month" in slugs and "human-trafficking-prevention-month" in slugs
    assert all(
        o.window.start <= date(2027, 2, 13)
        for o in observances_without_issue(session, date(2026, 12, 15))
    )


def test_an_approver_who_edited_before_an_approval_may_approve_the_next_revision(
    session: Session,
) -> None:
    editor, first, second = (
        make_user(session, role) for role in ("editor", "approver", "approver")
    )
    topic = make_topic(session)
    issue = _in_review(session, "Twice reviewed", editor)
    _edit(session, issue, first)
    issue.status = IssueStatus.IN_REVIEW
    assert issues_awaiting_review(session, first) == []
    assert issues_awaiting_review(session, second) == [issue.id]
    approve(session, issue, second, [topic.id])
    _edit(session, issue, editor)
    issue.status = IssueStatus.IN_REVIEW
    session.flush()
    assert issues_awaiting_review(session, first) == [issue.id]
    assert issues_awaiting_review(session, editor) == []  # not an approver


def test_the_review_count_shows_on_every_staff_page(app: Flask, session: Session) -> None:
    editor, admin = make_user(session, "editor"), make_user(session, "admin")
    for title in ("One", "Two"):
        _in_review(session, title, editor)
    session.commit()
    page = _signed_in(app, admin).get("/admin/issues/").get_data(as_text=True)
    assert '<span class="nav-badge">2<span class="visually-hidden">' in page
