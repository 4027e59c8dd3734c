"""Approval workflow: bound to revision and audience, voided by edits, never self-approved."""

from __future__ import annotations

import pytest
from sqlalchemy.orm import Session

from campaigns.issues.models import IssueStatus
from campaigns.issues.service import create_issue, save_revision
from campaigns.issues.workflow import (
    approval_hash,
    approve,
    current_revision,
    is_approved_for,
    submit_for_review,
)
from campaigns.sending.approval import ensure_send_allowed
from campaigns.sending.service import create_campaign
from engine.audit import AuditEntry
from engine.config import Settings
from engine.errors import Conflict, Forbidden, ValidationFailed
from tests.campaigns.issues.issue_data import basic
from tests.factories import make_topic, make_user


@pytest.fixture
def people(session: Session) -> dict:
    return {
        "editor": make_user(session, "editor"),
        "approver": make_user(session, "approver"),
        "other_editor": make_user(session, "editor"),
    }


def _in_review(session: Session, settings: Settings, author) -> object:
    issue = create_issue(session, basic(), author_id=author.id)
    submit_for_review(session, issue, author, settings=settings)
    return issue


def test_approval_binds_revision_and_audience(session: Session, settings: Settings, people) -> None:
    topic = make_topic(session)
    issue = _in_review(session, settings, people["editor"])
    approve(session, issue, people["approver"], [topic.id], {"state": "OH"})
    assert issue.status == IssueStatus.APPROVED
    assert issue.approval_hash == approval_hash(
        current_revision(session, issue), [topic.id], {"state": "OH"}
    )
    assert is_approved_for(session, issue, issue.revision, [topic.id], {"state": "OH"})
    assert not is_approved_for(session, issue, issue.revision, [topic.id], {})
    assert not is_approved_for(
        session, issue, issue.revision, [topic.id, topic.id + 1], {"state": "OH"}
    )


def test_an_edit_after_approval_voids_it(session: Session, settings: Settings, people) -> None:
    topic = make_topic(session)
    issue = _in_review(session, settings, people["editor"])
    approve(session, issue, people["approver"], [topic.id])
    approved_revision = issue.revision
    save_revision(
        session,
        issue,
        basic(title="Changed"),
        base_revision=issue.revision,
        saved_by_id=people["editor"].id,
    )
    assert issue.status == IssueStatus.DRAFT
    assert issue.approval_hash is None
    assert not is_approved_for(session, issue, approved_revision, [topic.id], {})
    assert not is_approved_for(session, issue, issue.revision, [topic.id], {})


def test_authors_cannot_approve_their_own_issue(session: Session, settings: Settings) -> None:
    admin = make_user(session, "admin")
    issue = _in_review(session, settings, admin)
    with pytest.raises(Forbidden, match="someone else"):
        approve(session, issue, admin, [make_topic(session).id])
    assert issue.status == IssueStatus.IN_REVIEW


def test_whoever_edited_since_the_last_approval_cannot_approve(
    session: Session, settings: Settings, people
) -> None:
    topic = make_topic(session)
    second_approver = make_user(session, "approver")
    issue = _in_review(session, settings, people["editor"])
    approve(session, issue, people["approver"], [topic.id])
    # The approver fixes a typo after approving: the edit voids the approval and makes them
    # a contributor.
    save_revision(
        session,
        issue,
        basic(title="Typo fixed"),
        base_revision=issue.revision,
        saved_by_id=people["approver"].id,
    )
    submit_for_review(session, issue, people["editor"], settings=settings)
    with pytest.raises(Forbidden):
        approve(session, issue, people["approver"], [topic.id])
    approve(session, issue, second_approver, [topic.id])
    assert issue.approver_id == second_approver.id


def test_editors_cannot_approve(session: Session, settings: Settings, people) -> None:
    issue = _in_review(session, settings, people["editor"])
    with pytest.raises(Forbidden, match="approver"):
        approve(session, issue, people["other_editor"], [make_topic(session).id])


def test_only_issues_in_review_are_approved(session: Session, people) -> None:
    issue = create_issue(session, basic(), author_id=people["editor"].id)
    with pytest.raises(Conflict):
        approve(session, issue, people["approver"], [make_topic(session).id])


def test_review_needs_passing_checks(session: Session, settings: Settings, people) -> None:
    issue = create_issue(session, basic(subject=""), author_id=people["editor"].id)
    with pytest.raises(ValidationFailed, match="pre-send"):
        submit_for_review(session, issue, people["editor"], settings=settings)


def test_large_sends_need_a_matching_approval(session: Session, settings: Settings, people) -> None:
    topic, other = make_topic(session), make_topic(session)
    issue = _in_review(session, settings, people["editor"])
    campaign = create_campaign(session, issue, [topic], settings=settings)
    ensure_send_allowed(session, campaign, 1000, 1000)
    with pytest.raises(Forbidden, match="approval"):
        ensure_send_allowed(session, campaign, 1001, 1000)
    approve(session, issue, people["approver"], [other.id])
    with pytest.raises(Forbidden):
        ensure_send_allowed(session, campaign, 1001, 1000)


def test_large_send_allowed_with_approval_of_its_revision(
    session: Session, settings: Settings, people
) -> None:
    topic = make_topic(session)
    issue = _in_review(session, settings, people["editor"])
    approve(session, issue, people["approver"], [topic.id])
    campaign = create_campaign(session, issue, [topic], settings=settings)
    ensure_send_allowed(session, campaign, 50_000, 1000)
    save_revision(
        session,
        issue,
        basic(title="Later"),
        base_revision=issue.revision,
        saved_by_id=people["editor"].id,
    )
    with pytest.raises(Forbidden):
        ensure_send_allowed(session, campaign, 50_000, 1000)


def test_workflow_steps_are_audited(session: Session, settings: Settings, people) -> None:
    topic = make_topic(session)
    issue = _in_review(session, settings, people["editor"])
    approve(session, issue, people["approver"], [topic.id])
    actions = [(e.actor, e.action) for e in session.query(AuditEntry).order_by(AuditEntry.id)]
    assert actions == [
        (people["editor"].email, "issue.submit"),
        (people["approver"].email, "issue.approve"),
    ]
