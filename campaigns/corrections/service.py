"""Writing a correction: a short notice about a sent issue, as a draft issue linked to it.

A correction is an issue of its own, written in the editor and approved like any other, linked
to the sent issue it corrects (``Issue.correction_of_id``). Its campaigns go to the people the
original reached (``campaigns.sending.audiences``), and once it is sent the original's web
view, archive entry and Atom entry carry a dated note that links to it (``campaigns.archive``).
Its summary (the preheader) is that note's text, so the starter asks for it first.
"""

from __future__ import annotations

import sqlalchemy as sa
from sqlalchemy.orm import Session

from campaigns.content.document import Layout
from campaigns.issues.models import Issue
from campaigns.issues.service import create_issue
from campaigns.sending.audiences import was_sent
from campaigns.sending.models import Campaign, campaign_topic
from engine import audit
from engine.errors import Conflict
from engine.i18n import translations
from engine.users import StaffUser
from subscribers.models import Topic

CREATE_ACTION = "issue.correction.create"


def create_correction(session: Session, original: Issue, actor: StaffUser | str) -> Issue:
    """Create a draft correction of ``original`` (of an edition: of its original).

    ``actor`` is the staff user writing it, or a name such as ``cli`` for the audit log.
    Raises ``Conflict`` for an issue no send reached: there is nobody to correct, and the issue
    itself can still be changed. A send cancelled part-way did reach people.
    """
    if original.original is not None:
        # An edition's readers hear of the correction of its original (and its own edition).
        original = original.original
    if not was_sent(session, original.id):
        raise Conflict(
            "This issue has not been sent to anyone, so there is nothing to correct: edit it "
            "instead."
        )
    prefix = translations(original.language).gettext("Correction")
    title = f"{prefix}: {original.title}"[:300]
    content = {
        "title": title,
        "subject": title,
        "layout": Layout.ARTICLE.value,
        "language": original.language,
        "kicker": prefix,
        "preheader": "",
        "blocks": [{"id": "correction", "type": "paragraph", "text": ""}],
    }
    correction = create_issue(
        session,
        content,
        author_id=actor.id if isinstance(actor, StaffUser) else None,
        # Its approval covers these topics, and its campaigns report under them.
        topics=list(original.topics) or _topics_sent(session, original.id),
        observance_slug=original.observance_slug,
    )
    correction.correction_of_id = original.id
    session.flush()
    audit.record(session, actor, CREATE_ACTION, correction, original=original.id)
    return correction


def _topics_sent(session: Session, issue_id: int) -> list[Topic]:
    """Return the topics the issue's campaigns went to (for an issue saved without topics)."""
    sent = (
        sa.select(campaign_topic.c.topic_id)
        .join(Campaign, Campaign.id == campaign_topic.c.campaign_id)
        .where(Campaign.issue_id == issue_id)
    )
    return list(session.scalars(sa.select(Topic).where(Topic.id.in_(sent)).order_by(Topic.id)))
