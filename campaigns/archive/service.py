"""Queries behind the public archive: only sent issues, and never anyone's personal data."""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import MAXYEAR, MINYEAR, UTC, datetime

import sqlalchemy as sa
from sqlalchemy.orm import Session

from campaigns.issues.models import Issue, issue_topic
from campaigns.sending.models import Campaign, CampaignStatus, CampaignVariant
from engine.errors import NotFound
from subscribers.models import Topic

PAGE_SIZE = 20
_WHOLE_NUMBER = re.compile(r"-?[0-9]{1,9}")
#: Campaign states whose frozen email may be shown publicly.
PUBLISHED_CAMPAIGN_STATES = (CampaignStatus.SENT, CampaignStatus.SENDING)


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
        issue, campaign, previous, following, variant, _other_editions(session, issue)
    )


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
            Campaign.status.in_(PUBLISHED_CAMPAIGN_STATES),
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
        .where(Campaign.issue_id == issue_id, Campaign.status.in_(PUBLISHED_CAMPAIGN_STATES))
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
