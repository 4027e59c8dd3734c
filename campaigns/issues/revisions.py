"""How saves become revisions: an editing session's saves gather into one open revision.

The rule: a save updates the latest revision instead of starting one when that revision is
still open, was started by the same person from the same editing session (an editor page, or
an API client naming its session the same way) and was started less than ``GATHER_FOR`` ago.
Submitting, approving and restoring close a revision; the first revision of an issue is closed
from the start. A revision that takes a save moves to the save's number, so a number, once
handed out, always names the same content: a campaign that froze revision 4 never finds
revision 4 changed under it, and an approval (bound to a number and its content) is never
silently changed, as approved revisions are closed.
"""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import Session

from campaigns.issues.models import Issue, IssueRevision
from engine.clock import now

#: How long one revision gathers the saves of one editing session.
GATHER_FOR = timedelta(minutes=10)
#: Longest name an editor page (or API client) may give its editing session.
SESSION_NAME_LIMIT = 64


def find_revision(session: Session, issue_id: int, number: int) -> IssueRevision | None:
    """Return revision ``number`` of an issue, or None when no revision has that number."""
    return session.scalar(
        sa.select(IssueRevision).where(
            IssueRevision.issue_id == issue_id, IssueRevision.number == number
        )
    )


def record_save(
    session: Session,
    issue: Issue,
    data: dict[str, Any],
    *,
    previous: int,
    saved_by_id: int | None,
    editing_session: str | None,
    gathering: bool,
) -> IssueRevision:
    """Store a save as ``issue.revision``: in the open revision ``previous`` when it may take it.

    The caller has moved ``issue.revision`` on from ``previous`` by compare-and-set, so no
    other save of this issue runs at the same time. ``gathering`` is whether the issue was a
    draft before the save (a revision under review is closed anyway).
    """
    at = now()
    row = find_revision(session, issue.id, previous)
    if (
        gathering
        and row is not None
        and row.closed_at is None
        and saved_by_id is not None
        and row.saved_by_id == saved_by_id
        and row.editing_session == editing_session
        and row.started_at > at - GATHER_FOR
    ):
        row.number, row.content, row.saved_at = issue.revision, data, at
    else:
        row = IssueRevision(
            issue_id=issue.id,
            number=issue.revision,
            content=data,
            saved_by_id=saved_by_id,
            started_at=at,
            saved_at=at,
            editing_session=editing_session,
        )
        session.add(row)
    session.flush()
    return row


def close_revision(session: Session, issue: Issue) -> None:
    """Close the issue's latest revision: later saves start a new one."""
    session.execute(
        sa.update(IssueRevision)
        .where(
            IssueRevision.issue_id == issue.id,
            IssueRevision.number == issue.revision,
            IssueRevision.closed_at.is_(None),
        )
        .values(closed_at=now())
        .execution_options(synchronize_session="fetch")
    )
