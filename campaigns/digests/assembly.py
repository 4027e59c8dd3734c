"""What a digest says: the bulletins of a window, and each variant's sections and documents.

A bulletin is a campaign that started in the window and whose email is public (sending or
sent, as the archive's web views), sent to whole topics (no segment) and approved for the
revision it sent: a digest relays it to every digest reader of its topics, so it needs no
approval of its own. Its title and summary are those of the revision it sent. A correction's
campaign is no bulletin (``campaigns.sending.audiences``).

A digest in another language (Spanish) says its words from that language's catalogue, names
topics in it (``subscribers.topics.topic_text``) and lists each bulletin's edition in it when
the bulletin's campaign sent that edition (a language variant: its web view exists) and the
edition is still approved and up to date, as ``campaigns.sending.languages`` decides when a
campaign is created; otherwise the English bulletin.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, replace
from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

import sqlalchemy as sa
from babel.dates import format_datetime
from babel.support import NullTranslations
from sqlalchemy.orm import Session

from campaigns.digests.windows import Window
from campaigns.issues.compiled import render_context
from campaigns.issues.editions import is_out_of_date
from campaigns.issues.models import Issue, IssueRevision, IssueStatus
from campaigns.issues.workflow import is_approved_for
from campaigns.rendering.render import RenderedIssue
from campaigns.rendering.topic_digest import (
    DigestDocument,
    DigestEntry,
    DigestSection,
    render_topic_digest,
)
from campaigns.sending.models import Campaign, CampaignStatus, CampaignVariant, campaign_topic
from engine.config import Settings
from engine.errors import ValidationFailed
from engine.i18n import DEFAULT, supported, translations
from subscribers.models import Frequency, Topic
from subscribers.topics import topic_text

#: The campaign states whose web view is public (``campaigns.archive``'s).
BULLETIN_STATES = (CampaignStatus.SENDING, CampaignStatus.SENT)
#: How a digest writes a day and a moment (babel's patterns); other languages use English's.
_DAY = {"en": "d MMMM y", "es": "d 'de' MMMM 'de' y"}
_MOMENT = {"en": "EEEE d MMMM, HH:mm", "es": "EEEE d 'de' MMMM, HH:mm"}


@dataclass(frozen=True, slots=True)
class BulletinText:
    """What a digest lists of a bulletin in one language: its web view, title and summary."""

    language: str
    slug: str
    title: str
    summary: str


@dataclass(frozen=True, slots=True)
class Bulletin:
    campaign_id: int
    slug: str
    title: str
    summary: str
    sent_at: datetime
    topic_ids: frozenset[int]
    #: Its editions in other languages that a digest may list instead (see the module).
    editions: tuple[BulletinText, ...] = ()

    def text_in(self, language: str) -> BulletinText:
        """Return the bulletin's edition in ``language``, else the bulletin itself."""
        found = next((edition for edition in self.editions if edition.language == language), None)
        return found or BulletinText(DEFAULT, self.slug, self.title, self.summary)


@dataclass(frozen=True, slots=True)
class WindowContent:
    """The bulletins of a window, newest first, and their topics in display order."""

    window: Window
    bulletins: tuple[Bulletin, ...]
    topics: tuple[Topic, ...]
    #: Bulletins paused when the window's digest ran: the next run looks at them again.
    held_back: tuple[int, ...] = ()

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


def window_content(session: Session, window: Window, carried: Sequence[int] = ()) -> WindowContent:
    """Return the bulletins that started sending in ``window`` and the topics they went to.

    ``carried`` are bulletins an earlier run held back because they were paused then: those
    that have resumed are listed now, and those still paused are held back again. A bulletin
    paused when its window ends would otherwise never reach digest readers.
    """
    considered = sa.and_(Campaign.started_at >= window.start, Campaign.started_at < window.end)
    if carried:
        considered = sa.or_(considered, Campaign.id.in_(list(carried)))
    # A correction goes to the original's own recipients; digest readers were sent a link to
    # the original's web view, which carries its note.
    bulletin = sa.and_(
        Campaign.issue_id.is_not(None), Campaign.corrects_issue_id.is_(None), considered
    )
    held = session.scalars(
        sa.select(Campaign.id)
        .where(bulletin, Campaign.status == CampaignStatus.PAUSED)
        .order_by(Campaign.id)
    ).all()
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
        .where(Campaign.status.in_(BULLETIN_STATES), bulletin)
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
    editions = _sent_editions(session, ids)
    bulletins = tuple(
        _bulletin(row, frozenset(by_campaign[row[0]]), editions.get(row[0], ()))
        for row in rows
        if by_campaign.get(row[0]) and _for_everyone(session, row, by_campaign[row[0]])
    )
    used = {topic_id for bulletin in bulletins for topic_id in bulletin.topic_ids}
    topics = session.scalars(
        sa.select(Topic).where(Topic.id.in_(used)).order_by(Topic.position, Topic.id)
    ).all()
    return WindowContent(window, bulletins, tuple(topics), tuple(held))


def _for_everyone(session: Session, row: Any, topic_ids: set[int]) -> bool:
    """Return whether every digest reader of the bulletin's topics may read it.

    A segment narrowed the bulletin to some of its topics' readers, and below the approval
    threshold a bulletin may go out unapproved to the few it froze: relaying either to every
    digest reader would send it beyond what was approved.
    """
    _campaign_id, _started_at, revision, segment, issue, _sent = row
    return not segment and is_approved_for(session, issue, revision, topic_ids, None)


def _sent_editions(
    session: Session, campaign_ids: Sequence[int]
) -> dict[int, tuple[BulletinText, ...]]:
    """Return, per campaign, the editions it sent that are still approved and up to date.

    A campaign sent an edition when one of its language variants names it; only then does
    the edition's web view show what its readers got. An edition changed since (back to
    draft) or whose original changed (out of date) is left out: its readers get the original.
    """
    if not campaign_ids:
        return {}
    rows = session.execute(
        sa.select(CampaignVariant.campaign_id, Issue)
        .join(Issue, Issue.id == CampaignVariant.issue_id)
        .where(CampaignVariant.campaign_id.in_(campaign_ids), Issue.edition_of_id.is_not(None))
        .order_by(CampaignVariant.campaign_id, Issue.language)
    ).all()
    found: dict[int, tuple[BulletinText, ...]] = {}
    for campaign_id, edition in rows:
        if edition.status != IssueStatus.APPROVED or is_out_of_date(edition):
            continue
        content = edition.content or {}
        text = BulletinText(
            edition.language,
            edition.slug,
            str(content.get("title") or edition.title),
            str(content.get("preheader") or ""),
        )
        found[campaign_id] = (*found.get(campaign_id, ()), text)
    return found


def _bulletin(row: Any, topic_ids: frozenset[int], editions: tuple[BulletinText, ...]) -> Bulletin:
    campaign_id, started_at, _revision, _segment, issue, sent = row
    # The revision the campaign sent; an issue stored before revisions has only its latest.
    content = sent or issue.content or {}
    summary = str(content.get("preheader") or "")
    title = str(content.get("title") or issue.title)
    return Bulletin(campaign_id, issue.slug, title, summary, started_at, topic_ids, editions)


def render_variant(
    settings: Settings,
    content: WindowContent,
    sections: list[tuple[Topic, list[Bulletin]]],
    language: str = DEFAULT,
) -> tuple[str, RenderedIssue]:
    """Render the digest of ``sections`` in ``language``; return its subject and rendering.

    Raises ``ValidationFailed`` when the layout fails a blocking check (it never should: the
    layout is fixed and reviewed, and its content was approved bulletin by bulletin).
    """
    document = digest_document(settings, content.window, sections, language)
    context = replace(render_context(settings, ""), archive_url=f"{settings.BASE_URL}/archive")
    rendered = render_topic_digest(document, context)
    if rendered.errors:
        problems = "; ".join(check.message for check in rendered.errors)
        raise ValidationFailed(f"The digest layout fails its checks: {problems}.")
    return document.subject, rendered


def digest_document(
    settings: Settings,
    window: Window,
    sections: list[tuple[Topic, list[Bulletin]]],
    language: str = DEFAULT,
) -> DigestDocument:
    """Return the words of one digest in ``language``: its subject, heading, sections, links."""
    language = supported(language) or DEFAULT
    words = translations(language)
    zone = ZoneInfo(window.zone)
    count = sum(len(entries) for _topic, entries in sections)
    label = _label(words, window.frequency)
    day = _format(window.local_end, _DAY, language)
    listed = [
        (topic, [(bulletin, bulletin.text_in(language)) for bulletin in entries])
        for topic, entries in sections
    ]
    titles = [text.title for _topic, entries in listed for _bulletin, text in entries]
    numbers = {
        "num": count,
        "start": _format(window.local_start, _MOMENT, language),
        "end": _format(window.local_end, _MOMENT, language),
        "zone": window.zone.replace("_", " "),
    }
    return DigestDocument(
        subject=f"{label}, {day}: "
        + words.ngettext("%(num)d new bulletin", "%(num)d new bulletins", count) % numbers,
        title=_title(words, window.frequency),
        kicker=f"{label} · {day}",
        intro=words.ngettext(
            "%(num)d new bulletin on your topics, sent between %(start)s and %(end)s "
            "(%(zone)s time).",
            "%(num)d new bulletins on your topics, sent between %(start)s and %(end)s "
            "(%(zone)s time).",
            count,
        )
        % numbers,
        preheader=", ".join(titles)[:250],
        cadence=_cadence(words, window.frequency),
        sections=tuple(
            DigestSection(
                topic_text(topic, language).name,
                tuple(
                    DigestEntry(
                        text.title,
                        text.summary,
                        f"{settings.BASE_URL}/view/{text.slug}",
                        _format(bulletin.sent_at.astimezone(zone), _MOMENT, language),
                        # An English bulletin in a Spanish digest says so to screen readers.
                        "" if text.language == language else text.language,
                    )
                    for bulletin, text in entries
                ),
            )
            for topic, entries in listed
        ),
        language=language,
    )


def digest_label(frequency: Frequency) -> str:
    """Return what a digest of ``frequency`` is called: ``Daily digest``, ``Weekly digest``."""
    return _label(NullTranslations(), frequency)


def _label(words: NullTranslations, frequency: Frequency) -> str:
    if frequency is Frequency.DAILY:
        return words.gettext("Daily digest")
    return words.gettext("Weekly digest")


def _title(words: NullTranslations, frequency: Frequency) -> str:
    if frequency is Frequency.DAILY:
        return words.gettext("What we sent in the last day")
    return words.gettext("What we sent in the last week")


def _cadence(words: NullTranslations, frequency: Frequency) -> str:
    if frequency is Frequency.DAILY:
        return words.gettext("You get these as a daily digest.")
    return words.gettext("You get these as a weekly digest.")


def _format(moment: datetime, patterns: dict[str, str], language: str) -> str:
    return format_datetime(moment, patterns.get(language, patterns[DEFAULT]), locale=language)
