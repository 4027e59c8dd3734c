"""Issue operations: create, save a revision (with conflict detection), look up."""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterable
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import Session

from campaigns.content.document import ContentError, content_from_dict, content_to_dict
from campaigns.issues.models import Issue, IssueRevision, IssueStatus
from campaigns.observances.service import find_observance
from engine.db import rowcount
from engine.errors import Conflict, NotFound, ValidationFailed
from subscribers.models import Topic

_NOT_SLUG = re.compile(r"[^a-z0-9]+")


def validated_content(data: Any) -> dict[str, Any]:
    """Return ``data`` validated and normalised, or raise ``ValidationFailed`` with each problem."""
    try:
        return content_to_dict(content_from_dict(data))
    except ContentError as error:
        raise ValidationFailed("The issue content is not valid.", details=error.details) from None


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
    """Create a draft issue from ``content`` as its first revision."""
    data = validated_content(content)
    if observance_slug is not None:
        _ensure_observance(session, observance_slug)
    issue = Issue(
        slug=unique_slug(session, data["title"]),
        title=data["title"],
        layout=data["layout"],
        language=data.get("language", "en"),
        observance_slug=observance_slug,
        content=data,
        revision=1,
        status=IssueStatus.DRAFT,
        author_id=author_id,
        topics=list(topics),
    )
    session.add(issue)
    session.flush()
    session.add(IssueRevision(issue_id=issue.id, number=1, content=data, saved_by_id=author_id))
    session.flush()
    return issue


def save_revision(
    session: Session, issue: Issue, content: Any, *, base_revision: int, saved_by_id: int | None
) -> Issue:
    """Save ``content`` as the next revision unless someone saved since ``base_revision``.

    Any edit voids an approval: the approval was bound to the revision it saw.
    """
    data = validated_content(content)
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
    issue.content = data
    issue.title = data["title"]
    issue.layout = data["layout"]
    issue.language = data.get("language", "en")
    if issue.status in (IssueStatus.APPROVED, IssueStatus.IN_REVIEW):
        issue.status = IssueStatus.DRAFT
    issue.approval_hash = None
    issue.approver_id = None
    issue.approved_at = None
    session.add(
        IssueRevision(
            issue_id=issue.id, number=issue.revision, content=data, saved_by_id=saved_by_id
        )
    )
    session.flush()
    return issue


def get_issue(session: Session, issue_id: int) -> Issue:
    """Return the issue or raise ``NotFound``."""
    issue = session.get(Issue, issue_id)
    if issue is None:
        raise NotFound(f"No issue with id {issue_id}.")
    return issue


def _ensure_observance(session: Session, slug: str) -> None:
    try:
        find_observance(session, slug)
    except NotFound:
        raise ValidationFailed(
            f"There is no observance {slug!r}. 'pinwheel observances list' shows their slugs."
        ) from None
