"""Editions: an issue in another language, linked to its original and approved on its own.

An edition starts as a copy of the original's latest content (the same blocks with the same
ids, so each block can be shown beside the original's), in its own language, with the same
layout, topics and observance. It is saved, reviewed and approved like any issue. Each save
records the original's revision it was translated from; a later revision of the original
makes the edition out of date until it is saved again.
"""

from __future__ import annotations

import copy
from collections.abc import Sequence
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import Session

from campaigns.issues.history import FIELDS, block_lines
from campaigns.issues.models import Issue
from campaigns.issues.service import create_issue, unique_slug
from engine import audit
from engine.errors import Conflict, ValidationFailed
from engine.render.accessibility import CheckResult, Severity
from engine.users import StaffUser

#: The languages an edition may be written in, with the name staff see.
EDITION_LANGUAGES = {"es": "Spanish"}
CREATE_ACTION = "issue.edition.create"


def create_edition(
    session: Session, original: Issue, language: str, actor: StaffUser | str
) -> Issue:
    """Create the ``language`` edition of ``original`` from its latest content, as a draft.

    ``actor`` is the staff user creating it, or a name such as ``cli`` for the audit log.
    """
    if language not in EDITION_LANGUAGES:
        names = ", ".join(EDITION_LANGUAGES)
        raise ValidationFailed(f"Editions can be written in these languages: {names}.")
    if original.edition_of_id is not None:
        raise Conflict("This issue is itself an edition; create editions of its original.")
    if language == original.language:
        raise Conflict(f"This issue is already written in {EDITION_LANGUAGES[language]}.")
    if find_edition(session, original, language) is not None:
        raise Conflict(f"This issue already has a {EDITION_LANGUAGES[language]} edition.")
    content = {**copy.deepcopy(original.content), "language": language}
    edition = create_issue(
        session,
        content,
        author_id=actor.id if isinstance(actor, StaffUser) else None,
        topics=list(original.topics),
        observance_slug=original.observance_slug,
    )
    edition.slug = unique_slug(session, f"{original.slug} {language}")
    edition.edition_of_id = original.id
    edition.translated_from_revision = original.revision
    session.flush()
    audit.record(session, actor, CREATE_ACTION, edition, original=original.id, language=language)
    return edition


def find_edition(session: Session, original: Issue, language: str) -> Issue | None:
    """Return the ``language`` edition of ``original``, or None."""
    return session.scalar(
        sa.select(Issue).where(Issue.edition_of_id == original.id, Issue.language == language)
    )


def list_editions(session: Session, original: Issue) -> Sequence[Issue]:
    """Return the editions of ``original``, by language."""
    return session.scalars(
        sa.select(Issue).where(Issue.edition_of_id == original.id).order_by(Issue.language)
    ).all()


def is_out_of_date(edition: Issue) -> bool:
    """Return whether the original changed since the edition was last translated from it."""
    original = edition.original
    return original is not None and edition.translated_from_revision != original.revision


def out_of_date_message(edition: Issue) -> str:
    """Return the warning staff see on an out-of-date edition."""
    name = EDITION_LANGUAGES.get(edition.language, edition.language)
    return (
        f"The original was changed after this {name} edition was last saved "
        f"(original revision {edition.original.revision if edition.original else '?'}, "
        f"translated from revision {edition.translated_from_revision}). Compare the English "
        "beside each block, update the translation, save it and have it approved again."
    )


def edition_check(issue: Issue) -> CheckResult | None:
    """Return the pre-send warning of an out-of-date edition (None for anything else)."""
    if issue.edition_of_id is None or not is_out_of_date(issue):
        return None
    return CheckResult("edition_out_of_date", Severity.WARNING, out_of_date_message(issue))


def with_edition_check(issue: Issue, checks: Sequence[CheckResult]) -> list[CheckResult]:
    """Return ``checks`` with the out-of-date warning of ``edition_check`` added when it applies."""
    check = edition_check(issue)
    return [*checks] if check is None else [*checks, check]


def original_state(edition: Issue) -> dict[str, Any] | None:
    """Return what the editor shows of an edition's original: its fields and blocks as text."""
    original = edition.original
    if original is None:
        return None
    content = original.content
    fields = [
        {"key": key, "label": label, "text": str(content[key])}
        for key, label in FIELDS.items()
        if key in ("title", "kicker", "subject", "preheader", "date_label") and content.get(key)
    ]
    return {
        "id": original.id,
        "revision": original.revision,
        "language": original.language,
        "title": original.title,
        "fields": fields,
        "blocks": {key: block_lines(block) for key, block in original_blocks(edition).items()},
        "out_of_date": is_out_of_date(edition),
    }


def original_blocks(edition: Issue) -> dict[str, dict[str, Any]]:
    """Return the original's latest blocks by id, for showing beside the edition's."""
    original = edition.original
    if original is None:
        return {}
    blocks = original.content.get("blocks") or []
    return {str(b["id"]): b for b in blocks if isinstance(b, dict) and "id" in b}
