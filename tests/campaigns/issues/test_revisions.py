"""Saves gather into revisions: one per editing session and ten minutes, never one approved."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
import sqlalchemy as sa
from sqlalchemy.orm import Session

from campaigns.issues import revisions
from campaigns.issues.history import list_revisions, restore_revision
from campaigns.issues.models import Issue, IssueRevision, IssueStatus
from campaigns.issues.service import create_issue, save_revision
from campaigns.issues.workflow import (
    approve,
    current_revision,
    is_approved_for,
    return_to_draft,
    submit_for_review,
)
from campaigns.sending.approval import ensure_send_allowed
from campaigns.sending.service import create_campaign
from engine.config import Settings
from engine.errors import Conflict, Forbidden, ValidationFailed
from engine.users import StaffUser
from tests.campaigns.issues.issue_data import basic
from tests.factories import make_topic, make_user

START = datetime(2027, 3, 1, 14, 0, tzinfo=UTC)


class Clock:
    """A clock the test moves by hand."""

    def __init__(self) -> None:
        self.at = START

    def __call__(self) -> datetime:
        return self.at


@pytest.fixture
def clock(monkeypatch: pytest.MonkeyPatch) -> Clock:
    frozen = Clock()
    monkeypatch.setattr(revisions, "now", frozen)
    return frozen


@pytest.fixture
def editor(session: Session) -> StaffUser:
    return make_user(session, "editor")


@pytest.fixture
def issue(session: Session, editor: StaffUser) -> Issue:
    return create_issue(session, basic(), author_id=editor.id)


def _save(
    session: Session, issue: Issue, user: StaffUser, title: str, tab: str | None = "tab-1"
) -> None:
    save_revision(
        session,
        issue,
        basic(title=title),
        base_revision=issue.revision,
        saved_by_id=user.id,
        editing_session=tab,
    )


def _numbers(session: Session, issue: Issue) -> list[int]:
    return [summary.number for summary in list_revisions(session, issue)]


def test_three_saves_of_one_session_make_one_revision(
    session: Session, issue: Issue, editor: StaffUser, clock: Clock
) -> None:
    for minute, title in enumerate(("One", "Two", "Three")):
        clock.at = START + timedelta(minutes=minute)
        _save(session, issue, editor, title)
    assert issue.revision == 4
    assert _numbers(session, issue) == [4, 1]
    latest = current_revision(session, issue)
    assert latest.content["title"] == "Three"
    assert (latest.started_at, latest.saved_at) == (START, START + timedelta(minutes=2))
    first = revisions.find_revision(session, issue.id, 1)
    assert first is not None and first.content["title"] == "Prevention Month"


def test_a_revision_gathers_saves_for_ten_minutes_at_most(
    session: Session, issue: Issue, editor: StaffUser, clock: Clock
) -> None:
    for minute in (0, 5, 9, 11, 12):
        clock.at = START + timedelta(minutes=minute)
        _save(session, issue, editor, f"At {minute}")
    assert _numbers(session, issue) == [6, 4, 1]


def test_another_person_or_another_session_starts_a_revision(
    session: Session, issue: Issue, editor: StaffUser, clock: Clock
) -> None:
    colleague = make_user(session, "editor")
    _save(session, issue, editor, "Mine")
    _save(session, issue, colleague, "Theirs")
    _save(session, issue, editor, "Mine again")
    _save(session, issue, editor, "Other tab", tab="tab-2")
    _save(session, issue, editor, "No session named", tab=None)
    _save(session, issue, editor, "Still no session named", tab=None)
    assert _numbers(session, issue) == [7, 5, 4, 3, 2, 1]
    savers = session.scalars(
        sa.select(IssueRevision.saved_by_id)
        .where(IssueRevision.issue_id == issue.id)
        .order_by(IssueRevision.number)
    ).all()
    assert savers == [editor.id, editor.id, colleague.id, editor.id, editor.id, editor.id]


def test_submitting_closes_the_revision_the_approver_sees(
    session: Session, issue: Issue, editor: StaffUser, settings: Settings, clock: Clock
) -> None:
    approver = make_user(session, "approver")
    _save(session, issue, editor, "Ready")
    submit_for_review(session, issue, editor, settings=settings)
    reviewed = current_revision(session, issue)
    assert reviewed.closed_at is not None
    return_to_draft(session, issue, approver, "Shorter title, please.")
    _save(session, issue, editor, "Short")
    assert _numbers(session, issue) == [3, 2, 1]
    assert revisions.find_revision(session, issue.id, 2).content["title"] == "Ready"


def test_an_approved_revision_is_never_changed_by_a_later_save(
    session: Session, issue: Issue, editor: StaffUser, settings: Settings, clock: Clock
) -> None:
    topic = make_topic(session)
    approver = make_user(session, "approver")
    _save(session, issue, editor, "Approved text")
    submit_for_review(session, issue, editor, settings=settings)
    approve(session, issue, approver, [topic.id])
    approved = issue.revision
    _save(session, issue, editor, "Edited after approval")
    assert issue.status == IssueStatus.DRAFT and issue.approval_hash is None
    kept = revisions.find_revision(session, issue.id, approved)
    assert kept is not None and kept.content["title"] == "Approved text"
    assert issue.revision == approved + 1


def test_a_campaign_of_an_open_revision_never_passes_for_its_later_saves(
    session: Session, issue: Issue, editor: StaffUser, settings: Settings, clock: Clock
) -> None:
    topic = make_topic(session)
    approver = make_user(session, "approver")
    _save(session, issue, editor, "First draft")
    early = create_campaign(session, issue, [topic], settings=settings)
    assert early.issue_revision == 2
    _save(session, issue, editor, "Second draft")
    # The open revision moved on to number 3: number 2 names no content any more.
    assert revisions.find_revision(session, issue.id, 2) is None
    submit_for_review(session, issue, editor, settings=settings)
    approve(session, issue, approver, [topic.id])
    assert is_approved_for(session, issue, 3, [topic.id], {})
    assert not is_approved_for(session, issue, 2, [topic.id], {})
    with pytest.raises(Forbidden):
        ensure_send_allowed(session, early, 10, 0)
    later = create_campaign(session, issue, [topic], settings=settings)
    ensure_send_allowed(session, later, 10, 0)


def test_restoring_is_a_revision_of_its_own(
    session: Session, issue: Issue, editor: StaffUser, clock: Clock
) -> None:
    _save(session, issue, editor, "Open")
    restore_revision(session, issue, 1, editor)
    _save(session, issue, editor, "After the restore")
    assert _numbers(session, issue) == [4, 3, 2, 1]
    assert revisions.find_revision(session, issue.id, 3).content["title"] == "Prevention Month"
    assert revisions.find_revision(session, issue.id, 2).content["title"] == "Open"


def test_a_stale_base_is_a_conflict_even_inside_one_revision(
    session: Session, issue: Issue, editor: StaffUser, clock: Clock
) -> None:
    _save(session, issue, editor, "One")
    with pytest.raises(Conflict):
        save_revision(
            session,
            issue,
            basic(title="Stale"),
            base_revision=1,
            saved_by_id=editor.id,
            editing_session="tab-1",
        )
    session.refresh(issue)
    assert issue.content["title"] == "One"


@pytest.mark.parametrize("name", ["", "x" * 65])
def test_an_editing_session_needs_a_short_name(
    session: Session, issue: Issue, editor: StaffUser, name: str
) -> None:
    with pytest.raises(ValidationFailed, match="editing session"):
        _save(session, issue, editor, "Named", tab=name)
