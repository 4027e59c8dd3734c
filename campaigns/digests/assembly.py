"""What a digest says: the bulletins of a window, and each variant's sections and documents.

A bulletin is a campaign that started in the window and whose email is public (sending or
sent, as the archive's web views), sent to whole topics (no segment) and approved for the
revision it sent: a digest relays it to every digest reader of its topics, so it needs no
approval of its own. Its title and summary are those of the revision it sent.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, replace
from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

import sqlalchemy as sa
from sqlalchemy.orm import Session

from campaigns.digests.windows import Window
from campaigns.issues.compiled import render_context
from campaigns.issues.models import Issue, IssueRevision
from campaigns.issues.workflow import is_approved_for
from campaigns.rendering.render import RenderedIssue
from campaigns.rendering.topic_digest import (
    DigestDocument,
    DigestEntry,
    DigestSection,
    render_topic_digest,
)
from campaigns.sending.models import Campaign, CampaignStatus, campaign_topic
from engine.config import Settings
from engine.errors import ValidationFailed
from subscribers.models import Frequency, Topic

#: The campaign states whose web view is public (``campaigns.archive``'s).
BULLETIN_STATES = (CampaignStatus.SENDING, CampaignStatus.SENT)
#: The span each digest covers, in its intro.
_PERIODS = {Frequency.DAILY: "day", Frequency.WEEKLY: "week"}


@dataclass(frozen=True, slots=True)
class Bulletin:
    campaign_id: int
    slug: str
    title: str
    summary: str
    sent_at: datetime
    topic_ids: frozenset[int]


@dataclass(frozen=True, slots=True)
class WindowContent:
    """The bulletins of a window, newest first, and their topics in display order."""

    window: Window
    bulletins: tuple[Bulletin, ...]
    topics: tuple[Topic, ...]

    @property
    def topic_ids(self) -> list[int]:
        return [topic.id for topic in self.topics]

    def sections(self, chosen: Sequence[int]) -> list[tuple[Topic, list[Bulletin]]]:
        """Group the bulletins of ``chosen`` topics by topic, each bulletin under its first one."""
        listed: set[int] = set()
        sections = []
        wanted = set(chosen)
        for topic in self.topics:
            if topic.id not in wanted:
                continue
            entries = [
                bulletin
                for bulletin in self.bulletins
                if topic.id in bulletin.topic_ids and bulletin.campaign_id not in listed
            ]
            listed.update(bulletin.campaign_id for bulletin in entries)
            if entries:
                sections.append((topic, entries))
        return sections


def window_content(session: Session, window: Window) -> WindowContent:
    """Return the bulletins that started sending in ``window`` and the topics they went to."""
    sent = sa.and_(
        IssueRevision.issue_id == Issue.id, IssueRevision.number == Campaign.issue_revision
    )
    rows = session.execute(
        sa.select(
            Campaign.id,
            Campaign.started_at,
            Campaign.issue_revision,
            Campaign.segment,
            Issue,
            IssueRevision.content,
        )
        .join(Issue, Issue.id == Campaign.issue_id)
        .outerjoin(IssueRevision, sent)
        .where(
            Campaign.status.in_(BULLETIN_STATES),
            Campaign.started_at >= window.start,
            Campaign.started_at < window.end,
        )
        .order_by(Campaign.started_at.desc(), Campaign.id.desc())
    ).all()
    ids = [row[0] for row in rows]
    topic_pairs = session.execute(
        sa.select(campaign_topic.c.campaign_id, campaign_topic.c.topic_id).where(
            campaign_topic.c.campaign_id.in_(ids)
        )
    ).all()
    by_campaign: dict[int, set[int]] = {}
    for campaign_id, topic_id in topic_pairs:
        by_campaign.setdefault(campaign_id, set()).add(topic_id)
    bulletins = tuple(
        _bulletin(row, frozenset(by_campaign[row[0]]))
        for row in rows
        if by_campaign.get(row[0]) and _for_everyone(session, row, by_campaign[row[0]])
    )
    used = {topic_id for bulletin in bulletins for topic_id in bulletin.topic_ids}
    topics = session.scalars(
        sa.select(Topic).where(Topic.id.in_(used)).order_by(Topic.position, Topic.id)
    ).all()
    return WindowContent(window, bulletins, tuple(topics))


def _for_everyone(session: Session, row: Any, topic_ids: set[int]) -> bool:
    """Return whether every digest reader of the bulletin's topics may read it.

    A segment narrowed the bulletin to some of its topics' readers, and below the approval
    threshold a bulletin may go out unapproved to the few it froze: relaying either to every
    digest reader would send it beyond what was approved.
    """
    _campaign_id, _started_at, revision, segment, issue, _sent = row
    return not segment and is_approved_for(session, issue, revision, topic_ids, None)


def _bulletin(row: Any, topic_ids: frozenset[int]) -> Bulletin:
    campaign_id, started_at, _revision, _segment, issue, sent = row
    # The revision the campaign sent; an issue stored before revisions has only its latest.
    content = sent or issue.content or {}
    summary = str(content.get("preheader") or "")
    title = str(content.get("title") or issue.title)
    return Bulletin(campaign_id, issue.slug, title, summary, started_at, topic_ids)


def render_variant(
    settings: Settings,
    content: WindowContent,
    sections: list[tuple[Topic, list[Bulletin]]],
) -> tuple[str, RenderedIssue]:
    """Render the digest of ``sections``; return its subject and rendering.

    Raises ``ValidationFailed`` when the layout fails a blocking check (it never should: the
    layout is fixed and reviewed, and its content was approved bulletin by bulletin).
    """
    document = digest_document(settings, content.window, sections)
    context = replace(render_context(settings, ""), archive_url=f"{settings.BASE_URL}/archive")
    rendered = render_topic_digest(document, context)
    if rendered.errors:
        problems = "; ".join(check.message for check in rendered.errors)
        raise ValidationFailed(f"The digest layout fails its checks: {problems}.")
    return document.subject, rendered


def digest_document(
    settings: Settings, window: Window, sections: list[tuple[Topic, list[Bulletin]]]
) -> DigestDocument:
    """Return the words of one digest: its subject, heading, sections and links."""
    zone = ZoneInfo(window.zone)
    label = digest_label(window.frequency)
    count = sum(len(entries) for _topic, entries in sections)
    bulletins = f"{count} new bulletin{'' if count == 1 else 's'}"
    day = _day(window.local_end)
    titles = [bulletin.title for _topic, entries in sections for bulletin in entries]
    return DigestDocument(
        subject=f"{label}, {day}: {bulletins}",
        title=f"What we sent in the last {_PERIODS[window.frequency]}",
        kicker=f"{label} · {day}",
        intro=(
            f"{bulletins.capitalize()} on your topics, sent between {_moment(window.local_start)} "
            f"and {_moment(window.local_end)} ({window.zone.replace('_', ' ')} time)."
        ),
        preheader=", ".join(titles)[:250],
        cadence=f"You get these as a {window.frequency.value} digest.",
        sections=tuple(
            DigestSection(
                topic.name,
                tuple(
                    DigestEntry(
                        bulletin.title,
                        bulletin.summary,
                        f"{settings.BASE_URL}/view/{bulletin.slug}",
                        _moment(bulletin.sent_at.astimezone(zone)),
                    )
                    for bulletin in entries
                ),
            )
            for topic, entries in sections
        ),
    )


def digest_label(frequency: Frequency) -> str:
    """Return what a digest of ``frequency`` is called: ``Daily digest``, ``Weekly digest``."""
    return f"{frequency.value.capitalize()} digest"


def _day(moment: datetime) -> str:
    return f"{moment.day} {moment:%B %Y}"


def _moment(moment: datetime) -> str:
    return f"{moment:%A} {moment.day} {moment:%B}, {moment:%H:%M}"
