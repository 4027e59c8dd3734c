"""Queries behind the public archive: only sent issues, and never anyone's personal data."""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import MAXYEAR, MINYEAR, UTC, datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import Session

from campaigns.issues.models import Issue, IssueRevision, issue_topic
from campaigns.sending.models import Campaign, CampaignVariant
from campaigns.sending.publication import PUBLIC_CAMPAIGN_STATES
from engine.errors import NotFound
from subscribers.models import Topic

PAGE_SIZE = 20
_WHOLE_NUMBER = re.compile(r"-?[0-9]{1,9}")
#: A paragraph's inline markup, left out of a one-line summary: a link keeps its text;
#: footnote marks, merge tags and emphasis go.
_LINK = re.compile(r"\[([^\]^][^\]]*)\]\([^)\s]*\)")
_MARKS = re.compile(r"\[\^\d{1,3}\]|\{\{[^{}]*\}\}|(?<!\w)[*_]{1,3}(?=\S)|(?<=\S)[*_]{1,3}(?!\w)")
_SPACES = re.compile(r"\s+")


@dataclass(frozen=True, slots=True)
class ArchiveFilters:
    query: str = ""
    topic: str = ""
    observance: str = ""
    year: int | None = None
    page: int = 1
    #: Issues written in this language, editions included; empty: the originals only.
    language: str = ""

    @classmethod
    def from_args(cls, args: Mapping[str, str]) -> ArchiveFilters:
        """Read the filters from a query string; a value that cannot apply is left out."""
        year = _whole_number(args.get("year", ""))
        return cls(
            query=_plain_text(args.get("q", ""), 200),
            topic=_plain_text(args.get("topic", ""), 80),
            observance=_plain_text(args.get("observance", ""), 80),
            # Issues are sent in years a datetime can hold, and the next year must fit too.
            year=year if year is not None and MINYEAR <= year < MAXYEAR else None,
            page=max(1, _whole_number(args.get("page", "")) or 1),
        )


@dataclass(frozen=True, slots=True)
class ArchivePage:
    issues: list[Issue]
    total: int
    page: int
    pages: int


@dataclass(frozen=True, slots=True)
class CorrectionNote:
    """What an issue's web view, archive entry and feed entry say of one sent correction."""

    #: The correction as readers of this language see it (its edition in it, if one was sent).
    correction: Issue
    corrected_at: datetime
    #: The correction's title and summary (its preheader, else the start of its first
    #: paragraph) as sent: a later draft of it is not what was approved.
    title: str
    summary: str


@dataclass(frozen=True, slots=True)
class PublishedIssue:
    """An issue as the public sees it: the email of the campaign that sent it."""

    issue: Issue
    campaign: Campaign
    previous: Issue | None
    next: Issue | None
    #: The campaign's variant that sent this issue when it is an edition of the campaign's.
    variant: CampaignVariant | None = None
    #: The same issue in its other languages (its original and editions), as sent.
    editions: tuple[Issue, ...] = ()
    #: The sent corrections of this issue, oldest first.
    corrections: tuple[CorrectionNote, ...] = ()

    @property
    def html(self) -> str:
        """Return the email as frozen for this issue (the edition's, for an edition)."""
        return self.variant.html if self.variant is not None else self.campaign.html


def archive_version(session: Session) -> tuple[str, datetime | None]:
    """Return a version key that changes whenever any archive page would, and the last change.

    One aggregate query: sending, editing or withdrawing an issue moves the newest
    ``published_at``/``updated_at`` or the count, so every cached archive page goes stale at once.
    """
    count, newest, edited = session.execute(
        sa.select(
            sa.func.count(), sa.func.max(Issue.published_at), sa.func.max(Issue.updated_at)
        ).where(Issue.published_at.is_not(None))
    ).one()
    changed = max((moment for moment in (newest, edited) if moment is not None), default=None)
    stamp = "" if changed is None else changed.isoformat()
    return f"{count}:{stamp}", changed


def published_issues(language: str = "") -> sa.Select[tuple[Issue]]:
    """Return a select of issues that have been sent, newest first.

    Without ``language``, the originals (editions are listed under them); with it, every
    issue written in that language, editions included.
    """
    chosen = Issue.edition_of_id.is_(None) if not language else Issue.language == language
    return (
        sa.select(Issue)
        .where(Issue.published_at.is_not(None), chosen)
        .order_by(Issue.published_at.desc(), Issue.id.desc())
    )


def published_editions(session: Session, issues: list[Issue]) -> dict[int, list[Issue]]:
    """Return the sent editions of each of ``issues`` (by the original's id), in one query."""
    if not issues:
        return {}
    rows = session.scalars(
        sa.select(Issue)
        .where(
            Issue.edition_of_id.in_([issue.id for issue in issues]),
            Issue.published_at.is_not(None),
        )
        .order_by(Issue.language)
    )
    found: dict[int, list[Issue]] = {}
    for edition in rows:
        found.setdefault(edition.edition_of_id or 0, []).append(edition)
    return found


def search_archive(session: Session, filters: ArchiveFilters) -> ArchivePage:
    """Return one page of sent issues matching ``filters``."""
    query = published_issues(filters.language)
    if filters.query:
        pattern = f"%{filters.query.strip().lower()}%"
        query = query.where(sa.func.lower(Issue.title).like(pattern))
    if filters.topic:
        query = query.where(
            Issue.id.in_(
                sa.select(issue_topic.c.issue_id)
                .join(Topic, Topic.id == issue_topic.c.topic_id)
                .where(Topic.slug == filters.topic)
            )
        )
    if filters.observance:
        query = query.where(Issue.observance_slug == filters.observance)
    if filters.year:
        query = query.where(Issue.published_at >= _year_start(filters.year)).where(
            Issue.published_at < _year_start(filters.year + 1)
        )
    total = session.scalar(sa.select(sa.func.count()).select_from(query.order_by(None).subquery()))
    pages = max(1, -(-(total or 0) // PAGE_SIZE))
    page = min(max(filters.page, 1), pages)
    issues = session.scalars(query.limit(PAGE_SIZE).offset((page - 1) * PAGE_SIZE)).all()
    return ArchivePage(list(issues), total or 0, page, pages)


def find_published(session: Session, slug: str) -> PublishedIssue:
    """Return the sent issue with ``slug`` and its neighbours, or raise ``NotFound``."""
    issue = session.scalar(
        sa.select(Issue).where(Issue.slug == _without_nul(slug), Issue.published_at.is_not(None))
    )
    if issue is None:
        raise NotFound(f"There is no published issue at /view/{slug}.")
    variant = None
    if issue.edition_of_id is None:
        campaign = latest_sent_campaign(session, issue.id)
    else:
        campaign, variant = _edition_campaign(session, issue)
    if campaign is None:
        raise NotFound(f"There is no published issue at /view/{slug}.")
    assert issue.published_at is not None
    previous = session.scalar(
        published_issues().where(Issue.published_at < issue.published_at).limit(1)
    )
    following = session.scalar(
        sa.select(Issue)
        .where(Issue.published_at > issue.published_at, Issue.edition_of_id.is_(None))
        .order_by(Issue.published_at.asc(), Issue.id.asc())
        .limit(1)
    )
    return PublishedIssue(
        issue,
        campaign,
        previous,
        following,
        variant,
        _other_editions(session, issue),
        tuple(published_corrections(session, [issue]).get(issue.id, [])),
    )


def published_corrections(session: Session, issues: list[Issue]) -> dict[int, list[CorrectionNote]]:
    """Return the sent corrections of each of ``issues`` (by its id), oldest first.

    A correction is written for an original; an edition's readers are shown the correction's
    edition in their language when one was sent with it, else the correction itself. Each
    note says what the correction's latest send sent.
    """
    originals = {issue.id: issue.edition_of_id or issue.id for issue in issues}
    if not originals:
        return {}
    corrections = session.scalars(
        sa.select(Issue)
        .where(Issue.correction_of_id.in_(set(originals.values())), Issue.published_at.is_not(None))
        .order_by(Issue.published_at, Issue.id)
    ).all()
    if not corrections:
        return {}
    editions = {
        (edition.edition_of_id, edition.language): edition
        for edition in session.scalars(
            sa.select(Issue).where(
                Issue.edition_of_id.in_([c.id for c in corrections]),
                Issue.published_at.is_not(None),
            )
        )
    }
    sent = _sent_contents(session, [*corrections, *editions.values()])
    found: dict[int, list[CorrectionNote]] = {}
    for issue in issues:
        for correction in corrections:
            if correction.correction_of_id != originals[issue.id]:
                continue
            shown = editions.get((correction.id, issue.language), correction)
            content = sent.get(shown.id, shown.content)
            assert correction.published_at is not None
            found.setdefault(issue.id, []).append(
                CorrectionNote(
                    shown,
                    correction.published_at,
                    str(content.get("title") or shown.title),
                    correction_summary(content),
                )
            )
    return found


def _sent_contents(session: Session, issues: list[Issue]) -> dict[int, dict[str, Any]]:
    """Return the content of the revision each issue's latest public send sent, where known.

    An issue's own campaigns name their revision; an edition's, the variant that sent it.
    """
    ids = [issue.id for issue in issues]
    public = Campaign.status.in_(PUBLIC_CAMPAIGN_STATES)
    own = (
        sa.select(Campaign.issue_id, sa.func.max(Campaign.issue_revision))
        .where(Campaign.issue_id.in_(ids), public)
        .group_by(Campaign.issue_id)
    )
    editions = (
        sa.select(CampaignVariant.issue_id, sa.func.max(CampaignVariant.issue_revision))
        .join(Campaign, Campaign.id == CampaignVariant.campaign_id)
        .where(CampaignVariant.issue_id.in_(ids), Campaign.issue_id != CampaignVariant.issue_id)
        .where(public, CampaignVariant.issue_revision.is_not(None))
        .group_by(CampaignVariant.issue_id)
    )
    numbers = {
        issue_id: number for issue_id, number in [*session.execute(own), *session.execute(editions)]
    }
    if not numbers:
        return {}
    rows = session.execute(
        sa.select(IssueRevision.issue_id, IssueRevision.content).where(
            sa.tuple_(IssueRevision.issue_id, IssueRevision.number).in_(list(numbers.items()))
        )
    )
    return {issue_id: content for issue_id, content in rows}


def correction_summary(content: Mapping[str, Any]) -> str:
    """Return what a correction says in one line: its preheader, else its first paragraph's."""
    summary = str(content.get("preheader") or "").strip()
    if not summary:
        for block in content.get("blocks") or []:
            if isinstance(block, dict) and block.get("type") == "paragraph" and block.get("text"):
                plain = _MARKS.sub("", _LINK.sub(r"\1", str(block["text"])))
                summary = _SPACES.sub(" ", plain).strip()
                break
    return summary if len(summary) <= 300 else summary[:299].rstrip() + "…"


def _edition_campaign(
    session: Session, edition: Issue
) -> tuple[Campaign | None, CampaignVariant | None]:
    """Return the latest sent campaign of an edition's original that sent the edition."""
    row = session.execute(
        sa.select(Campaign, CampaignVariant)
        .join(CampaignVariant, CampaignVariant.campaign_id == Campaign.id)
        .where(
            Campaign.issue_id == edition.edition_of_id,
            CampaignVariant.issue_id == edition.id,
            Campaign.status.in_(PUBLIC_CAMPAIGN_STATES),
        )
        .order_by(Campaign.started_at.desc().nulls_last(), Campaign.id.desc())
        .limit(1)
    ).first()
    return (None, None) if row is None else (row[0], row[1])


def _other_editions(session: Session, issue: Issue) -> tuple[Issue, ...]:
    original_id = issue.edition_of_id or issue.id
    others = session.scalars(
        sa.select(Issue)
        .where(
            sa.or_(Issue.id == original_id, Issue.edition_of_id == original_id),
            Issue.id != issue.id,
            Issue.published_at.is_not(None),
        )
        .order_by(Issue.language)
    )
    return tuple(others)


def latest_sent_campaign(session: Session, issue_id: int) -> Campaign | None:
    """Return the most recent campaign that sent (or is sending) the issue."""
    return session.scalar(
        sa.select(Campaign)
        .where(Campaign.issue_id == issue_id, Campaign.status.in_(PUBLIC_CAMPAIGN_STATES))
        .order_by(Campaign.started_at.desc().nulls_last(), Campaign.id.desc())
        .limit(1)
    )


def archive_years(session: Session) -> list[int]:
    """Return the years that have sent issues, newest first."""
    dates = session.scalars(sa.select(Issue.published_at).where(Issue.published_at.is_not(None)))
    return sorted({moment.year for moment in dates if moment is not None}, reverse=True)


def archive_topics(session: Session) -> list[Topic]:
    """Return the public topics, for the archive's filter."""
    return list(
        session.scalars(
            sa.select(Topic)
            .where(Topic.visibility == "public")
            .order_by(Topic.position, Topic.name)
        )
    )


def _year_start(year: int) -> datetime:
    return datetime(year, 1, 1, tzinfo=UTC)


def _plain_text(value: str, limit: int) -> str:
    return _without_nul(value)[:limit]


def _without_nul(value: str) -> str:
    # PostgreSQL text cannot hold NUL: a query with one could only fail, never match.
    return value.replace("\x00", "")


def _whole_number(value: str) -> int | None:
    # Nine digits are more than any year or page needs; a longer number is no page at all.
    return int(value) if _WHOLE_NUMBER.fullmatch(value.strip()) else None
