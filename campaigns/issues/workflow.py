"""Approval workflow: draft → in review → approved, bound to one revision and one audience.

An approval is a hash of the exact revision and audience an approver saw; any later save
clears it (``save_revision``), and a large send whose campaign froze a different revision or
audience finds no matching approval. Submitting closes the revision (``close_revision``), so
the revision an approver sees never takes another save.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import Session

from campaigns.issues.compiled import render_stored_issue
from campaigns.issues.models import Issue, IssueRevision, IssueStatus
from campaigns.issues.revisions import close_revision, find_revision
from engine import audit
from engine.clock import now
from engine.config import Settings
from engine.errors import Conflict, Forbidden, NotFound, ValidationFailed
from engine.text_fields import check_text
from engine.users import Role, StaffUser

APPROVE_ACTION = "issue.approve"
RETURN_ACTION = "issue.return"
#: Longest review comment, in characters.
COMMENT_LIMIT = 2000


@dataclass(frozen=True, slots=True)
class ReviewComment:
    """What an approver wrote when approving or returning a revision."""

    at: datetime
    actor: str
    approved: bool
    revision: int
    text: str


def approval_hash(
    issue_revision: IssueRevision, topic_ids: Iterable[int], segment: Mapping[str, Any] | None
) -> str:
    """Return the SHA-256 binding an approval to this exact revision and audience."""
    payload = {
        "issue": issue_revision.issue_id,
        "revision": issue_revision.number,
        "content": issue_revision.content,
        "topics": sorted({int(topic_id) for topic_id in topic_ids}),
        "segment": {str(k): str(v) for k, v in sorted((segment or {}).items())},
    }
    canonical = json.dumps(payload, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    return hashlib.sha256(canonical.encode()).hexdigest()


def current_revision(session: Session, issue: Issue) -> IssueRevision:
    """Return the stored row of the issue's latest revision."""
    return revision_row(session, issue.id, issue.revision)


def revision_row(session: Session, issue_id: int, number: int) -> IssueRevision:
    """Return revision ``number`` of an issue or raise ``NotFound``."""
    row = find_revision(session, issue_id, number)
    if row is None:
        raise NotFound(f"Issue {issue_id} has no revision {number}.")
    return row


def submit_for_review(
    session: Session, issue: Issue, actor: StaffUser, *, settings: Settings
) -> Issue:
    """Move a draft to review once its latest revision passes every blocking pre-send check."""
    if not actor.has_role(Role.EDITOR):
        raise Forbidden("Only an editor can ask for review.")
    if issue.status != IssueStatus.DRAFT:
        raise Conflict(f"This issue is {issue.status.replace('_', ' ')}, not a draft.")
    errors = render_stored_issue(settings, issue).errors
    if errors:
        raise ValidationFailed(
            "Fix the pre-send check errors before asking for review.",
            details=[check.message for check in errors],
        )
    close_revision(session, issue)
    issue.status = IssueStatus.IN_REVIEW
    audit.record(session, actor, "issue.submit", issue, revision=issue.revision)
    session.flush()
    return issue


def return_to_draft(session: Session, issue: Issue, actor: StaffUser, comment: str = "") -> Issue:
    """Send an issue in review (or approved) back to its authors, voiding any approval."""
    if issue.status not in (IssueStatus.IN_REVIEW, IssueStatus.APPROVED):
        raise Conflict("Only an issue in review or approved can be returned to draft.")
    text = _checked_comment(comment)
    issue.status = IssueStatus.DRAFT
    issue.approval_hash, issue.approver_id, issue.approved_at = None, None, None
    audit.record(session, actor, RETURN_ACTION, issue, revision=issue.revision, comment=text)
    session.flush()
    return issue


def contributors_since_approval(session: Session, issue: Issue) -> set[int]:
    """Return the ids of the author and of everyone who saved a revision of the current text.

    The text is everything saved since the last approval of an *earlier* revision: an approval
    of the current revision that was later withdrawn (returned to draft) resets nothing, or its
    author could approve their own revision the second time round.
    """
    since = _approved_before(_approvals(session, [issue.id]).get(issue.id, []), issue.revision)
    savers = session.scalars(
        sa.select(IssueRevision.saved_by_id).where(
            IssueRevision.issue_id == issue.id, IssueRevision.number > since
        )
    )
    people = {saver for saver in savers if saver is not None}
    if issue.author_id is not None:
        people.add(issue.author_id)
    return people


def approve(
    session: Session,
    issue: Issue,
    approver: StaffUser,
    topic_ids: Iterable[int],
    segment: Mapping[str, Any] | None = None,
    *,
    comment: str = "",
) -> Issue:
    """Approve the issue's latest revision for this audience; nobody approves their own work."""
    if not approver.has_role(Role.APPROVER):
        raise Forbidden("Only an approver can approve an issue.")
    if issue.status != IssueStatus.IN_REVIEW:
        raise Conflict("Only an issue in review can be approved; ask the editor to submit it.")
    if approver.id in contributors_since_approval(session, issue):
        raise Forbidden("You wrote or edited this issue, so someone else has to approve it.")
    topics = sorted(set(topic_ids))
    if not topics:
        raise ValidationFailed("Choose the topics this approval covers.")
    text = _checked_comment(comment)
    close_revision(session, issue)
    issue.approval_hash = approval_hash(current_revision(session, issue), topics, segment)
    issue.approver_id, issue.approved_at = approver.id, now()
    issue.status = IssueStatus.APPROVED
    audit.record(
        session,
        approver,
        APPROVE_ACTION,
        issue,
        revision=issue.revision,
        topic_ids=topics,
        segment=dict(segment or {}),
        comment=text,
    )
    session.flush()
    return issue


def _checked_comment(comment: str) -> str:
    text = check_text(comment.strip(), "The comment", path="comment")
    if len(text) > COMMENT_LIMIT:
        raise ValidationFailed(
            f"Shorten the comment to {COMMENT_LIMIT} characters or fewer.",
            details=[{"path": "comment", "message": "The comment is too long."}],
        )
    return text


def _approvals(session: Session, issue_ids: Iterable[int]) -> dict[int, list[int]]:
    """Return the revisions each issue was ever approved at, by issue id."""
    found: dict[int, list[int]] = {}
    rows = session.execute(
        sa.select(audit.AuditEntry.object_id, audit.AuditEntry.details).where(
            audit.AuditEntry.action == APPROVE_ACTION,
            audit.AuditEntry.object_type == Issue.__tablename__,
            audit.AuditEntry.object_id.in_([str(issue_id) for issue_id in issue_ids]),
        )
    )
    for object_id, details in rows:
        found.setdefault(int(object_id), []).append(int(details.get("revision", 0)))
    return found


def _approved_before(approved: Iterable[int], revision: int) -> int:
    return max((number for number in approved if number < revision), default=0)


def issues_awaiting_review(session: Session, user: StaffUser) -> list[int]:
    """Return the ids of the issues in review that ``user`` may approve, oldest change first.

    The rule is ``contributors_since_approval``'s, answered for every issue in one query: the
    approvals are read only for issues the user saved a revision of, which is rare.
    """
    if not user.has_role(Role.APPROVER):
        return []
    rows = session.execute(
        sa.select(Issue.id, Issue.revision, Issue.author_id, sa.func.max(IssueRevision.number))
        .outerjoin(
            IssueRevision,
            sa.and_(IssueRevision.issue_id == Issue.id, IssueRevision.saved_by_id == user.id),
        )
        .where(Issue.status == IssueStatus.IN_REVIEW)
        .group_by(Issue.id, Issue.revision, Issue.author_id, Issue.updated_at)
        .order_by(Issue.updated_at, Issue.id)
    ).all()
    edited = [row for row in rows if row[2] != user.id and row[3] is not None]
    approvals = _approvals(session, [row[0] for row in edited]) if edited else {}
    return [
        issue_id
        for issue_id, revision, author_id, my_latest in rows
        if author_id != user.id
        and (
            my_latest is None
            or my_latest <= _approved_before(approvals.get(issue_id, []), revision)
        )
    ]


def review_comments(session: Session, issue: Issue, limit: int = 5) -> list[ReviewComment]:
    """Return the latest comments approvers left when approving or returning ``issue``."""
    entries = session.scalars(
        sa.select(audit.AuditEntry)
        .where(
            audit.AuditEntry.action.in_([APPROVE_ACTION, RETURN_ACTION]),
            audit.AuditEntry.object_type == Issue.__tablename__,
            audit.AuditEntry.object_id == str(issue.id),
        )
        .order_by(audit.AuditEntry.at.desc(), audit.AuditEntry.id.desc())
        .limit(limit * 4)
    )
    comments = []
    for entry in entries:
        # Returns recorded before comments existed kept their text as ``reason``.
        text = str(entry.details.get("comment") or entry.details.get("reason") or "")
        if text:
            approved = entry.action == APPROVE_ACTION
            revision = int(entry.details.get("revision", 0))
            comments.append(ReviewComment(entry.at, entry.actor, approved, revision, text))
    return comments[:limit]


def is_approved_for(
    session: Session,
    issue: Issue,
    revision: int,
    topic_ids: Iterable[int],
    segment: Mapping[str, Any] | None,
) -> bool:
    """Return whether the issue carries an approval for this revision and audience."""
    if not issue.approval_hash or issue.status != IssueStatus.APPROVED:
        return False
    row = find_revision(session, issue.id, revision)
    # A number an open revision moved on from names no revision, and nothing approved.
    if row is None:
        return False
    return approval_hash(row, topic_ids, segment) == issue.approval_hash


def workflow_state(issue: Issue, campaign_statuses: Iterable[str]) -> str:
    """Return the state staff see: the issue's status, or scheduled/sent once a campaign is."""
    statuses = set(campaign_statuses)
    if "sent" in statuses or "sending" in statuses:
        return "sent"
    if "scheduled" in statuses:
        return "scheduled"
    return str(issue.status)
