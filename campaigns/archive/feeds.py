"""Atom feeds of sent issues, overall and per topic."""

from __future__ import annotations

import sqlalchemy as sa
from flask import render_template
from sqlalchemy.orm import Session

from campaigns.archive.service import ArchiveFilters, search_archive
from engine.clock import now
from engine.config import Settings
from engine.errors import NotFound
from subscribers.models import Topic, TopicVisibility


def atom_document(session: Session, settings: Settings, *, topic_slug: str | None) -> str:
    """Return the Atom feed of the newest sent issues (of one public topic when given)."""
    topic = None
    if topic_slug is not None:
        topic = session.scalar(
            sa.select(Topic).where(
                Topic.slug == topic_slug, Topic.visibility == TopicVisibility.PUBLIC
            )
        )
        if topic is None:
            raise NotFound(f"There is no public topic {topic_slug!r}.")
    page = search_archive(session, ArchiveFilters(topic=topic_slug or ""))
    updated = max(
        (issue.published_at for issue in page.issues if issue.published_at), default=now()
    )
    return render_template(
        "archive/feed.atom",
        issues=page.issues,
        topic=topic,
        updated=updated,
        base_url=settings.BASE_URL,
    )
