"""Revision history: list revisions, show a readable diff, restore one, start from another issue."""

from __future__ import annotations

import difflib
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import Session

from campaigns.content.document import Layout
from campaigns.content.starters import starter_content
from campaigns.issues.models import Issue, IssueRevision
from campaigns.issues.revisions import close_revision
from campaigns.issues.service import create_issue, save_revision
from campaigns.issues.workflow import revision_row
from engine import audit
from engine.users import StaffUser

#: Issue fields (outside the blocks) shown in a diff, with their labels.
FIELDS = {
    "title": "Title",
    "kicker": "Kicker",
    "subject": "Subject",
    "preheader": "Preheader",
    "date_label": "Date label",
    "volume": "Volume",
    "number": "Number",
    "layout": "Layout",
    "language": "Language",
    "theme": "Theme",
}


@dataclass(frozen=True, slots=True)
class RevisionSummary:
    number: int
    saved_at: Any
    saved_by: str
    blocks: int
    started_at: Any = None
    #: The number of the revision before it (numbers skip where a revision gathered saves).
    previous: int | None = None


@dataclass(slots=True)
class Change:
    """One changed field or block; ``lines`` are ``(op, text)`` with op ``+``, ``-`` or `` ``."""

    kind: str
    label: str
    status: str
    lines: list[tuple[str, str]] = field(default_factory=list)


def list_revisions(session: Session, issue: Issue) -> list[RevisionSummary]:
    """Return the issue's revisions, newest first, with who saved each."""
    rows = session.execute(
        sa.select(IssueRevision, StaffUser.email)
        .outerjoin(StaffUser, StaffUser.id == IssueRevision.saved_by_id)
        .where(IssueRevision.issue_id == issue.id)
        .order_by(IssueRevision.number.desc())
    ).all()
    earlier = [rev.number for rev, _ in rows[1:]] + [None]
    return [
        RevisionSummary(
            rev.number,
            rev.saved_at,
            email or "unknown",
            len(rev.content.get("blocks", [])),
            started_at=rev.started_at,
            previous=before,
        )
        for (rev, email), before in zip(rows, earlier, strict=True)
    ]


def previous_number(session: Session, issue: Issue, number: int) -> int:
    """Return the number of the revision before revision ``number`` (itself for the first)."""
    before = session.scalar(
        sa.select(sa.func.max(IssueRevision.number)).where(
            IssueRevision.issue_id == issue.id, IssueRevision.number < number
        )
    )
    return before or number


def block_lines(block: dict[str, Any]) -> list[str]:
    """Flatten a block to readable ``name: value`` lines (nested items indented)."""
    lines: list[str] = []
    for name, value in block.items():
        if name in ("id", "type"):
            continue
        if isinstance(value, list):
            lines.extend(_item_lines(name, value))
        elif value not in ("", None, False):
            lines.append(f"{name}: {value}")
    return lines


def _item_lines(name: str, items: list[Any]) -> Iterator[str]:
    for index, item in enumerate(items, start=1):
        if isinstance(item, dict):
            parts = [f"{k}={v}" for k, v in item.items() if v not in ("", None, [], False)]
            yield f"{name} {index}: " + "; ".join(parts)
        else:
            yield f"{name} {index}: {item}"


def _block_label(block: dict[str, Any]) -> str:
    return f"{block.get('type', 'block')} “{block.get('id', '?')}”"


def _line_diff(old: list[str], new: list[str]) -> list[tuple[str, str]]:
    return [(line[0], line[2:]) for line in difflib.ndiff(old, new) if line[:1] in ("+", "-", " ")]


def diff_content(old: dict[str, Any], new: dict[str, Any]) -> list[Change]:
    """Return the field and block changes from ``old`` to ``new`` (blocks matched by id)."""
    changes = [
        Change(
            "field",
            label,
            "changed",
            [("-", str(old.get(key) or "")), ("+", str(new.get(key) or ""))],
        )
        for key, label in FIELDS.items()
        if (old.get(key) or "") != (new.get(key) or "")
    ]
    old_blocks = {b["id"]: b for b in old.get("blocks", [])}
    new_blocks = {b["id"]: b for b in new.get("blocks", [])}
    for block in new.get("blocks", []):
        before = old_blocks.get(block["id"])
        if before is None:
            changes.append(
                Change(
                    "block",
                    _block_label(block),
                    "added",
                    [("+", line) for line in block_lines(block)],
                )
            )
        elif before != block:
            changes.append(
                Change(
                    "block",
                    _block_label(block),
                    "changed",
                    _line_diff(block_lines(before), block_lines(block)),
                )
            )
    for block in old.get("blocks", []):
        if block["id"] not in new_blocks:
            changes.append(
                Change(
                    "block",
                    _block_label(block),
                    "removed",
                    [("-", line) for line in block_lines(block)],
                )
            )
    if _order(old, new_blocks) != _order(new, old_blocks):
        changes.append(Change("order", "Block order", "changed"))
    return changes


def _order(content: dict[str, Any], other: dict[str, Any]) -> list[str]:
    return [b["id"] for b in content.get("blocks", []) if b["id"] in other]


def diff_revisions(session: Session, issue: Issue, old: int, new: int) -> list[Change]:
    """Return the changes between two stored revisions of an issue."""
    before = revision_row(session, issue.id, old).content
    after = revision_row(session, issue.id, new).content
    return diff_content(before, after)


def restore_revision(session: Session, issue: Issue, number: int, actor: StaffUser) -> Issue:
    """Save an earlier revision's content as a revision of its own (history is never rewritten)."""
    content = revision_row(session, issue.id, number).content
    close_revision(session, issue)
    save_revision(session, issue, content, base_revision=issue.revision, saved_by_id=actor.id)
    close_revision(session, issue)
    audit.record(session, actor, "issue.restore", issue, restored=number, revision=issue.revision)
    return issue


def start_issue(
    session: Session,
    actor: StaffUser,
    *,
    title: str,
    layout: Layout = Layout.SPOTLIGHT,
    source: Issue | None = None,
) -> Issue:
    """Create a draft from a layout starter or as a copy of an earlier issue's latest content."""
    if source is None:
        content = starter_content(layout, title)
        topics: list[Any] = []
    else:
        content = {**source.content, "title": title}
        topics = list(source.topics)
    issue = create_issue(
        session,
        content,
        author_id=actor.id,
        topics=topics,
        observance_slug=source.observance_slug if source else None,
    )
    audit.record(
        session,
        actor,
        "issue.create",
        issue,
        layout=issue.layout,
        source_issue=source.id if source else None,
    )
    return issue
