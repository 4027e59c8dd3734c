"""Issue operations: create, save a draft (with conflict detection), look up.

Drafts always save, problems and all, unless what is sent is not issue content at all; the
problems are reported and block review and sending (``campaigns.content.drafts``).
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterable
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import Session

from campaigns.content.drafts import Draft, read_draft
from campaigns.content.reading import ContentError
from campaigns.issues.models import Issue, IssueRevision, IssueStatus
from campaigns.issues.revisions import SESSION_NAME_LIMIT, record_save
from campaigns.observances.service import find_observance
from engine.clock import now
from engine.db import rowcount
from engine.errors import Conflict, NotFound, ValidationFailed
from subscribers.models import Topic

_NOT_SLUG = re.compile(r"[^a-z0-9]+")
#: What lists show for an issue whose title is not written yet.
UNTITLED = "Untitled issue"


def read_content(data: Any) -> Draft:
    """Return ``data`` read as a draft, or raise ``ValidationFailed`` if it is not issue content."""
    try:
        return read_draft(data)
    except ContentError as error:
        first = next(problem for problem in error.problems if problem.malformed)
        where = first.path or "the content"
        raise ValidationFailed(
            f"This is not issue content: {where} {first.message}.", details=error.details
        ) from None


def slugify(text: str, max_length: int = 80) -> str:
    """Return a lower-case ASCII slug of ``text``."""
    ascii_text = unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode()
    return _NOT_SLUG.sub("-", ascii_text.lower()).strip("-")[:max_length].strip("-") or "issue"


def unique_slug(session: Session, title: str) -> str:
    """Return a slug for ``title`` that no other issue uses (``title-2``, ``title-3`` …)."""
    base = slugify(title)
    taken = set(session.scalars(sa.select(Issue.slug).where(Issue.slug.like(f"{base}%"))))
    candidate, n = base, 1
    while candidate in taken:
        n += 1
        candidate = f"{base}-{n}"
    return candidate


def create_issue(
    session: Session,
    content: Any,
    *,
    author_id: int | None = None,
    topics: Iterable[Topic] = (),
    observance_slug: str | None = None,
) -> Issue:
    """Create a draft issue from ``content`` as its first revision, which later saves keep."""
    draft = read_content(content)
    if observance_slug is not None:
        _ensure_observance(session, observance_slug)
    issue = Issue(
        slug=unique_slug(session, draft.data["title"] or UNTITLED),
        revision=1,
        status=IssueStatus.DRAFT,
        observance_slug=observance_slug,
        author_id=author_id,
        topics=list(topics),
    )
    _keep(issue, draft)
    session.add(issue)
    session.flush()
    # The starting point (a layout's skeleton, a copy, an import) stays in the history as it was.
    session.add(
        IssueRevision(
            issue_id=issue.id, number=1, content=draft.data, saved_by_id=author_id, closed_at=now()
        )
    )
    session.flush()
    return issue


def save_revision(
    session: Session,
    issue: Issue,
    content: Any,
    *,
    base_revision: int,
    saved_by_id: int | None,
    editing_session: str | None = None,
    translated_from: int | None = None,
) -> Issue:
    """Save ``content`` as revision ``base_revision + 1`` unless someone saved since.

    The save joins the open revision of the same editing session or starts a new one
    (``campaigns.issues.revisions``). Any edit voids an approval: the approval was bound to
    the revision it saw. An edition's save records the original's revision it was translated
    from: ``translated_from`` (the one the editor showed beside it), else the current one.
    """
    if issue.edition_of_id is not None and isinstance(content, dict):
        # An edition keeps its language: it is the edition of that language.
        content = {**content, "language": issue.language}
    draft = read_content(content)
    if editing_session is not None and (
        not isinstance(editing_session, str) or not 0 < len(editing_session) <= SESSION_NAME_LIMIT
    ):
        raise ValidationFailed(
            f"Name the editing session with 1 to {SESSION_NAME_LIMIT} characters, or leave it out."
        )
    # Compare-and-set on the revision number: two tabs never silently overwrite each other.
    updated = rowcount(
        session.execute(
            sa.update(Issue)
            .where(Issue.id == issue.id, Issue.revision == base_revision)
            .values(revision=base_revision + 1)
        )
    )
    if updated != 1:
        session.refresh(issue)
        raise Conflict(
            f"This issue was saved by someone else (revision {issue.revision}) after you opened "
            f"revision {base_revision}. Reload to see their changes; your edit was not saved.",
            details={"current_revision": issue.revision},
        )
    session.refresh(issue)
    gathering = issue.status == IssueStatus.DRAFT
    _keep(issue, draft)
    if issue.status in (IssueStatus.APPROVED, IssueStatus.IN_REVIEW):
        issue.status = IssueStatus.DRAFT
    issue.approval_hash = None
    issue.approver_id = None
    issue.approved_at = None
    if issue.edition_of_id is not None:
        current = session.scalar(sa.select(Issue.revision).where(Issue.id == issue.edition_of_id))
        # A revision the original never reached cannot have been shown.
        issue.translated_from_revision = min(translated_from or current or 0, current or 0)
    record_save(
        session,
        issue,
        draft.data,
        previous=base_revision,
        saved_by_id=saved_by_id,
        editing_session=editing_session,
        gathering=gathering,
    )
    return issue


def _keep(issue: Issue, draft: Draft) -> None:
    """Store the draft on the issue; its columns hold values the lists can always show."""
    issue.content = draft.data
    issue.title = draft.data["title"][:300] or UNTITLED
    issue.layout = draft.data["layout"]
    language = draft.content.language
    issue.language = language if len(language) <= 16 else "en"


def get_issue(session: Session, issue_id: int) -> Issue:
    """Return the issue or raise ``NotFound``."""
    issue = session.get(Issue, issue_id)
    if issue is None:
        raise NotFound(f"No issue with id {issue_id}.")
    return issue


def corrections_of(session: Session, issue: Issue) -> list[Issue]:
    """Return the corrections written for ``issue`` (``campaigns.corrections``), oldest first."""
    query = sa.select(Issue).where(Issue.correction_of_id == issue.id).order_by(Issue.id)
    return list(session.scalars(query))


def _ensure_observance(session: Session, slug: str) -> None:
    try:
        find_observance(session, slug)
    except NotFound:
        raise ValidationFailed(
            f"There is no observance {slug!r}. 'pinwheel observances list' shows their slugs."
        ) from None
